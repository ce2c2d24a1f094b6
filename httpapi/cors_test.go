package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// preflight sends what a browser sends before a cross-origin request that
// is not simple.
func (e *env) preflight(path, origin, method, headers string) response {
	e.t.Helper()
	h := []string{"Origin", origin, "Access-Control-Request-Method", method}
	if headers != "" {
		h = append(h, "Access-Control-Request-Headers", headers)
	}
	return e.do("OPTIONS", path, "", nil, h...)
}

// corsHeaders are the response headers of CORS.
func corsHeaders(r response) []string {
	var out []string
	for k := range r.header {
		if strings.HasPrefix(k, "Access-Control-") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// TestCORS: with USERD_CORS_ORIGINS, a browser on a listed origin gets
// its preflight allowed and may read the answers (and the headers a client
// needs) of the actual requests; one on another origin gets no CORS header,
// so the browser refuses. Credentials are never allowed.
func TestCORS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cors = []string{"https://app.example.com", "https://*.example.org"}
	e.reopen()
	reg := e.register(map[string]any{"username": "cors_user"})
	access, _ := tokens(reg)

	for _, origin := range []string{"https://app.example.com", "https://tenant.example.org"} {
		r := e.preflight("/api/v1/users/me", origin, "PATCH", "authorization,content-type")
		if r.status != http.StatusNoContent {
			t.Fatalf("preflight from %s: got %d %s, want 204", origin, r.status, r.body)
		}
		for name, want := range map[string]string{
			"Access-Control-Allow-Origin":  origin,
			"Access-Control-Allow-Methods": "PATCH",
			"Access-Control-Allow-Headers": "authorization,content-type",
			"Access-Control-Max-Age":       "600",
		} {
			if got := r.header.Get(name); got != want {
				t.Errorf("preflight from %s: got %s %q, want %q", origin, name, got, want)
			}
		}
		if r.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("preflight from %s: credentials allowed, want them never allowed", origin)
		}
		if !strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Origin") {
			t.Errorf("preflight from %s: got Vary %q, want Origin in it", origin, r.header.Values("Vary"))
		}

		// The actual requests: the answer, even a 401, may be read, with
		// the headers a client needs.
		for _, c := range []struct {
			r      response
			status int
		}{
			{e.do("GET", "/api/v1/users/me", access, nil, "Origin", origin), http.StatusOK},
			{e.do("GET", "/api/v1/users/me", "", nil, "Origin", origin), http.StatusUnauthorized},
			{e.do("GET", "/.well-known/jwks.json", "", nil, "Origin", origin), http.StatusOK},
			{e.token(url.Values{"grant_type": {"password"}, "username": {"cors_user"}, "password": {testPassword}}, "Origin", origin), http.StatusOK},
		} {
			if c.r.status != c.status || c.r.header.Get("Access-Control-Allow-Origin") != origin {
				t.Errorf("request from %s: got %d with Access-Control-Allow-Origin %q, want %d and the origin", origin, c.r.status, c.r.header.Get("Access-Control-Allow-Origin"), c.status)
			}
			exposed := strings.Split(c.r.header.Get("Access-Control-Expose-Headers"), ", ")
			for _, h := range []string{"Etag", "Retry-After", "Www-Authenticate", "X-Request-Id"} {
				if !slices.Contains(exposed, h) {
					t.Errorf("request from %s: got Access-Control-Expose-Headers %q, want %s in it", origin, exposed, h)
				}
			}
			if c.r.header.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("request from %s: credentials allowed", origin)
			}
		}
	}

	// Refused: another origin, a lookalike of the wildcard, a header or a
	// method the API does not take. The preflight is answered, without
	// any Access-Control-Allow-* header, and never reaches a route.
	for _, c := range []struct{ origin, method, headers string }{
		{"https://evil.example.com", "PATCH", "authorization"},
		{"https://example.org", "GET", "authorization"},
		{"https://app.example.com.evil.net", "GET", ""},
		{"http://app.example.com", "GET", "authorization"},
		{"https://app.example.com", "PATCH", "authorization,x-custom"},
		{"https://app.example.com", "TRACE", ""},
	} {
		r := e.preflight("/api/v1/users/me", c.origin, c.method, c.headers)
		if r.status != http.StatusNoContent || len(corsHeaders(r)) != 0 {
			t.Errorf("preflight %+v: got %d with %v, want 204 with no Access-Control-* header", c, r.status, corsHeaders(r))
		}
	}
	r := e.do("GET", "/api/v1/users/me", access, nil, "Origin", "https://evil.example.com")
	if r.status != http.StatusOK || len(corsHeaders(r)) != 0 {
		t.Errorf("simple request from a refused origin: got %d with %v, want the answer with no Access-Control-* header", r.status, corsHeaders(r))
	}
}

// TestNoCORSByDefault: without USERD_CORS_ORIGINS no response carries a
// CORS header; a preflight is an OPTIONS request like any other (405).
func TestNoCORSByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.preflight("/api/v1/users/me", "https://app.example.com", "GET", "authorization")
	expect(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
	if len(corsHeaders(r)) != 0 {
		t.Errorf("preflight: got %v, want no Access-Control-* header", corsHeaders(r))
	}
	r = e.do("GET", "/healthz", "", nil, "Origin", "https://app.example.com")
	expect(t, r, http.StatusOK, "")
	if len(corsHeaders(r)) != 0 || r.header.Get("Vary") != "" {
		t.Errorf("simple request: got %v and Vary %q, want no CORS header", corsHeaders(r), r.header.Get("Vary"))
	}
}

// TestCORSHeaderNamesAnyCase: header names are case-insensitive, and
// clients list them in any case, order and spacing (browsers send them
// lowercased and sorted; other clients and proxies do not): the preflight
// is allowed whenever every name is allowed, and refused when one is not.
func TestCORSHeaderNamesAnyCase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cors = []string{"https://app.example.com"}
	e.reopen()
	const origin = "https://app.example.com"
	for _, c := range []struct{ headers, want string }{
		{"Authorization, Content-Type", "authorization,content-type"},
		{"Content-Type,Authorization", "authorization,content-type"},
		{"AUTHORIZATION,  if-none-match ,X-Request-ID", "authorization,if-none-match,x-request-id"},
		{"authorization, Authorization", "authorization"},
		{"content-type,", "content-type"},
	} {
		r := e.preflight("/api/v1/users/me", origin, "PATCH", c.headers)
		if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != origin ||
			r.header.Get("Access-Control-Allow-Headers") != c.want || r.header.Get("Access-Control-Allow-Methods") != "PATCH" {
			t.Errorf("preflight with %q: got %d, Allow-Origin %q, Allow-Headers %q; want 204, the origin and %q",
				c.headers, r.status, r.header.Get("Access-Control-Allow-Origin"), r.header.Get("Access-Control-Allow-Headers"), c.want)
		}
	}
	for _, headers := range []string{"Authorization, X-Custom", "X-CUSTOM", strings.Repeat("authorization,", 200) + "x-custom"} {
		r := e.preflight("/api/v1/users/me", origin, "PATCH", headers)
		if r.status != http.StatusNoContent || len(corsHeaders(r)) != 0 {
			t.Errorf("preflight with %.60q: got %d with %v, want 204 with no Access-Control-* header", headers, r.status, corsHeaders(r))
		}
	}
}
