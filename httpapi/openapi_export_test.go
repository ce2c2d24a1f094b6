package httpapi

import (
	"net/http"
	"slices"
)

// RegisteredPatterns returns the patterns s registered through handle, in
// order, for openapi_test.go.
func RegisteredPatterns(s *Server) []string { return slices.Clone(s.patterns) }

// MatchedPattern returns the pattern of the route s serves r with.
func MatchedPattern(s *Server, r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	return pattern
}

// OpenAPIDocument returns the OpenAPI document s serves.
func OpenAPIDocument() []byte { return openAPIDocument }
