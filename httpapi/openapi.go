package httpapi

import _ "embed"

// openAPIDocument is the OpenAPI 3.1 description of every route that
// routes registers. It is written by hand; openapi_test.go checks it
// against the registered routes and the live responses.
//
//go:embed openapi.json
var openAPIDocument []byte
