package httpapi

import (
	"net/http"
	"slices"
	"strings"

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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			// Logged and counted as what it is, not as an unmatched route.
			if c := requestOf(r.Context()); c != nil {
				c.route.pattern = "OPTIONS (CORS preflight)"
			}
			if v, ok := r.Header["Access-Control-Request-Headers"]; ok {
				r.Header["Access-Control-Request-Headers"] = []string{normalizeHeaderList(v)}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// maxRequestHeaders bounds how many names of Access-Control-Request-Headers
// are read; a longer list is passed on as sent, and refused.
const maxRequestHeaders = 32

// normalizeHeaderList returns the header names of an
// Access-Control-Request-Headers field as rs/cors matches them: lowercased,
// without spaces or empty elements, sorted and unique. Browsers send them
// so; other clients send "Authorization, Content-Type", and header names
// are case-insensitive (RFC 9110, section 5.1).
func normalizeHeaderList(values []string) string {
	joined := strings.Join(values, ",")
	if strings.Count(joined, ",") >= 4*maxRequestHeaders {
		return joined
	}
	var names []string
	for n := range strings.SplitSeq(joined, ",") {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			names = append(names, n)
		}
	}
	if len(names) > maxRequestHeaders {
		return joined
	}
	slices.Sort(names)
	return strings.Join(slices.Compact(names), ",")
}
