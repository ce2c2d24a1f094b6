package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestAdminRoutesMatrix calls every directory and administration route as
// each kind of caller and checks the exact status: 401 without a token,
// 403 forbidden for a role the route does not admit.
func TestAdminRoutesMatrix(t *testing.T) {
	t.Parallel()
	callers := []string{"anonymous", "user", "agent", "operator", "admin"}
	routes := []struct {
		method, path string // %d is the target user's id
		body         any
		want         []int // per caller, in the order of callers
	}{
		{"GET", "/api/v1/users", nil, []int{401, 403, 403, 200, 200}},
		{"GET", "/api/v1/users?role=user&is_active=true&q=tar&limit=5", nil, []int{401, 403, 403, 200, 200}},
		{"GET", "/api/v1/users/lookup?email=target@example.com", nil, []int{401, 403, 200, 200, 200}},
		{"GET", "/api/v1/users/lookup?phone=9876543210", nil, []int{401, 403, 200, 200, 200}},
		{"GET", "/api/v1/users/%d", nil, []int{401, 200, 200, 200, 200}},
		{"PUT", "/api/v1/users/%d/role", map[string]any{"role": "owner"}, []int{401, 403, 403, 403, 200}},
		{"POST", "/api/v1/users/%d/deactivate", nil, []int{401, 403, 403, 403, 200}},
		{"POST", "/api/v1/users/%d/reactivate", nil, []int{401, 403, 403, 403, 200}},
		{"DELETE", "/api/v1/users/%d", nil, []int{401, 403, 403, 403, 200}},
		{"GET", "/api/v1/audit-events", nil, []int{401, 403, 403, 403, 200}},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tokens := map[string]string{"anonymous": ""}
			for _, c := range callers[1:] {
				tokens[c], _ = e.userWithRole("matrix-"+c, c)
			}
			_, target := e.signIn("matrix-target", map[string]any{"email": "target@example.com", "phone": "919876543210", "email_verified": true, "phone_verified": true})
			path := rt.path
			if strings.Contains(path, "%d") {
				path = fmt.Sprintf(path, target)
			}
			for i, c := range callers {
				r := e.do(rt.method, path, tokens[c], rt.body)
				code := ""
				switch rt.want[i] {
				case http.StatusUnauthorized:
					code = "invalid_token"
				case http.StatusForbidden:
					code = "forbidden"
				}
				if r.status != rt.want[i] {
					t.Fatalf("%s: got status %d (%s), want %d", c, r.status, r.body, rt.want[i])
				}
				expect(t, r, rt.want[i], code)
			}
		})
	}
}

// page decodes a {items, next_cursor} body.
type page struct {
	Items      []map[string]any `json:"items"`
	NextCursor *string          `json:"next_cursor"`
}

func decodePage(t *testing.T, r response) page {
	t.Helper()
	var p page
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return p
}

func TestDirectoryListOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	op, _ := e.userWithRole("dir-operator", "operator")
	var want []float64
	for i := range 5 {
		_, id := e.signIn(fmt.Sprintf("dir-%d", i), map[string]any{"email": fmt.Sprintf("dir%d@example.com", i), "email_verified": true})
		want = append([]float64{float64(id)}, want...)
	}
	// Every user of role user, newest first, two per page.
	var got []float64
	path := "/api/v1/users?role=user&limit=2"
	for pages := 0; ; pages++ {
		r := e.do("GET", path, op, nil)
		expect(t, r, http.StatusOK, "")
		if !strings.Contains(string(r.body), `"next_cursor":`) {
			t.Fatalf("got body %s, want a next_cursor member", r.body)
		}
		p := decodePage(t, r)
		for _, it := range p.Items {
			got = append(got, it["id"].(float64))
			// An operator gets the contact view: public fields and how to
			// reach the user, nothing private.
			if got, want := sortedKeys(it), contactKeys; !slices.Equal(got, want) {
				t.Fatalf("item %v: got keys %v, want the contact view's %v", it, got, want)
			}
		}
		if p.NextCursor == nil {
			break
		}
		if pages > 5 {
			t.Fatal("got more pages than users")
		}
		path = "/api/v1/users?role=user&limit=2&cursor=" + url.QueryEscape(*p.NextCursor)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got ids %v, want %v", got, want)
	}

	// Search by email prefix, case-insensitively.
	p := decodePage(t, e.do("GET", "/api/v1/users?q=DIR3", op, nil))
	if len(p.Items) != 1 || p.Items[0]["email"] != "dir3@example.com" || p.NextCursor != nil {
		t.Fatalf("q=DIR3: got %+v, want dir3@example.com only", p)
	}

	first := decodePage(t, e.do("GET", "/api/v1/users?role=user&limit=1", op, nil))
	if first.NextCursor == nil {
		t.Fatal("got no next cursor, want one")
	}
	cur := *first.NextCursor
	tampered := []byte(cur)
	tampered[5] = 'A'
	if cur[5] == 'A' {
		tampered[5] = 'B'
	}
	for _, c := range []struct {
		query  string
		status int
		code   string
		field  string
	}{
		{"limit=0", 422, "validation_failed", "limit"},
		{"limit=201", 422, "validation_failed", "limit"},
		{"limit=ten", 422, "validation_failed", "limit"},
		{"limit=200", 200, "", ""},
		{"is_active=maybe", 422, "validation_failed", "is_active"},
		{"email_verified=maybe", 422, "validation_failed", "email_verified"},
		{"email_verified=true", 403, "forbidden", ""}, // the private view's, and op is an operator
		{"organization_id=x", 422, "validation_failed", "organization_id"},
		{"organization_id=0", 422, "validation_failed", "organization_id"},
		{"organization_id=5", 200, "", ""},
		{"role=king", 422, "validation_failed", "role"},
		{"role=user&cursor=" + url.QueryEscape(string(tampered)), 400, "invalid_cursor", ""},
		{"role=agent&cursor=" + url.QueryEscape(cur), 400, "invalid_cursor", ""},
		{"role=user&q=dir&cursor=" + url.QueryEscape(cur), 400, "invalid_cursor", ""},
		{"role=user&cursor=" + url.QueryEscape(cur), 200, "", ""},
	} {
		r := e.do("GET", "/api/v1/users?"+c.query, op, nil)
		if r.status != c.status {
			t.Fatalf("%s: got status %d (%s), want %d", c.query, r.status, r.body, c.status)
		}
		expect(t, r, c.status, c.code)
		if c.field != "" {
			errs, _ := r.json(t)["errors"].([]any)
			if len(errs) != 1 || errs[0].(map[string]any)["field"] != c.field {
				t.Fatalf("%s: got errors %v, want one on %s", c.query, errs, c.field)
			}
		}
	}
}

func TestLookupOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	agent, _ := e.userWithRole("lookup-agent", "agent")
	_, priya := e.signIn("lookup-priya", map[string]any{"email": "Priya@Example.com", "phone": "919876543210", "email_verified": true, "phone_verified": true})
	// Two numbers with the same last ten digits under other country codes.
	for _, p := range []string{"+19811111111", "+449811111111"} {
		if _, err := e.pool.Exec(context.Background(), "INSERT INTO users (phone) VALUES ($1)", p); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		query  string
		status int
		code   string
		id     int64
	}{
		{"phone=" + url.QueryEscape("+91 98765 43210"), 200, "", priya},
		{"phone=09876543210", 200, "", priya},
		{"email=PRIYA@example.com", 200, "", priya},
		{"phone=" + url.QueryEscape("+91 98111 11111"), 409, "ambiguous_phone", 0},
		{"phone=" + url.QueryEscape("+91 98222 22222"), 404, "not_found", 0},
		{"email=nobody@example.com", 404, "not_found", 0},
		{"", 422, "validation_failed", 0},
		{"phone=9876543210&email=priya@example.com", 422, "validation_failed", 0},
		{"phone=12", 422, "validation_failed", 0},
		{"email=not-an-address", 422, "validation_failed", 0},
	} {
		r := e.do("GET", "/api/v1/users/lookup?"+c.query, agent, nil)
		if r.status != c.status {
			t.Fatalf("%s: got status %d (%s), want %d", c.query, r.status, r.body, c.status)
		}
		expect(t, r, c.status, c.code)
		if c.id != 0 {
			m := r.json(t)
			if int64(m["id"].(float64)) != c.id || m["email"] != "priya@example.com" || m["phone"] != "+919876543210" {
				t.Fatalf("%s: got %v, want user %d with email and phone", c.query, m, c.id)
			}
		}
	}
}

func TestGetUserOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	viewer, viewerID := e.signIn("get-viewer", nil)
	admin, _ := e.userWithRole("get-admin", "admin")
	_, other := e.signIn("get-other", map[string]any{"email": "other@example.com", "email_verified": true})
	_, blocker := e.signIn("get-blocker", nil)
	_, inactive := e.signIn("get-inactive", nil)
	deletedTok, deleted := e.signIn("get-deleted", nil)
	if _, err := e.pool.Exec(ctx, "INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)", blocker, viewerID); err != nil {
		t.Fatal(err)
	}
	expect(t, e.do("POST", fmt.Sprintf("/api/v1/users/%d/deactivate", inactive), admin, nil), http.StatusOK, "")
	expect(t, e.do("DELETE", "/api/v1/users/me", deletedTok, nil), http.StatusOK, "")

	publicKeys := []string{"avatar_url", "bio", "first_name", "id", "instagram_handle", "last_name", "role", "username"}
	for _, c := range []struct {
		name        string
		token       string
		id          int64
		status      int
		wantPrivate bool
	}{
		{"other", viewer, other, 200, false},
		{"self", viewer, viewerID, 200, true},
		{"admin", admin, other, 200, true},
		{"blocks the viewer", viewer, blocker, 404, false},
		{"blocks the viewer, to admin", admin, blocker, 200, true},
		{"inactive", viewer, inactive, 404, false},
		{"inactive, to admin", admin, inactive, 200, true},
		{"deleted", viewer, deleted, 404, false},
		{"deleted, to admin", admin, deleted, 404, false},
		{"unknown", viewer, 1 << 50, 404, false},
	} {
		r := e.do("GET", fmt.Sprintf("/api/v1/users/%d", c.id), c.token, nil)
		if r.status != c.status {
			t.Fatalf("%s: got status %d (%s), want %d", c.name, r.status, r.body, c.status)
		}
		if c.status != 200 {
			expect(t, r, c.status, "not_found")
			continue
		}
		m := r.json(t)
		keys := slices.Sorted(maps.Keys(m))
		if c.wantPrivate {
			if _, ok := m["email"]; !ok || len(keys) <= len(publicKeys) {
				t.Fatalf("%s: got keys %v, want the private view", c.name, keys)
			}
		} else if !slices.Equal(keys, publicKeys) {
			t.Fatalf("%s: got keys %v, want exactly %v", c.name, keys, publicKeys)
		}
	}
	for _, p := range []string{"/api/v1/users/abc", "/api/v1/users/0", "/api/v1/users/-3", "/api/v1/users/99999999999999999999"} {
		expect(t, e.do("GET", p, viewer, nil), http.StatusNotFound, "not_found")
	}
}

func TestAdminRoleChangeOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, adminID := e.userWithRole("role-admin", "admin")
	targetTok, target := e.signIn("role-target", nil)
	path := fmt.Sprintf("/api/v1/users/%d/role", target)

	r := e.do("PUT", path, admin, map[string]any{"role": "artist", "artist_id": 9})
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); m["role"] != "artist" {
		t.Fatalf("got role %v, want artist", m["role"])
	}
	// The new role holds from the target's next request.
	if m := e.do("GET", "/api/v1/users/me", targetTok, nil).json(t); m["role"] != "artist" {
		t.Fatalf("got role %v for the target, want artist", m["role"])
	}
	expect(t, e.do("PUT", path, admin, map[string]any{"role": "operator"}), http.StatusOK, "")
	var artistID *int64
	if err := e.pool.QueryRow(context.Background(), "SELECT artist_id FROM users WHERE id = $1", target).Scan(&artistID); err != nil || artistID != nil {
		t.Fatalf("got artist_id %v, %v; want NULL after leaving the artist role", artistID, err)
	}
	for _, c := range []struct {
		path   string
		body   any
		status int
		code   string
	}{
		{path, map[string]any{"role": "artist"}, 422, "validation_failed"},
		{path, map[string]any{"role": "emperor"}, 422, "validation_failed"},
		{path, map[string]any{}, 422, "validation_failed"},
		{path, map[string]any{"role": "user", "extra": 1}, 400, "invalid_json"},
		{path, "not json", 400, "invalid_json"},
		{fmt.Sprintf("/api/v1/users/%d/role", adminID), map[string]any{"role": "user"}, 403, "forbidden"},
		{"/api/v1/users/999999999/role", map[string]any{"role": "user"}, 404, "not_found"},
	} {
		r := e.do("PUT", c.path, admin, c.body)
		if r.status != c.status {
			t.Fatalf("%v: got status %d (%s), want %d", c.body, r.status, r.body, c.status)
		}
		expect(t, r, c.status, c.code)
	}
}

// TestAdminDeactivateOverHTTP proves a deactivated user's still-valid
// token is refused at once, and works again after reactivation.
func TestAdminDeactivateOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, adminID := e.userWithRole("deact-admin", "admin")
	targetTok, target := e.signIn("deact-target", nil)
	if _, err := e.pool.Exec(context.Background(), "INSERT INTO sessions (user_id, expires_at) VALUES ($1, now() + interval '1 day')", target); err != nil {
		t.Fatal(err)
	}

	r := e.do("POST", fmt.Sprintf("/api/v1/users/%d/deactivate", target), admin, nil)
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); m["is_active"] != false {
		t.Fatalf("got is_active %v, want false", m["is_active"])
	}
	expect(t, e.do("GET", "/api/v1/users/me", targetTok, nil), http.StatusForbidden, "account_disabled")
	var live int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL", target).Scan(&live); err != nil || live != 0 {
		t.Fatalf("got %d live sessions, %v; want 0", live, err)
	}
	expect(t, e.do("POST", fmt.Sprintf("/api/v1/users/%d/reactivate", target), admin, nil), http.StatusOK, "")
	expect(t, e.do("GET", "/api/v1/users/me", targetTok, nil), http.StatusOK, "")

	// Not yourself; and the only admin is also the last one.
	expect(t, e.do("POST", fmt.Sprintf("/api/v1/users/%d/deactivate", adminID), admin, nil), http.StatusForbidden, "forbidden")
	expect(t, e.do("POST", "/api/v1/users/999999999/deactivate", admin, nil), http.StatusNotFound, "not_found")
	// An admin deleting the only admin (themself) is refused.
	expect(t, e.do("DELETE", fmt.Sprintf("/api/v1/users/%d", adminID), admin, nil), http.StatusConflict, "last_admin")
}

// TestAuditEventsHoldNoPIIAfterDelete runs every admin action on a user,
// deletes them, and reads the whole audit log through the API and the
// table: none of the user's email, phone or names may remain.
func TestAuditEventsHoldNoPIIAfterDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, _ := e.userWithRole("audit-admin", "admin")
	tok, target := e.signIn("audit-target", map[string]any{"email": "Zelda.Quist@example.com", "phone": "919812345678", "email_verified": true, "phone_verified": true})
	expect(t, e.do("PATCH", "/api/v1/users/me", tok, map[string]any{
		"first_name": "Zeldaname", "last_name": "Quistname", "username": "zquist",
	}), http.StatusOK, "")
	for _, step := range []struct{ method, path string }{
		{"PUT", fmt.Sprintf("/api/v1/users/%d/role", target)},
		{"POST", fmt.Sprintf("/api/v1/users/%d/deactivate", target)},
		{"POST", fmt.Sprintf("/api/v1/users/%d/reactivate", target)},
	} {
		var body any
		if step.method == "PUT" {
			body = map[string]any{"role": "broker"}
		}
		expect(t, e.do(step.method, step.path, admin, body), http.StatusOK, "")
	}
	r := e.do("DELETE", fmt.Sprintf("/api/v1/users/%d", target), admin, nil)
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); m["message"] == nil || m["message"] == "" {
		t.Fatalf("got %v, want a message", m)
	}
	expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusForbidden, "account_disabled")
	expect(t, e.do("DELETE", fmt.Sprintf("/api/v1/users/%d", target), admin, nil), http.StatusNotFound, "not_found")

	pii := []string{"zelda", "quist", "9812345678", "zquist"}
	var actions []string
	path := "/api/v1/audit-events?limit=1"
	for range 50 {
		r := e.do("GET", path, admin, nil)
		expect(t, r, http.StatusOK, "")
		lower := strings.ToLower(string(r.body))
		for _, s := range pii {
			if strings.Contains(lower, s) {
				t.Fatalf("got audit page %s, want no %q in it", r.body, s)
			}
		}
		p := decodePage(t, r)
		for _, it := range p.Items {
			for _, k := range []string{"id", "actor_id", "target_user_id", "organization_id", "action", "details", "created_at"} {
				if _, ok := it[k]; !ok {
					t.Fatalf("audit item %v: got no %q", it, k)
				}
			}
			actions = append(actions, it["action"].(string))
		}
		if p.NextCursor == nil {
			break
		}
		path = "/api/v1/audit-events?limit=1&cursor=" + url.QueryEscape(*p.NextCursor)
	}
	want := []string{"admin.user_deleted", "admin.user_reactivated", "admin.user_deactivated", "admin.role_changed"}
	if len(actions) < len(want) || !slices.Equal(actions[:len(want)], want) {
		t.Fatalf("got actions %v, want them to start with %v", actions, want)
	}
	var leaks int
	if err := e.pool.QueryRow(context.Background(),
		"SELECT count(*) FROM audit_events a WHERE lower(a::text) ~ ANY($1)", pii).Scan(&leaks); err != nil || leaks != 0 {
		t.Fatalf("got %d audit rows with the deleted user's data, %v; want 0", leaks, err)
	}
	expect(t, e.do("GET", "/api/v1/audit-events?limit=0", admin, nil), http.StatusUnprocessableEntity, "validation_failed")
	expect(t, e.do("GET", "/api/v1/audit-events?cursor=abc", admin, nil), http.StatusBadRequest, "invalid_cursor")
}

// TestLastAdminOverHTTP: two admins demote and deactivate each other at
// the same moment. Both requests pass the route's role check (both are
// admins when they arrive) and queue on the admin rows' lock; the first
// wins and the second is last_admin, so one active admin always remains.
func TestLastAdminOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a, aID := e.userWithRole("race-admin-a", "admin")
	b, bID := e.userWithRole("race-admin-b", "admin")

	// Hold the admin rows so both requests are inside the service, waiting
	// on them, before either can decide.
	hold, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(ctx) //nolint:errcheck // committed below
	if _, err := hold.Exec(ctx, `SELECT id FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL ORDER BY id FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	results := make(chan response, 2)
	go func() {
		results <- e.do("PUT", fmt.Sprintf("/api/v1/users/%d/role", bID), a, map[string]any{"role": "user"})
	}()
	go func() { results <- e.do("POST", fmt.Sprintf("/api/v1/users/%d/deactivate", aID), b, nil) }()
	e.waitLockWaiters(2) // both requests wait on the admin rows
	if err := hold.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var ok, lastAdmin int
	for range 2 {
		r := <-results
		switch {
		case r.status == http.StatusOK:
			ok++
		case r.status == http.StatusConflict && r.json(t)["code"] == "last_admin":
			lastAdmin++
		default:
			t.Fatalf("got %d %s, want 200 or 409 last_admin", r.status, r.body)
		}
	}
	if ok != 1 || lastAdmin != 1 {
		t.Fatalf("got %d successes and %d last_admin, want 1 and 1", ok, lastAdmin)
	}
	var admins int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL`).Scan(&admins); err != nil || admins != 1 {
		t.Fatalf("got %d active admins, %v; want 1", admins, err)
	}
}
