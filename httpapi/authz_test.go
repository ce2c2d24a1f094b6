package httpapi_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/userd/userd/httpapi"
	"github.com/userd/userd/service"
)

// A route's wanted status per kind of caller: anonymous, a role with no
// permission over others (user, owner, broker, artist, assistant), agent,
// operator, admin.
type byRole [5]int

// anyone is one status for every caller, signed in or not.
func anyone(status int) byRole { return byRole{status, status, status, status, status} }

// signedIn is 401 without a token and status for every role.
func signedIn(status int) byRole { return byRole{401, status, status, status, status} }

// routeMatrix is every route but the organizations' (orgRouteMatrix):
// method, pattern, the path it is called with ({target}: a user who is
// not the caller; {endpoint}: a webhook endpoint), a body (a func(who
// string) any: one per caller) and the status each caller gets.
var routeMatrix = []struct {
	method, pattern, path string
	body                  any
	want                  byRole
}{
	{"GET", "/healthz", "", nil, anyone(200)},
	{"GET", "/readyz", "", nil, anyone(200)},
	{"GET", "/openapi.json", "", nil, anyone(200)},
	{"GET", "/metrics", "", nil, anyone(200)},
	{"GET", "/.well-known/jwks.json", "", nil, anyone(200)},
	{"GET", "/.well-known/openid-configuration", "", nil, anyone(200)},
	{"GET", "/.well-known/oauth-authorization-server", "", nil, anyone(200)},
	{"POST", "/api/v1/auth/register", "", map[string]any{}, anyone(422)},
	{"POST", "/api/v1/auth/login", "", func(who string) any {
		return map[string]any{"identifier": who + "@example.com", "password": "not the password"}
	}, anyone(401)},
	{"POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": "bogus"}, anyone(401)},
	{"POST", "/api/v1/auth/logout", "", map[string]any{"refresh_token": "bogus"}, anyone(204)},
	{"POST", "/api/v1/auth/token", "", nil, byRole{400, 401, 401, 401, 401}}, // clients send no Authorization
	{"POST", "/api/v1/auth/password/forgot", "", map[string]any{"email": "nobody@example.com"}, anyone(202)},
	{"POST", "/api/v1/auth/password/reset", "", map[string]any{"token": "bogus", "password": "a long enough new password"}, anyone(401)},
	{"POST", "/api/v1/auth/email/verify", "", map[string]any{"token": "bogus"}, anyone(401)},

	// The caller's own account.
	{"GET", "/api/v1/users/me", "", nil, signedIn(200)},
	{"PATCH", "/api/v1/users/me", "", map[string]any{"bio": "hello"}, signedIn(200)},
	{"DELETE", "/api/v1/users/me", "", nil, signedIn(200)},
	{"POST", "/api/v1/auth/delete-account", "", nil, signedIn(204)},
	{"PATCH", "/api/v1/users/me/preferences", "", map[string]any{"theme": "dark"}, signedIn(200)},
	{"PUT", "/api/v1/users/me/location", "", map[string]any{"latitude": 12.5, "longitude": 77.5}, signedIn(200)},
	{"DELETE", "/api/v1/users/me/location", "", nil, signedIn(204)},
	{"GET", "/api/v1/users/me/identities", "", nil, signedIn(200)},
	{"POST", "/api/v1/users/me/identities", "", map[string]any{"token": "bogus"}, signedIn(403)},
	{"DELETE", "/api/v1/users/me/identities/{provider}", "/api/v1/users/me/identities/nowhere", nil, signedIn(404)},
	{"GET", "/api/v1/users/me/sessions", "", nil, signedIn(200)},
	{"GET", "/api/v1/users/me/export", "", nil, signedIn(200)},
	{"DELETE", "/api/v1/users/me/sessions/{id}", "/api/v1/users/me/sessions/999999", nil, signedIn(404)},
	{"PUT", "/api/v1/users/me/avatar", "", map[string]any{}, signedIn(415)},
	{"DELETE", "/api/v1/users/me/avatar", "", nil, signedIn(204)},
	{"GET", "/api/v1/users/{id}/avatar", "/api/v1/users/{target}/avatar", nil, anyone(404)},
	{"POST", "/api/v1/auth/password/change", "", map[string]any{"current_password": "x", "new_password": "a long enough new password"}, signedIn(422)},
	{"POST", "/api/v1/auth/email/verify/resend", "", nil, signedIn(422)},
	{"GET", "/api/v1/users/me/blocks", "", nil, signedIn(200)},
	{"GET", "/api/v1/users/me/factors", "", nil, signedIn(200)},
	{"POST", "/api/v1/users/me/factors/totp/confirm", "", map[string]any{"code": "000000"}, signedIn(422)},
	{"POST", "/api/v1/users/me/factors/totp/remove", "", map[string]any{"code": "000000"}, signedIn(422)},
	{"POST", "/api/v1/users/me/factors/recovery-codes", "", map[string]any{"code": "000000"}, signedIn(422)},
	{"POST", "/api/v1/users/me/factors/step-up", "", map[string]any{"code": "000000"}, signedIn(403)},
	{"POST", "/api/v1/users/me/factors/totp", "", nil, signedIn(403)}, // the matrix's callers have no password
	{"POST", "/api/v1/auth/login/factor", "", map[string]any{"challenge_id": "bogus", "code": "000000"}, anyone(401)},
	{"GET", "/api/v1/users/{id}/factors", "/api/v1/users/{target}/factors", nil, byRole{401, 403, 403, 403, 200}},
	{"DELETE", "/api/v1/users/{id}/factors", "/api/v1/users/{target}/factors", nil, byRole{401, 403, 403, 403, 204}},

	// Other users: the social graph is everyone's; the directory and the
	// administration are staff's.
	{"PUT", "/api/v1/users/{id}/follow", "/api/v1/users/{target}/follow", nil, signedIn(204)},
	{"DELETE", "/api/v1/users/{id}/follow", "/api/v1/users/{target}/follow", nil, signedIn(204)},
	{"GET", "/api/v1/users/{id}/followers", "/api/v1/users/{target}/followers", nil, signedIn(200)},
	{"GET", "/api/v1/users/{id}/following", "/api/v1/users/{target}/following", nil, signedIn(200)},
	{"GET", "/api/v1/users/{id}/follow-stats", "/api/v1/users/{target}/follow-stats", nil, signedIn(200)},
	{"PUT", "/api/v1/users/{id}/block", "/api/v1/users/{target}/block", nil, signedIn(204)},
	{"DELETE", "/api/v1/users/{id}/block", "/api/v1/users/{target}/block", nil, signedIn(204)},
	{"GET", "/api/v1/users/{id}", "/api/v1/users/{target}", nil, signedIn(200)},
	{"GET", "/api/v1/users", "", nil, byRole{401, 403, 403, 200, 200}},
	{"GET", "/api/v1/users/lookup", "/api/v1/users/lookup?email={target_email}", nil, byRole{401, 403, 200, 200, 200}},
	{"GET", "/api/v1/audit-events", "", nil, byRole{401, 403, 403, 403, 200}},
	{"PUT", "/api/v1/users/{id}/role", "/api/v1/users/{target}/role", map[string]any{"role": "owner"}, byRole{401, 403, 403, 403, 200}},
	{"POST", "/api/v1/users/{id}/deactivate", "/api/v1/users/{target}/deactivate", nil, byRole{401, 403, 403, 403, 200}},
	{"POST", "/api/v1/users/{id}/reactivate", "/api/v1/users/{target}/reactivate", nil, byRole{401, 403, 403, 403, 200}},
	{"DELETE", "/api/v1/users/{id}", "/api/v1/users/{target}", nil, byRole{401, 403, 403, 403, 200}},

	// Webhooks: admins only.
	{"GET", "/api/v1/admin/webhooks", "", nil, byRole{401, 403, 403, 403, 200}},
	{"POST", "/api/v1/admin/webhooks", "", map[string]any{"url": "https://example.com/other", "events": []string{"*"}}, byRole{401, 403, 403, 403, 201}},
	{"GET", "/api/v1/admin/webhooks/{id}", "/api/v1/admin/webhooks/{endpoint}", nil, byRole{401, 403, 403, 403, 200}},
	{"DELETE", "/api/v1/admin/webhooks/{id}", "/api/v1/admin/webhooks/{endpoint}", nil, byRole{401, 403, 403, 403, 204}},
	{"POST", "/api/v1/admin/webhooks/{id}/rotate-secret", "/api/v1/admin/webhooks/{endpoint}/rotate-secret", nil, byRole{401, 403, 403, 403, 200}},
	{"GET", "/api/v1/admin/webhooks/{id}/deliveries", "/api/v1/admin/webhooks/{endpoint}/deliveries", nil, byRole{401, 403, 403, 403, 200}},
	{"POST", "/api/v1/admin/webhooks/{id}/deliveries/{delivery_id}/replay", "/api/v1/admin/webhooks/{endpoint}/deliveries/999999/replay", nil, byRole{401, 403, 403, 403, 404}},
	// The OpenID provider: clients authenticate with their own
	// credentials, so a bearer token there is invalid_client.
	{"POST", "/oauth/token", "", nil, anyone(400)},
	{"GET", "/oauth/userinfo", "", nil, anyone(401)}, // not a token of a code exchange
	{"POST", "/oauth/userinfo", "", nil, anyone(401)},
	{"POST", "/oauth/revoke", "", nil, byRole{400, 401, 401, 401, 401}},
	{"POST", "/oauth/introspect", "", nil, byRole{400, 401, 401, 401, 401}},
	{"GET", "/api/v1/admin/clients", "", nil, byRole{401, 403, 403, 403, 200}},
	{"POST", "/api/v1/admin/clients", "", map[string]any{"name": "App", "redirect_uris": []string{"https://app.example.com/cb"}}, byRole{401, 403, 403, 403, 201}},
	{"GET", "/api/v1/admin/clients/{client_id}", "/api/v1/admin/clients/no-such-client", nil, byRole{401, 403, 403, 403, 404}},
	{"DELETE", "/api/v1/admin/clients/{client_id}", "/api/v1/admin/clients/no-such-client", nil, byRole{401, 403, 403, 403, 404}},
	{"POST", "/api/v1/admin/clients/{client_id}/rotate-secret", "/api/v1/admin/clients/no-such-client/rotate-secret", nil, byRole{401, 403, 403, 403, 404}},
}

// class is the column of byRole that role's callers get.
func class(r service.Role) int {
	switch {
	case r == service.RoleAdmin:
		return 4
	case r == service.RoleOperator:
		return 3
	case r == service.RoleAgent:
		return 2
	case r.Can(service.PermListUsers) || r.Can(service.PermLookUpUsers):
		panic("class: role " + string(r) + " holds a permission the matrix does not know of")
	default:
		return 1
	}
}

// TestRouteRoleMatrix calls every route but the organizations' as an
// anonymous caller and as a caller of every role, the admin last (whose
// changes would decide the others' statuses), and checks the exact
// status. It also checks that
// routeMatrix and orgRouteMatrix hold every route the server registers.
func TestRouteRoleMatrix(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{"/": true}
	for _, rt := range routeMatrix {
		covered[rt.method+" "+rt.pattern] = true
	}
	orgParam := regexp.MustCompile(`%\[(\d)\]d`)
	for _, rt := range orgRouteMatrix {
		p := orgParam.ReplaceAllStringFunc(rt.path, func(m string) string {
			return map[string]string{"1": "{id}", "2": "{user_id}", "3": "{invitation_id}"}[m[2:3]]
		})
		covered[rt.method+" "+p] = true
	}
	s := httpapi.New(httpapi.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, p := range httpapi.RegisteredPatterns(s) {
		if !covered[p] {
			t.Errorf("route %q is in no role matrix (routeMatrix, orgRouteMatrix)", p)
		}
	}

	roles := slices.Clone(service.Roles())
	slices.SortStableFunc(roles, func(a, b service.Role) int { return class(a) - class(b) })
	// One database for every route; each route gets callers, a target and
	// an endpoint of its own, so that no route's changes decide another's
	// statuses.
	e := newEnv(t)
	setup, _ := e.userWithRole("setup-admin", "admin")
	for n, rt := range routeMatrix {
		_, target := e.signIn(fmt.Sprintf("target-%d", n), map[string]any{"email": fmt.Sprintf("target-%d@example.com", n), "email_verified": true})
		r := e.do("POST", "/api/v1/admin/webhooks", setup, map[string]any{"url": "https://example.com/h", "events": []string{"*"}})
		expect(t, r, http.StatusCreated, "")
		endpoint := int64(r.json(t)["id"].(float64))
		path := rt.path
		if path == "" {
			path = rt.pattern
		}
		path = strings.NewReplacer("{target}", fmt.Sprint(target), "{target_email}", fmt.Sprintf("target-%d@example.com", n), "{endpoint}", fmt.Sprint(endpoint)).Replace(path)

		call := func(who, tok string, want int) {
			t.Helper()
			body := rt.body
			if f, ok := body.(func(who string) any); ok {
				body = f(fmt.Sprintf("%s-%d", who, n))
			}
			r := e.do(rt.method, path, tok, body)
			if r.status != want {
				t.Errorf("%s %s as %s: got status %d (%s), want %d", rt.method, rt.pattern, who, r.status, r.body, want)
			}
		}
		call("anonymous", "", rt.want[0])
		for _, role := range roles {
			tok, _ := e.userWithRole(fmt.Sprintf("caller-%s-%d", role, n), string(role))
			call(string(role), tok, rt.want[class(role)])
		}
	}
}
