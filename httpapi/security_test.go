package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
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
		got = len(e.mailsTo("inbox.victim@example.com")) // delivered before the delete drops pending mail
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

// contactKeys are the fields of the contact view, sorted.
var contactKeys = []string{"avatar_url", "bio", "created_at", "email", "first_name", "id", "instagram_handle", "is_active", "last_name", "phone", "role", "username"}

// Agents and operators get the contact view in lookups and the directory
// (no date of birth, location or preferences); admins the private view.
// Lookups are limited per caller.
func TestStaffViewsAndLookupLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	agent, _ := e.userWithRole("staff-agent", "agent")
	operator, _ := e.userWithRole("staff-operator", "operator")
	admin, _ := e.userWithRole("staff-admin", "admin")
	tok, _ := e.signIn("staff-target", map[string]any{"email": "target@example.com", "email_verified": true})
	expect(t, e.do("PATCH", "/api/v1/users/me", tok, map[string]any{"date_of_birth": "1990-01-02"}), http.StatusOK, "")
	expect(t, e.do("PUT", "/api/v1/users/me/location", tok, map[string]any{"latitude": 1.5, "longitude": 2.5}), http.StatusOK, "")

	for _, c := range []struct {
		name, token string
		private     bool
	}{{"agent", agent, false}, {"operator", operator, false}, {"admin", admin, true}} {
		r := e.do("GET", "/api/v1/users/lookup?email=target@example.com", c.token, nil)
		expect(t, r, http.StatusOK, "")
		m := r.json(t)
		_, hasDOB := m["date_of_birth"]
		if hasDOB != c.private || m["email"] != "target@example.com" {
			t.Errorf("%s lookup: got %v, want private view %v with the email", c.name, m, c.private)
		}
		if !c.private && !slices.Equal(sortedKeys(m), contactKeys) {
			t.Errorf("%s lookup: got keys %v, want %v", c.name, sortedKeys(m), contactKeys)
		}
	}
	r := e.do("GET", "/api/v1/users?limit=200", operator, nil)
	expect(t, r, http.StatusOK, "")
	for _, it := range decodePage(t, r).Items {
		if !slices.Equal(sortedKeys(it), contactKeys) {
			t.Fatalf("operator's directory item: got keys %v, want %v", sortedKeys(it), contactKeys)
		}
	}
	r = e.do("GET", "/api/v1/users?limit=200", admin, nil)
	expect(t, r, http.StatusOK, "")
	for _, it := range decodePage(t, r).Items {
		if _, ok := it["preferences"]; !ok {
			t.Fatalf("admin's directory item: got %v, want the private view", it)
		}
	}

	// 60 lookups a minute per caller; the 61st is 429, another caller is
	// not affected. (The agent made one above.)
	for i := 1; i < 60; i++ {
		expect(t, e.do("GET", "/api/v1/users/lookup?email=nobody@example.com", agent, nil), http.StatusNotFound, "not_found")
	}
	r = e.do("GET", "/api/v1/users/lookup?email=target@example.com", agent, nil)
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Fatalf("Retry-After: got %q, want 1 to 60 seconds", r.header.Get("Retry-After"))
	}
	expect(t, e.do("GET", "/api/v1/users/lookup?email=target@example.com", operator, nil), http.StatusOK, "")
}

// Invitation mail is capped per recipient: an org admin who invites and
// revokes the same address twelve times mails it five invitations. Each
// invitation is still created, and the answer says whether it was mailed.
func TestInvitationMailCappedPerRecipient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.newOrgSetup("cap")
	invitations := fmt.Sprintf("/api/v1/organizations/%d/invitations", s.id)
	sent := 0
	for i := range 12 {
		r := e.do("POST", invitations, s.adminTok, map[string]any{"email": "Flooded@example.com"})
		expect(t, r, http.StatusCreated, "")
		body := r.json(t)
		if body["mail_sent"] == true {
			sent++
			if _, ok := body["mail_suppressed"]; ok {
				t.Fatalf("round %d: got mail_suppressed %v with mail_sent true", i, body["mail_suppressed"])
			}
		} else if body["mail_sent"] != false || body["mail_suppressed"] != "rate_limited" {
			t.Fatalf("round %d: got mail_sent %v, mail_suppressed %v, want false, rate_limited", i, body["mail_sent"], body["mail_suppressed"])
		}
		id := int64(body["id"].(float64))
		expect(t, e.do("DELETE", fmt.Sprintf("%s/%d", invitations, id), s.adminTok, nil), http.StatusNoContent, "")
	}
	if sent != 5 {
		t.Fatalf("got mail_sent true %d times in 12 rounds, want 5", sent)
	}
	if got := len(e.mailsTo("flooded@example.com")); got != 5 {
		t.Fatalf("got %d invitation mails to one address in 12 rounds, want 5", got)
	}
	// Another address is not affected.
	r := e.do("POST", invitations, s.adminTok, map[string]any{"email": "other@example.com"})
	expect(t, r, http.StatusCreated, "")
	if r.json(t)["mail_sent"] != true || len(e.mailsTo("other@example.com")) != 1 {
		t.Fatalf("another address: got %s and %d mails, want mail_sent true and 1 mail", r.body, len(e.mailsTo("other@example.com")))
	}
}
