package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// authenticator is a test's authenticator app: it computes the codes of
// an enrolled secret (RFC 6238, as apps do) for any time step.
type authenticator struct {
	t      testing.TB
	secret string
	now    int64 // the step the test runs in
}

// enrollTOTP sets up an authenticator for the holder of token, confirms it
// with the code of the previous step and returns it with the recovery
// codes. It first waits out the end of a step, so that the steps now-1 to
// now+1 stay within the server's window for the rest of a short test.
func (e *env) enrollTOTP(token string) (*authenticator, []string) {
	e.t.Helper()
	if s := time.Now().Unix() % 30; s > 24 {
		time.Sleep(time.Duration(31-s) * time.Second)
	}
	r := e.do("POST", "/api/v1/users/me/factors/totp", token, nil)
	expect(e.t, r, http.StatusCreated, "")
	m := r.json(e.t)
	uri, _ := m["otpauth_uri"].(string)
	if !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+m["secret"].(string)) {
		e.t.Fatalf("got otpauth_uri %q, want an otpauth://totp/ URI with the secret", uri)
	}
	a := &authenticator{t: e.t, secret: m["secret"].(string), now: time.Now().Unix() / 30}
	expect(e.t, e.do("POST", "/api/v1/users/me/factors/totp/confirm", token, map[string]any{"code": "000000"}), http.StatusUnprocessableEntity, "validation_failed")
	r = e.do("POST", "/api/v1/users/me/factors/totp/confirm", token, map[string]any{"code": a.code(-1)})
	expect(e.t, r, http.StatusOK, "")
	var codes []string
	for _, c := range r.json(e.t)["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	if len(codes) != 10 {
		e.t.Fatalf("got %d recovery codes, want 10", len(codes))
	}
	return a, codes
}

// code is the code of the step d steps from the test's.
func (a *authenticator) code(d int64) string {
	a.t.Helper()
	c, err := totp.GenerateCode(a.secret, time.Unix((a.now+d)*30, 0))
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

// challenge logs in with the password and returns the mfa_required
// challenge.
func (e *env) challenge(identifier string) string {
	e.t.Helper()
	r := e.login(identifier, testPassword)
	expect(e.t, r, http.StatusUnauthorized, "mfa_required")
	m := r.json(e.t)
	if ms, _ := m["methods"].([]any); len(ms) != 1 || ms[0] != "totp" {
		e.t.Fatalf("got methods %v, want [totp]", m["methods"])
	}
	id, _ := m["challenge_id"].(string)
	if len(id) < 40 {
		e.t.Fatalf("got challenge_id %q, want an opaque token", id)
	}
	return id
}

func (e *env) completeSignIn(challenge, code string) response {
	e.t.Helper()
	return e.do("POST", "/api/v1/auth/login/factor", "", map[string]any{"challenge_id": challenge, "code": code})
}

// claims decodes the payload of a JWT (its signature is checked elsewhere).
func claims(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("got %q, want a JWT", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// wantAssurance fails unless an access token says aal and exactly amr.
func wantAssurance(t testing.TB, access, aal string, amr ...string) {
	t.Helper()
	c := claims(t, access)
	var got []string
	for _, m := range c["amr"].([]any) {
		got = append(got, m.(string))
	}
	if c["aal"] != aal || !slices.Equal(got, amr) {
		t.Fatalf("got aal %v amr %v, want %s %v", c["aal"], got, aal, amr)
	}
}

func TestTOTPSignInEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := e.register(map[string]any{"email": "ann@example.com"})
	access, _ := tokens(reg)
	wantAssurance(t, access, "aal1", "pwd")
	r := e.do("GET", "/api/v1/users/me/factors", access, nil)
	expect(t, r, http.StatusOK, "")
	if r.json(t)["totp"] != false {
		t.Fatalf("got %s before enrolling, want no totp", r.body)
	}
	// Without a confirmed authenticator the password alone signs in.
	expect(t, e.do("POST", "/api/v1/users/me/factors/totp", access, nil), http.StatusCreated, "")
	expect(t, e.login("ann@example.com", testPassword), http.StatusOK, "")

	app, recovery := e.enrollTOTP(access)
	r = e.do("GET", "/api/v1/users/me/factors", access, nil)
	expect(t, r, http.StatusOK, "")
	if f := r.json(t); f["totp"] != true || f["recovery_codes_left"] != float64(10) {
		t.Fatalf("got factors %s, want totp and 10 recovery codes", r.body)
	}
	expect(t, e.do("POST", "/api/v1/users/me/factors/totp", access, nil), http.StatusConflict, "conflict")

	// The password alone no longer signs in.
	ch := e.challenge("ann@example.com")
	// The code that confirmed the authenticator was used: refused.
	expect(t, e.completeSignIn(ch, app.code(-1)), http.StatusUnauthorized, "invalid_credentials")
	expect(t, e.completeSignIn(ch, "123 456"), http.StatusUnauthorized, "invalid_credentials")
	r = e.completeSignIn(ch, app.code(0))
	expect(t, r, http.StatusOK, "")
	access2, refresh2 := tokens(r.json(t))
	wantAssurance(t, access2, "aal2", "otp", "pwd")
	if userID(t, r.json(t)) != userID(t, reg) {
		t.Fatalf("signed in as %d, want %d", userID(t, r.json(t)), userID(t, reg))
	}
	// The challenge is spent.
	expect(t, e.completeSignIn(ch, app.code(1)), http.StatusUnauthorized, "invalid_token")

	// A replay of the same code, with a new challenge, is refused; so is
	// the code of an earlier step once a later one was used.
	ch = e.challenge("ann@example.com")
	expect(t, e.completeSignIn(ch, app.code(0)), http.StatusUnauthorized, "invalid_credentials")
	expect(t, e.completeSignIn(ch, app.code(-1)), http.StatusUnauthorized, "invalid_credentials")
	// A code far from now is refused.
	expect(t, e.completeSignIn(ch, app.code(5)), http.StatusUnauthorized, "invalid_credentials")

	// (Those were five failures: the limit's. Start counting afresh.)
	if _, err := e.pool.Exec(context.Background(), `DELETE FROM login_failures`); err != nil {
		t.Fatal(err)
	}
	// A recovery code works once, in any case and with or without its dash.
	r = e.completeSignIn(ch, strings.ToUpper(strings.ReplaceAll(recovery[0], "-", "")))
	expect(t, r, http.StatusOK, "")
	a3, _ := tokens(r.json(t))
	wantAssurance(t, a3, "aal2", "otp", "pwd")
	ch = e.challenge("ann@example.com")
	expect(t, e.completeSignIn(ch, recovery[0]), http.StatusUnauthorized, "invalid_credentials")
	expect(t, e.completeSignIn(ch, recovery[1]), http.StatusOK, "")

	// A refresh keeps what the sign-in proved.
	r = e.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": refresh2})
	expect(t, r, http.StatusOK, "")
	a4, _ := tokens(r.json(t))
	wantAssurance(t, a4, "aal2", "otp", "pwd")

	// The secret is stored sealed, never as typed into an app.
	var sealed []byte
	if err := e.pool.QueryRow(context.Background(), `SELECT secret_sealed FROM user_totp`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), app.secret) {
		t.Fatal("the TOTP secret is stored in the clear")
	}
	// The audit log tells.
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action = 'factor.totp_added'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("got %d factor.totp_added events (%v), want 1", n, err)
	}
}

func TestFactorCodesAreRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	access, _ := tokens(e.register(map[string]any{"email": "ann@example.com"}))
	app, recovery := e.enrollTOTP(access)
	ch := e.challenge("ann@example.com")
	for i := range 5 {
		expect(t, e.completeSignIn(ch, fmt.Sprintf("%06d", i)), http.StatusUnauthorized, "invalid_credentials")
	}
	// Even the right code waits out the window.
	r := e.completeSignIn(ch, app.code(0))
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("got no Retry-After")
	}
	expect(t, e.completeSignIn(ch, recovery[0]), http.StatusTooManyRequests, "rate_limited")
	// Once the failures leave the window, codes are checked again.
	if _, err := e.pool.Exec(context.Background(), `UPDATE login_failures SET created_at = created_at - interval '15 minutes'`); err != nil {
		t.Fatal(err)
	}
	// The account's own pages are limited the same way.
	for range 5 {
		expect(t, e.do("POST", "/api/v1/users/me/factors/step-up", access, map[string]any{"code": "000000"}), http.StatusUnprocessableEntity, "validation_failed")
	}
	expect(t, e.do("POST", "/api/v1/users/me/factors/step-up", access, map[string]any{"code": app.code(0)}), http.StatusTooManyRequests, "rate_limited")
	expect(t, e.completeSignIn(ch, app.code(0)), http.StatusOK, "")
}

func TestSensitiveActionsNeedARecentFactor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	access, _ := tokens(e.register(map[string]any{"email": "ann@example.com"}))
	app, recovery := e.enrollTOTP(access)
	// Confirming showed a factor in this session: a change goes through.
	expect(t, e.do("POST", "/api/v1/auth/password/change", access, map[string]any{"current_password": testPassword, "new_password": "another good password"}), http.StatusNoContent, "")
	// Twenty minutes on, it needs a step-up.
	if _, err := e.pool.Exec(context.Background(), `UPDATE sessions SET factor_at = now() - interval '20 minutes' WHERE factor_at IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	change := map[string]any{"current_password": "another good password", "new_password": testPassword}
	expect(t, e.do("POST", "/api/v1/auth/password/change", access, change), http.StatusForbidden, "step_up_required")
	expect(t, e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": "new@example.com"}), http.StatusForbidden, "step_up_required")
	expect(t, e.do("DELETE", "/api/v1/users/me", access, nil), http.StatusForbidden, "step_up_required")
	// Other changes need none.
	expect(t, e.do("PATCH", "/api/v1/users/me", access, map[string]any{"first_name": "Ann"}), http.StatusOK, "")

	expect(t, e.do("POST", "/api/v1/users/me/factors/step-up", access, map[string]any{"code": "999999"}), http.StatusUnprocessableEntity, "validation_failed")
	expect(t, e.do("POST", "/api/v1/users/me/factors/step-up", access, map[string]any{"code": app.code(0)}), http.StatusNoContent, "")
	expect(t, e.do("POST", "/api/v1/auth/password/change", access, change), http.StatusNoContent, "")

	// New recovery codes replace the old ones.
	r := e.do("POST", "/api/v1/users/me/factors/recovery-codes", access, map[string]any{"code": recovery[0]})
	expect(t, r, http.StatusOK, "")
	fresh := r.json(t)["recovery_codes"].([]any)
	expect(t, e.completeSignIn(e.challenge("ann@example.com"), recovery[1]), http.StatusUnauthorized, "invalid_credentials")
	expect(t, e.completeSignIn(e.challenge("ann@example.com"), fresh[0].(string)), http.StatusOK, "")

	// Removing needs a code; then the password alone signs in again.
	expect(t, e.do("POST", "/api/v1/users/me/factors/totp/remove", access, map[string]any{"code": recovery[2]}), http.StatusUnprocessableEntity, "validation_failed")
	expect(t, e.do("POST", "/api/v1/users/me/factors/totp/remove", access, map[string]any{"code": fresh[1].(string)}), http.StatusNoContent, "")
	r = e.login("ann@example.com", testPassword)
	expect(t, r, http.StatusOK, "")
	a, _ := tokens(r.json(t))
	wantAssurance(t, a, "aal1", "pwd")
	expect(t, e.do("DELETE", "/api/v1/users/me", a, nil), http.StatusOK, "")
}

func TestAdminResetsFactors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := e.register(map[string]any{"email": "ann@example.com"})
	access, _ := tokens(reg)
	id := userID(t, reg)
	e.enrollTOTP(access)
	admin, _ := e.userWithRole("admin-1", "admin")
	member, _ := e.signIn("member-1", nil)
	path := fmt.Sprintf("/api/v1/users/%d/factors", id)

	expect(t, e.do("GET", path, member, nil), http.StatusForbidden, "forbidden")
	expect(t, e.do("DELETE", path, member, nil), http.StatusForbidden, "forbidden")
	r := e.do("GET", path, admin, nil)
	expect(t, r, http.StatusOK, "")
	if f := r.json(t); f["totp"] != true || strings.Contains(string(r.body), "secret") {
		t.Fatalf("got %s, want totp true and no secret", r.body)
	}
	expect(t, e.do("DELETE", path, admin, nil), http.StatusNoContent, "")
	expect(t, e.do("GET", "/api/v1/users/999999/factors", admin, nil), http.StatusNotFound, "not_found")

	expect(t, e.login("ann@example.com", testPassword), http.StatusOK, "")
	var actor int64
	if err := e.pool.QueryRow(context.Background(), `SELECT actor_id FROM audit_events WHERE action = 'factor.reset' AND target_user_id = $1`, id).Scan(&actor); err != nil {
		t.Fatalf("no factor.reset audit event: %v", err)
	}
	mails := e.mailsTo("ann@example.com")
	if len(mails) == 0 || !strings.Contains(mails[len(mails)-1], "removed the second factors") {
		t.Fatalf("got mails %q, want the notice of the reset", mails)
	}
}
