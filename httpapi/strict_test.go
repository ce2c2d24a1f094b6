package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/userd/userd/httpapi"
)

// TestUnknownQueryParameters: every GET route of the API answers a query
// parameter it does not take, or one given twice, with 400 invalid_query
// naming it, as openapi.json documents, instead of ignoring it. New GET
// routes are covered as soon as they are registered: read the query with
// query(r, allowed...) and document 400.
func TestUnknownQueryParameters(t *testing.T) {
	t.Parallel()
	s, o := fetchOpenAPI(t)
	e := newEnv(t)
	admin, adminID := e.userWithRole("query-admin", "admin")
	id := strconv.FormatInt(adminID, 10)

	checked := 0
	for _, p := range httpapi.RegisteredPatterns(s) {
		method, path, _ := strings.Cut(p, " ")
		if method != http.MethodGet || !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		checked++
		url := pathParam.ReplaceAllString(path, id)
		r := e.do("GET", url+"?page=2&bogus_filter=8", admin, nil)
		if r.status != http.StatusBadRequest || r.json(t)["code"] != "invalid_query" {
			t.Errorf("%s?page=2&bogus_filter=8: got %d %s, want 400 invalid_query (read the query with query(r, allowed...))", p, r.status, r.body)
			continue
		}
		if d, _ := r.json(t)["detail"].(string); !strings.Contains(d, `unknown query parameter "bogus_filter", "page": this route takes`) {
			t.Errorf("%s: got detail %q, want the unknown names, sorted, and what the route takes", p, d)
		}

		// Every parameter the document lists is taken; twice is refused.
		for _, raw := range anys(o.operation(p)["parameters"]) {
			param := o.deref(obj(raw))
			if param["in"] != "query" {
				continue
			}
			name := param["name"].(string)
			r := e.do("GET", url+"?"+name+"=1&"+name+"=2", admin, nil)
			if d, _ := r.json(t)["detail"].(string); r.status != http.StatusBadRequest || d != `query parameter "`+name+`" given more than once` {
				t.Errorf("%s?%s=1&%s=2: got %d %s, want 400 naming %s given twice", p, name, name, r.status, r.body, name)
			}
		}
	}
	if checked < 7 {
		t.Fatalf("checked %d GET routes, want every one of the API (at least 7)", checked)
	}

	for _, c := range []struct{ url, detail string }{
		{"/api/v1/users?page=2", `unknown query parameter "page": this route takes q, role, is_active, email_verified, organization_id, limit, cursor`},
		{"/api/v1/users/lookup?phone=%2B919800000000&page=2", `unknown query parameter "page": this route takes phone, email`},
		{"/api/v1/users/me?fields=id", `unknown query parameter "fields": this route takes no query parameters`},
		{"/api/v1/users?" + strings.Repeat("x", 100) + "=1", `unknown query parameter "` + strings.Repeat("x", 64) + `…": this route takes`},
		{"/api/v1/users?q=%zz", "the query string is malformed"},
	} {
		r := e.do("GET", c.url, admin, nil)
		expect(t, r, http.StatusBadRequest, "invalid_query")
		if d, _ := r.json(t)["detail"].(string); !strings.HasPrefix(d, c.detail) {
			t.Errorf("GET %s: got detail %q, want %q", c.url, d, c.detail)
		}
	}
	// What the routes take still works.
	expect(t, e.do("GET", "/api/v1/users?limit=1&role=admin&is_active=true&q=", admin, nil), http.StatusOK, "")
	expect(t, e.do("GET", "/api/v1/users/me/sessions?limit=5", admin, nil), http.StatusOK, "")
}

// TestNoBodyIsInvalidJSON: a POST with neither body nor Content-Type (curl
// -X POST) is 400 invalid_json, not 415; a body without a type is 415.
func TestNoBodyIsInvalidJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/api/v1/auth/logout", "/api/v1/auth/refresh", "/api/v1/auth/login", "/api/v1/auth/register"} {
		r := e.do("POST", path, "", nil)
		expect(t, r, http.StatusBadRequest, "invalid_json")
		r = e.do("POST", path, "", `{"refresh_token": "x"}`, "Content-Type", "")
		expect(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")
	}
}
