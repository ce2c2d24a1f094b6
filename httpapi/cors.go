package httpapi

import (
	"net/http"

	"github.com/rs/cors"
)

// corsMaxAge is how long, in seconds, a browser may keep a preflight's
// answer (Chrome keeps at most 2 hours, Firefox 24).
const corsMaxAge = 600

// withCORS lets browsers on origins call the API across origins
// (USERD_CORS_ORIGINS); with none it is next, and no response carries a
// CORS header. Preflights are answered 204 before any route: with the
// Access-Control-Allow-* headers for an allowed origin, method and headers,
// without them otherwise (the browser then refuses the call). Credentials
// (cookies, HTTP authentication) are never allowed: userd's clients send
// bearer tokens, which need none. Responses expose the headers a client
// reads besides the safelisted ones.
func withCORS(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	c := cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowedHeaders: []string{"Authorization", "Content-Type", "If-None-Match", "X-Request-Id"},
		ExposedHeaders: []string{"ETag", "Retry-After", "WWW-Authenticate", "X-Request-Id", "Allow"},
		MaxAge:         corsMaxAge,
	})
	h := c.Handler(next)
	preflight := &routeSeries{pattern: "OPTIONS (CORS preflight)"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			// Logged and counted as what it is, not as an unmatched route.
			if c := requestOf(r.Context()); c != nil {
				c.route = preflight
			}
		}
		h.ServeHTTP(w, r)
	})
}
