package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func (e *env) refresh(token string) response {
	e.t.Helper()
	return e.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": token})
}

func (e *env) revokedReason(sessionOfRefresh string) *string {
	e.t.Helper()
	var reason *string
	err := e.pool.QueryRow(context.Background(), `
		SELECT s.revoked_reason FROM sessions s
		JOIN session_refresh_tokens t ON t.session_id = s.id
		WHERE t.token_hash = sha256(convert_to($1, 'UTF8'))`, sessionOfRefresh).Scan(&reason)
	if err != nil {
		e.t.Fatal(err)
	}
	return reason
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a0, r0 := tokens(e.register(map[string]any{"username": "rotor"}))
	r := e.refresh(r0)
	expect(t, r, http.StatusOK, "")
	m := r.json(t)
	a1, r1 := tokens(m)
	if r1 == r0 || a1 == "" || m["token_type"] != "Bearer" || m["expires_in"] != float64(900) {
		t.Fatalf("refresh: got %s, want a new pair", r.body)
	}
	expect(t, e.do("GET", "/api/v1/users/me", a1, nil), http.StatusOK, "")
	expect(t, e.do("GET", "/api/v1/users/me", a0, nil), http.StatusOK, "") // valid until it expires

	// Still one session, its expiry slid forward.
	var sessions, tokensIssued int
	if err := e.pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM session_refresh_tokens)`).Scan(&sessions, &tokensIssued); err != nil {
		t.Fatal(err)
	}
	if sessions != 1 || tokensIssued != 2 {
		t.Fatalf("got %d sessions and %d refresh tokens, want 1 and 2", sessions, tokensIssued)
	}
	_, r2 := tokens(e.refresh(r1).json(t))
	expect(t, e.refresh(r2), http.StatusOK, "")

	for _, bad := range []string{"", "short", r2[:42] + "!"} {
		expect(t, e.refresh(bad), http.StatusUnauthorized, "invalid_token")
	}
	// An expired session is refused.
	_, r3 := tokens(e.login("rotor", testPassword).json(t))
	if _, err := e.pool.Exec(context.Background(), `UPDATE sessions SET expires_at = created_at + interval '1 microsecond' WHERE id = (SELECT max(id) FROM sessions)`); err != nil {
		t.Fatal(err)
	}
	expect(t, e.refresh(r3), http.StatusUnauthorized, "invalid_token")
}

func TestRefreshReuseRevokesTheFamily(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.accounts.RefreshGrace = 0
	_, r0 := tokens(e.register(map[string]any{"username": "victim"}))
	_, other := tokens(e.login("victim", testPassword).json(t))
	_, r1 := tokens(e.refresh(r0).json(t))

	// r0 was rotated: presenting it again means two holders.
	r := e.refresh(r0)
	expect(t, r, http.StatusUnauthorized, "invalid_token")
	if got := r.header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
		t.Fatalf("WWW-Authenticate: got %q", got)
	}
	// The newest token of the family dies with it.
	expect(t, e.refresh(r1), http.StatusUnauthorized, "invalid_token")
	if got := e.revokedReason(r1); got == nil || *got != "reuse_detected" {
		t.Fatalf("revoked_reason: got %v, want reuse_detected", got)
	}
	var audited int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action = 'session.reuse_detected'`).Scan(&audited); err != nil || audited != 1 {
		t.Fatalf("got %d session.reuse_detected audit events (%v), want 1", audited, err)
	}
	// Another session of the same user is untouched.
	expect(t, e.refresh(other), http.StatusOK, "")
}

func TestRefreshRaceExactlyOneWins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, token := tokens(e.register(map[string]any{"username": "racer"}))
	for round := range 20 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		statuses := make([]int, 2)
		bodies := make([][]byte, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				statuses[i], bodies[i], errs[i] = e.post("/api/v1/auth/refresh", map[string]any{"refresh_token": token})
			}()
		}
		close(start)
		wg.Wait()
		winners := 0
		for i := range 2 {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			switch statuses[i] {
			case http.StatusOK:
				winners++
				var m map[string]any
				if err := json.Unmarshal(bodies[i], &m); err != nil {
					t.Fatal(err)
				}
				_, token = tokens(m)
			case http.StatusUnauthorized:
			default:
				t.Fatalf("round %d: got status %d (%s), want 200 or 401", round, statuses[i], bodies[i])
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: got %d successful refreshes of one token, want exactly 1 (%d %s / %d %s)",
				round, winners, statuses[0], bodies[0], statuses[1], bodies[1])
		}
		// The loser, inside the grace period, did not revoke the family.
	}
	expect(t, e.refresh(token), http.StatusOK, "")
}

func TestSessionLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, r0 := tokens(e.register(map[string]any{"username": "leaver"}))
	_, kept := tokens(e.login("leaver", testPassword).json(t))
	logout := func(token string) {
		t.Helper()
		r := e.do("POST", "/api/v1/auth/logout", "", map[string]any{"refresh_token": token})
		expect(t, r, http.StatusNoContent, "")
	}
	logout(r0)
	expect(t, e.refresh(r0), http.StatusUnauthorized, "invalid_token")
	if got := e.revokedReason(r0); got == nil || *got != "logout" {
		t.Fatalf("revoked_reason: got %v, want logout", got)
	}
	logout(r0)
	logout("unknown-token-unknown-token-unknown-token-x")
	logout("")
	expect(t, e.refresh(kept), http.StatusOK, "")
}

func TestSessionsListAndRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(map[string]any{"username": "owner_of_two"})
	a := e.login("owner_of_two", testPassword, "User-Agent", "Phone/1.0").json(t)
	b := e.login("owner_of_two", testPassword, "User-Agent", "Laptop/2.0\t").json(t)
	e.login("owner_of_two", testPassword, "User-Agent", strings.Repeat("é", 600))
	accessA, _ := tokens(a)
	_, refreshB := tokens(b)

	r := e.do("GET", "/api/v1/users/me/sessions", accessA, nil)
	expect(t, r, http.StatusOK, "")
	items := r.json(t)["items"].([]any)
	if len(items) != 4 {
		t.Fatalf("got %d sessions, want 4 (register and three logins): %s", len(items), r.body)
	}
	if ua := items[0].(map[string]any)["user_agent"].(string); ua != strings.Repeat("é", 512) {
		t.Fatalf("newest session: got a user agent of %d characters, want 512", utf8.RuneCountInString(ua))
	}
	var current, idB float64
	for _, it := range items {
		s := it.(map[string]any)
		for _, k := range []string{"id", "created_at", "last_used_at", "expires_at", "user_agent", "ip", "current"} {
			if _, ok := s[k]; !ok {
				t.Fatalf("session %v lacks %s", s, k)
			}
		}
		if s["ip"] != "127.0.0.1" {
			t.Errorf("ip: got %v, want 127.0.0.1", s["ip"])
		}
		if s["current"] == true {
			current++
			if s["user_agent"] != "Phone/1.0" {
				t.Errorf("current session: got user agent %v, want Phone/1.0", s["user_agent"])
			}
		}
		if s["user_agent"] == "Laptop/2.0" {
			idB = s["id"].(float64)
		}
	}
	if current != 1 || idB == 0 {
		t.Fatalf("got %v current sessions and B's id %v, want 1 and B found: %s", current, idB, r.body)
	}

	otherAccess, _ := tokens(e.register(map[string]any{"username": "stranger"}))
	path := "/api/v1/users/me/sessions/" + formatID(idB)
	expect(t, e.do("DELETE", path, otherAccess, nil), http.StatusNotFound, "not_found")
	expect(t, e.do("DELETE", path, accessA, nil), http.StatusNoContent, "")
	expect(t, e.do("DELETE", path, accessA, nil), http.StatusNoContent, "")
	expect(t, e.do("DELETE", "/api/v1/users/me/sessions/999999", accessA, nil), http.StatusNotFound, "not_found")
	expect(t, e.do("DELETE", "/api/v1/users/me/sessions/abc", accessA, nil), http.StatusNotFound, "not_found")
	expect(t, e.refresh(refreshB), http.StatusUnauthorized, "invalid_token")
	if got := e.revokedReason(refreshB); got == nil || *got != "revoked_by_user" {
		t.Fatalf("revoked_reason: got %v, want revoked_by_user", got)
	}
	if n := len(e.do("GET", "/api/v1/users/me/sessions", accessA, nil).json(t)["items"].([]any)); n != 3 {
		t.Fatalf("after revoking one: got %d sessions, want 3", n)
	}

	// An IdP user has no sessions here.
	tok, _ := e.signIn("idp-sessions", nil)
	if n := len(e.do("GET", "/api/v1/users/me/sessions", tok, nil).json(t)["items"].([]any)); n != 0 {
		t.Fatalf("IdP user: got %d sessions, want 0", n)
	}
}

func formatID(f float64) string {
	b, _ := json.Marshal(int64(f))
	return string(b)
}

func TestPasswordChangeRevokesOtherSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, refreshOld := tokens(e.register(map[string]any{"email": "changer@example.com"}))
	access, refreshKept := tokens(e.login("changer@example.com", testPassword).json(t))
	change := func(current, next string) response {
		return e.do("POST", "/api/v1/auth/password/change", access, map[string]any{"current_password": current, "new_password": next})
	}
	const newPassword = "a new and better passphrase"

	r := change("wrong password!", newPassword)
	expect(t, r, http.StatusUnprocessableEntity, "validation_failed")
	if got := r.json(t)["errors"].([]any)[0].(map[string]any)["field"]; got != "current_password" {
		t.Fatalf("got field %v, want current_password", got)
	}
	r = change(testPassword, "password123")
	expect(t, r, http.StatusUnprocessableEntity, "validation_failed")
	if got := r.json(t)["errors"].([]any)[0].(map[string]any)["field"]; got != "new_password" {
		t.Fatalf("got field %v, want new_password", got)
	}
	expect(t, change(testPassword, newPassword), http.StatusNoContent, "")

	expect(t, e.refresh(refreshOld), http.StatusUnauthorized, "invalid_token")
	if got := e.revokedReason(refreshOld); got == nil || *got != "password_changed" {
		t.Fatalf("revoked_reason: got %v, want password_changed", got)
	}
	expect(t, e.refresh(refreshKept), http.StatusOK, "")
	expect(t, e.login("changer@example.com", testPassword), http.StatusUnauthorized, "invalid_credentials")
	expect(t, e.login("changer@example.com", newPassword), http.StatusOK, "")
	expect(t, e.do("POST", "/api/v1/auth/password/change", "", map[string]any{"current_password": newPassword, "new_password": testPassword}),
		http.StatusUnauthorized, "invalid_token")
}

func TestPasswordChangeGuessesAreLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	access, _ := tokens(e.register(map[string]any{"username": "stolen_token"}))
	for range 5 {
		r := e.do("POST", "/api/v1/auth/password/change", access, map[string]any{"current_password": "a guess!!", "new_password": "attacker passphrase"})
		expect(t, r, http.StatusUnprocessableEntity, "validation_failed")
	}
	r := e.do("POST", "/api/v1/auth/password/change", access, map[string]any{"current_password": testPassword, "new_password": "attacker passphrase"})
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
}

func TestAccountUnlinkIdentity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// An IdP-only user cannot remove their only way in.
	tok, _ := e.signIn("only-idp", nil)
	expect(t, e.do("DELETE", "/api/v1/users/me/identities/"+testProvider, tok, nil), http.StatusConflict, "conflict")
	expect(t, e.do("DELETE", "/api/v1/users/me/identities/github", tok, nil), http.StatusNotFound, "not_found")

	// A local user who also signs in through the IdP (linked explicitly,
	// signed in with the password) may remove the identity: the password
	// remains.
	m := e.register(map[string]any{"email": "both@example.com"})
	access, _ := tokens(m)
	idpTok := e.idp.sign("both-sub", freshSignIn(map[string]any{"email": "both@example.com", "email_verified": true}))
	expect(t, e.do("POST", "/api/v1/users/me/identities", access, map[string]any{"token": idpTok}), http.StatusCreated, "")
	_, linked := e.signIn("both-sub", map[string]any{"email": "both@example.com", "email_verified": true})
	if linked != userID(t, m) {
		t.Fatalf("IdP sign-in linked to user %d, want %d", linked, userID(t, m))
	}
	expect(t, e.do("DELETE", "/api/v1/users/me/identities/"+testProvider, access, nil), http.StatusNoContent, "")
	if n := len(e.do("GET", "/api/v1/users/me/identities", access, nil).json(t)["items"].([]any)); n != 0 {
		t.Fatalf("got %d identities after unlinking, want 0", n)
	}
	expect(t, e.do("DELETE", "/api/v1/users/me/identities/"+testProvider, access, nil), http.StatusNotFound, "not_found")
}

// A session's access tokens end with the session, not when they expire.
func TestRevokedSessionAccessTokenRefusedAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.register(map[string]any{"email": "revoked@example.com"})
	access, refresh := tokens(m)
	expect(t, e.do("GET", "/api/v1/users/me", access, nil), http.StatusOK, "")
	expect(t, e.do("POST", "/api/v1/auth/logout", "", map[string]any{"refresh_token": refresh}), http.StatusNoContent, "")
	expect(t, e.do("GET", "/api/v1/users/me", access, nil), http.StatusUnauthorized, "invalid_token")

	// A password change ends every other session, with its access tokens.
	r := e.do("POST", "/api/v1/auth/login", "", map[string]any{"identifier": "revoked@example.com", "password": testPassword})
	expect(t, r, http.StatusOK, "")
	stolen, _ := tokens(r.json(t))
	r = e.do("POST", "/api/v1/auth/login", "", map[string]any{"identifier": "revoked@example.com", "password": testPassword})
	expect(t, r, http.StatusOK, "")
	mine, _ := tokens(r.json(t))
	expect(t, e.do("POST", "/api/v1/auth/password/change", mine, map[string]any{"current_password": testPassword, "new_password": "a brand new passphrase"}), http.StatusNoContent, "")
	expect(t, e.do("GET", "/api/v1/users/me", stolen, nil), http.StatusUnauthorized, "invalid_token")
	expect(t, e.do("GET", "/api/v1/users/me", mine, nil), http.StatusOK, "")
}

// A password change racing the account's deletion never gives the deleted
// account a password back.
func TestPasswordChangeRacingDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 10 {
		access, _ := tokens(e.register(map[string]any{"email": fmt.Sprintf("racer%d@example.com", i)}))
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			e.do("POST", "/api/v1/auth/password/change", access, map[string]any{"current_password": testPassword, "new_password": "a racing passphrase"})
		}()
		go func() {
			defer wg.Done()
			e.do("DELETE", "/api/v1/users/me", access, nil)
		}()
		wg.Wait()
	}
	var left int
	err := e.pool.QueryRow(context.Background(), `
		SELECT count(*) FROM password_credentials p JOIN users u ON u.id = p.user_id WHERE u.deleted_at IS NOT NULL`).Scan(&left)
	if err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("got %d deleted users with a password, want 0", left)
	}
}

func TestSessionsArePaged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.register(map[string]any{"email": "pages@example.com"})
	access, _ := tokens(m)
	for range 4 {
		expect(t, e.login("pages@example.com", testPassword), http.StatusOK, "")
	}
	seen := map[float64]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("got more pages than sessions")
		}
		r := e.do("GET", "/api/v1/users/me/sessions?limit=2&cursor="+cursor, access, nil)
		expect(t, r, http.StatusOK, "")
		body := r.json(t)
		for _, it := range body["items"].([]any) {
			id := it.(map[string]any)["id"].(float64)
			if seen[id] {
				t.Fatalf("session %v listed twice", id)
			}
			seen[id] = true
		}
		next, ok := body["next_cursor"].(string)
		if !ok {
			break
		}
		cursor = next
	}
	if len(seen) != 5 {
		t.Fatalf("got %d sessions over the pages, want 5", len(seen))
	}
	// A cursor is bound to its user and cannot be altered.
	first := e.do("GET", "/api/v1/users/me/sessions?limit=1", access, nil).json(t)["next_cursor"].(string)
	other, _ := tokens(e.register(map[string]any{"email": "other-pages@example.com"}))
	expect(t, e.do("GET", "/api/v1/users/me/sessions?cursor="+first, other, nil), http.StatusBadRequest, "invalid_cursor")
	tampered := first[:len(first)-2] + "AA"
	if tampered == first {
		tampered = first[:len(first)-2] + "BB"
	}
	expect(t, e.do("GET", "/api/v1/users/me/sessions?cursor="+tampered, access, nil), http.StatusBadRequest, "invalid_cursor")
	expect(t, e.do("GET", "/api/v1/users/me/sessions?limit=0", access, nil), http.StatusUnprocessableEntity, "validation_failed")
}
