package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.1 description of every route that
// routes registers. It is written by hand; openapi_test.go checks it
// against the registered routes and the live responses.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI serves the OpenAPI document. It changes only with a release, so
// clients and proxies may keep it for five minutes.
func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPIDocument)
	return nil
}
