package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// piiLeft lists the tables in which some row, read as text, still holds
// one of needles.
func piiLeft(t *testing.T, e *env, needles ...string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := e.pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	var found []string
	for _, table := range tables {
		for _, n := range needles {
			var hits int
			q := `SELECT count(*) FROM ` + table + ` t WHERE lower(t::text) LIKE '%' || lower($1) || '%'`
			if err := e.pool.QueryRow(ctx, q, n).Scan(&hits); err != nil {
				t.Fatal(err)
			}
			if hits > 0 {
				found = append(found, table+": "+n)
			}
		}
	}
	return found
}

// usersKept are the users columns a deleted user's row keeps, with the
// value they must hold ("" for any): none can identify a person. Every
// other column, including any added later, must be NULL after a delete.
var usersKept = map[string]string{
	"id": "", "role": "", "artist_id": "", "is_seed_data": "",
	"is_active": "false", "is_verified": "false", "phone_verified": "false", "email_verified": "false",
	"preferences":      "{}",
	"last_auth_method": "", "last_auth_method_at": "", "last_login_at": "",
	"created_at": "", "updated_at": "", "deleted_at": "",
}

// usersColumnsErased fails unless user id's row is erased as usersKept
// says, reading the column list from the catalog.
func usersColumnsErased(t *testing.T, e *env, id int64) {
	t.Helper()
	ctx := context.Background()
	rows, err := e.pool.Query(ctx, `
		SELECT c.column_name, to_jsonb(u) -> c.column_name IS NULL OR to_jsonb(u) -> c.column_name = 'null', (to_jsonb(u) -> c.column_name)::text
		FROM information_schema.columns c, users u
		WHERE c.table_schema = 'public' AND c.table_name = 'users' AND u.id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var checked int
	for rows.Next() {
		var col string
		var null bool
		var val *string
		if err := rows.Scan(&col, &null, &val); err != nil {
			t.Fatal(err)
		}
		checked++
		want, kept := usersKept[col]
		switch {
		case !kept && !null:
			t.Errorf("users.%s: got %s after delete, want NULL", col, *val)
		case kept && want != "" && (val == nil || *val != want):
			t.Errorf("users.%s: got %v after delete, want %s", col, val, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if checked < len(usersKept) {
		t.Fatalf("checked %d columns of users, want at least %d", checked, len(usersKept))
	}
}

func TestDeleteMeErasesPII(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	claims := map[string]any{"email": "erase.me@example.com", "phone": "919812345678", "email_verified": true, "phone_verified": true}
	tok, id := e.signIn("erase-sub", claims)
	other, otherID := e.signIn("friend", nil)
	ctx := context.Background()
	expect(t, e.do("PATCH", "/api/v1/users/me", tok, map[string]any{
		"username": "eraseme", "first_name": "Zanzibar", "last_name": "Quuxley", "bio": "about Zanzibar",
		"city": "Pune", "instagram_handle": "zanzi",
	}), http.StatusOK, "")
	expect(t, e.do("PATCH", "/api/v1/users/me", tok, map[string]any{
		"date_of_birth": "1987-06-05", "country": "IN", "zipcode": "411001",
	}), http.StatusOK, "")
	expect(t, e.do("PUT", "/api/v1/users/me/location", tok, map[string]any{"latitude": 18.52, "longitude": 73.85}), http.StatusOK, "")
	expect(t, e.do("PATCH", "/api/v1/users/me/preferences", tok, map[string]any{"theme": "dark"}), http.StatusOK, "")
	// Rows in other tables that point at the user or hold their data.
	for _, q := range []string{
		`UPDATE users SET avatar = 'https://cdn.example/zanzibar.png' WHERE id = $1`,
		`INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2), ($2, $1)`,
		`INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)`,
		`INSERT INTO sessions (user_id, user_agent, ip, expires_at) VALUES ($1, 'Zanzibar-Phone/1.0', '203.0.113.9', now() + interval '1 day')`,
		`INSERT INTO user_tokens (user_id, purpose, token_hash, email, expires_at) VALUES ($1, 'email_verification', sha256('x'), 'erase.me@example.com', now() + interval '1 day')`,
		`INSERT INTO password_credentials (user_id, hash) VALUES ($1, '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g')`,
		`INSERT INTO avatars (user_id, content_type, image, thumbnail_type, thumbnail, etag) VALUES ($1, 'image/png', '\x89'::bytea, 'image/png', '\x89'::bytea, repeat('ab', 32))`,
		`INSERT INTO organizations (name) VALUES ('Org')`,
		`INSERT INTO invitations (organization_id, inviter_id, email, token_hash, expires_at) VALUES ((SELECT max(id) FROM organizations WHERE $1::bigint > 0), $2, 'erase.me@example.com', sha256('inv'), now() + interval '1 day')`,
		`INSERT INTO audit_events (actor_id, target_user_id, action, details) VALUES ($2, $1, 'admin.role_changed', '{"email": "erase.me@example.com", "first_name": "Zanzibar"}')`,
		`INSERT INTO outbox (kind, user_id, payload) VALUES ('mail', $1, '{"to": "erase.me@example.com"}')`,
	} {
		args := []any{id, otherID}
		switch {
		case strings.Contains(q, "$2"):
		case strings.Contains(q, "$1"):
			args = args[:1]
		default:
			args = nil
		}
		if _, err := e.pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	r := e.do("DELETE", "/api/v1/users/me", tok, nil)
	expect(t, r, http.StatusOK, "")
	if r.json(t)["message"] == nil {
		t.Fatalf("got %s, want a message", r.body)
	}
	if left := piiLeft(t, e, "erase.me@example.com", "9812345678", "Zanzibar", "Quuxley", "eraseme", "zanzi", "Pune", "203.0.113.9"); len(left) > 0 {
		t.Fatalf("PII left after delete: %v", left)
	}
	usersColumnsErased(t, e, id)
	var sessions, revoked int
	if err := e.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE revoked_at IS NOT NULL AND revoked_reason = 'deleted') FROM sessions WHERE user_id = $1`, id).Scan(&sessions, &revoked); err != nil {
		t.Fatal(err)
	}
	if sessions == 0 || revoked != sessions {
		t.Fatalf("sessions after delete: got %d of %d revoked for 'deleted', want all", revoked, sessions)
	}

	// Counters follow the removed follows; the friend is untouched.
	var followers, following int64
	if err := e.pool.QueryRow(ctx, `SELECT followers_count, following_count FROM follow_stats WHERE user_id = $1`, otherID).Scan(&followers, &following); err != nil {
		t.Fatal(err)
	}
	if followers != 0 || following != 0 {
		t.Fatalf("friend's counters: got %d/%d, want 0/0", followers, following)
	}
	expect(t, e.do("GET", "/api/v1/users/me", other, nil), http.StatusOK, "")

	// The old token is refused at once, and a new token of the same
	// subject does not bring the account back.
	expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusForbidden, "account_disabled")
	expect(t, e.do("GET", "/api/v1/users/me", e.idp.sign("erase-sub", claims), nil), http.StatusForbidden, "account_disabled")
	expect(t, e.do("DELETE", "/api/v1/users/me", tok, nil), http.StatusForbidden, "account_disabled")

	// The same email and phone can sign up again (a new IdP account).
	_, newID := e.signIn("erase-sub-2", claims)
	if newID == id {
		t.Fatalf("got the deleted user back (id %d), want a new one", id)
	}

	// The IdP hard delete was queued; the worker retries a failing admin
	// API with backoff and stops after success.
	e.admin.mu.Lock()
	e.admin.failFirst = 2
	e.admin.mu.Unlock()
	e.outbox.BaseBackoff = 0
	for range 5 {
		if _, err := e.outbox.RunOnce(ctx, 10); err != nil {
			t.Fatal(err)
		}
		if _, err := e.pool.Exec(ctx, `UPDATE outbox SET run_after = now() WHERE done_at IS NULL`); err != nil {
			t.Fatal(err)
		}
	}
	e.admin.mu.Lock()
	calls, deleted := append([]string(nil), e.admin.calls...), append([]string(nil), e.admin.deleted...)
	e.admin.mu.Unlock()
	want := []string{
		"DELETE /admin/users/erase-sub 500",
		"DELETE /admin/users/erase-sub 500",
		"DELETE /admin/users/erase-sub 200",
	}
	if len(calls) != len(want) {
		t.Fatalf("admin API calls: got %v, want %v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Fatalf("admin API calls: got %v, want %v", calls, want)
		}
	}
	if len(deleted) != 1 || deleted[0] != "erase-sub" {
		t.Fatalf("deleted at the IdP: got %v, want [erase-sub]", deleted)
	}
	var attempts int
	var done bool
	if err := e.pool.QueryRow(ctx, `SELECT attempts, done_at IS NOT NULL FROM outbox WHERE kind = 'idp_delete'`).Scan(&attempts, &done); err != nil {
		t.Fatal(err)
	}
	if attempts != 3 || !done {
		t.Fatalf("outbox job: got %d attempts done=%v, want 3 and done", attempts, done)
	}
}

func TestDeleteAccountRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("alt", nil)
	expect(t, e.do("POST", "/api/v1/auth/delete-account", tok, nil), http.StatusNoContent, "")
	expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusForbidden, "account_disabled")
}

func TestLastAdminCannotDeleteThemself(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.userWithRole("only-admin", "admin")
	expect(t, e.do("DELETE", "/api/v1/users/me", tok, nil), http.StatusConflict, "last_admin")
	other, _ := e.userWithRole("second-admin", "admin")
	expect(t, e.do("DELETE", "/api/v1/users/me", other, nil), http.StatusOK, "")
}
