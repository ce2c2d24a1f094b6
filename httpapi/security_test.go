package httpapi_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// IdP phone claims are international digits: the country code comes
// first, never the default region (IN here). Read the other way, the
// Singapore number 6581234567 became the Indian +91 65812 34567, verified,
// and signed its holder into the account of whoever owns that Indian
// number.
func TestIdPPhoneClaimIsInternational(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The owner of the Indian number, proven by the IdP.
	_, victim := e.signIn("in-owner", map[string]any{"phone": "916581234567", "phone_verified": true})

	for _, c := range []struct{ sub, digits, want string }{
		{"sg", "6581234567", "+6581234567"},
		{"nz", "64211234567", "+64211234567"},
		{"mv", "9607771234", "+9607771234"},
		{"us", "14155552671", "+14155552671"},
		{"gb", "447911123456", "+447911123456"},
		{"in", "919876543210", "+919876543210"},
	} {
		r := e.do("GET", "/api/v1/users/me", e.idp.sign(c.sub, map[string]any{"phone": c.digits, "phone_verified": true}), nil)
		expect(t, r, http.StatusOK, "")
		m := r.json(t)
		if m["phone"] != c.want || m["phone_verified"] != true {
			t.Errorf("%s: got phone %v verified %v, want %s verified", c.sub, m["phone"], m["phone_verified"], c.want)
		}
		if int64(m["id"].(float64)) == victim {
			t.Errorf("%s: signed into the owner of +916581234567", c.sub)
		}
	}
	// The Indian owner still has their number and is alone with it.
	r := e.do("GET", "/api/v1/users/me", e.idp.sign("in-owner", map[string]any{"phone": "916581234567", "phone_verified": true}), nil)
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); m["phone"] != "+916581234567" || int64(m["id"].(float64)) != victim {
		t.Fatalf("owner: got %v, want id %d with +916581234567", m, victim)
	}
}

// JSON keys match exactly and appear once: {"role":"operator","Role":"admin"}
// passed a check of "role" and then set admin.
func TestBodyKeysExactAndUnique(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, _ := e.userWithRole("key-admin", "admin")
	_, target := e.signIn("key-target", nil)
	path := "/api/v1/users/" + strconv.FormatInt(target, 10) + "/role"
	for _, body := range []string{
		`{"role":"operator","Role":"admin"}`,
		`{"Role":"admin"}`,
		`{"role":"operator","role":"admin"}`,
	} {
		expect(t, e.do("PUT", path, admin, body), http.StatusBadRequest, "invalid_json")
	}
	r := e.do("GET", "/api/v1/users/"+strconv.FormatInt(target, 10), admin, nil)
	expect(t, r, http.StatusOK, "")
	if got := r.json(t)["role"]; got != "user" {
		t.Fatalf("role after refused bodies: got %v, want user", got)
	}
	tok := e.idp.sign("key-target", nil)
	expect(t, e.do("PATCH", "/api/v1/users/me/preferences", tok, `{"theme":"dark","theme":"light"}`), http.StatusBadRequest, "invalid_json")
	expect(t, e.do("PATCH", "/api/v1/users/me", tok, `{"first_name":"A","First_Name":"B"}`), http.StatusBadRequest, "invalid_json")
	expect(t, e.do("PUT", path, admin, `{"role":"operator"}`), http.StatusOK, "")
}

// Verification mail is capped per recipient, not per account: someone who
// registers, deletes and registers again with a victim's address sends
// the victim at most MailsPerHour mails.
func TestVerificationMailCappedPerRecipient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	got := 0
	for range 7 {
		access, _ := tokens(e.register(map[string]any{"email": "Inbox.Victim@example.com"}))
		got = len(e.mailsTo("Inbox.Victim@example.com")) // delivered before the delete drops pending mail
		expect(t, e.do("DELETE", "/api/v1/users/me", access, nil), http.StatusOK, "")
	}
	if got != 5 {
		t.Fatalf("got %d verification mails to one address from 7 accounts, want 5", got)
	}
	// Another address is not affected.
	e.register(map[string]any{"email": "someone.else@example.com"})
	if got := len(e.mailsTo("someone.else@example.com")); got != 1 {
		t.Fatalf("got %d mails to another address, want 1", got)
	}
}

// Forgot-password does the same work for a known and an unknown address:
// it queues the request; the worker looks the address up.
func TestForgotPasswordSameWorkEitherWay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(map[string]any{"email": "known@example.com"})
	e.mailsTo("known@example.com") // the verification mail goes out first
	ctx := context.Background()
	count := func(q string) int {
		t.Helper()
		var n int
		if err := e.pool.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	known := e.forgot("known@example.com")
	unknown := e.forgot("unknown@example.com")
	sameProblem(t, known, unknown)
	if n := count(`SELECT count(*) FROM outbox WHERE kind = 'password_reset_request' AND done_at IS NULL`); n != 2 {
		t.Fatalf("got %d queued requests, want 2 (one per address)", n)
	}
	if n := count(`SELECT count(*) FROM user_tokens WHERE purpose = 'password_reset'`); n != 0 {
		t.Fatalf("got %d reset tokens before the worker ran, want 0: the request must not look the address up", n)
	}
	var resets int
	for _, m := range e.mailsTo("known@example.com") {
		if strings.Contains(m, "/reset-password?token=") {
			resets++
		}
	}
	if resets != 1 || len(e.mailsTo("unknown@example.com")) != 0 {
		t.Fatalf("got %d reset mails to the known address and %d to the unknown one, want 1 and 0", resets, len(e.mailsTo("unknown@example.com")))
	}
	if n := count(`SELECT count(*) FROM outbox WHERE kind = 'password_reset_request' AND (done_at IS NULL OR payload <> '{}')`); n != 0 {
		t.Fatalf("got %d requests not done or still holding the address, want 0", n)
	}
}

// Preferences nest at most 32 levels (an 8,000-level array was stored).
func TestPreferencesDepthCapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("deep-prefs", nil)
	nested := func(levels int) string { // an object holding levels-1 arrays
		return `{"a":` + strings.Repeat("[", levels-1) + strings.Repeat("]", levels-1) + `}`
	}
	expect(t, e.do("PATCH", "/api/v1/users/me/preferences", tok, nested(32)), http.StatusOK, "")
	r := e.do("PATCH", "/api/v1/users/me/preferences", tok, nested(33))
	expect(t, r, http.StatusUnprocessableEntity, "validation_failed")
	if !strings.Contains(string(r.body), `"preferences"`) {
		t.Fatalf("got %s, want the error on preferences", r.body)
	}
	expect(t, e.do("PATCH", "/api/v1/users/me/preferences", tok, nested(8000)), http.StatusUnprocessableEntity, "validation_failed")
	// Nesting added under a key that is already deep counts too.
	expect(t, e.do("PATCH", "/api/v1/users/me/preferences", tok, `{"b":{"c":`+nested(31)+`}}`), http.StatusUnprocessableEntity, "validation_failed")
}
