package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expect(t, e.do("GET", "/healthz", "", nil), http.StatusOK, "")
	expect(t, e.do("GET", "/readyz", "", nil), http.StatusOK, "")
	e.pool.Close() // the database is gone
	expect(t, e.do("GET", "/readyz", "", nil), http.StatusServiceUnavailable, "db_unavailable")
	expect(t, e.do("GET", "/healthz", "", nil), http.StatusOK, "")
}

// TestReadinessWhileDraining: once a graceful stop begins, /readyz is 503
// shutting_down at once, while other requests are still served.
func TestReadinessWhileDraining(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.reopen()
	expect(t, e.do("GET", "/readyz", "", nil), http.StatusOK, "")
	h.Drain()
	expect(t, e.do("GET", "/readyz", "", nil), http.StatusServiceUnavailable, "shutting_down")
	expect(t, e.do("GET", "/healthz", "", nil), http.StatusOK, "")
}

func TestUnknownRouteIsProblem404(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expect(t, e.do("GET", "/api/v1/nothing-here", "", nil), http.StatusNotFound, "not_found")
	r := e.do("POST", "/api/v1/users/me", "", nil)
	expect(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
	if got := r.header.Get("Allow"); got != "GET, PATCH, DELETE" {
		t.Fatalf("Allow: got %q, want GET, PATCH, DELETE", got)
	}
}

func TestMetricsByRoutePattern(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("metrics", nil)
	expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")
	r := e.do("GET", "/metrics", "", nil)
	expect(t, r, http.StatusOK, "")
	body := string(r.body)
	for _, want := range []string{
		`userd_http_requests_total{route="GET /api/v1/users/me",status="200"} 2`,
		`userd_http_request_duration_seconds_bucket{route="GET /api/v1/users/me"`,
		`userd_db_pool_max_connections`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics: want a line with %s", want)
		}
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/healthz", "", nil, "X-Request-Id", "abc-123")
	if got := r.header.Get("X-Request-Id"); got != "abc-123" {
		t.Fatalf("got request id %q, want abc-123", got)
	}
	r = e.do("GET", "/healthz", "", nil, "X-Request-Id", "bad id\twith junk")
	if got := r.header.Get("X-Request-Id"); got == "" || strings.ContainsAny(got, " \t") {
		t.Fatalf("got request id %q, want a generated one", got)
	}
}

// TestEvery401Challenges: every 401 carries WWW-Authenticate (RFC 9110);
// a request with no token at all gets the bare scheme, without error=
// (RFC 6750 §3.1), a bad token error="invalid_token".
func TestEvery401Challenges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name string
		r    response
		want string
	}{
		{"no token", e.do("GET", "/api/v1/users/me", "", nil), "Bearer"},
		{"bad token", e.do("GET", "/api/v1/users/me", "not-a-jwt", nil), `Bearer error="invalid_token"`},
		{"failed login", e.login("nobody@example.com", "wrong password!"), "Bearer"},
		{"bad refresh token", e.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": "nope"}), `Bearer error="invalid_token"`},
	}
	for _, c := range cases {
		if c.r.status != http.StatusUnauthorized {
			t.Errorf("%s: got %d, want 401", c.name, c.r.status)
			continue
		}
		if got := c.r.header.Get("WWW-Authenticate"); got != c.want {
			t.Errorf("%s: got WWW-Authenticate %q, want %q", c.name, got, c.want)
		}
	}
}
