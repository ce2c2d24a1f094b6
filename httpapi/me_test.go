package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestPatchMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("pat", map[string]any{"email": "pat@example.com", "email_verified": true})

	r := e.do("PATCH", "/api/v1/users/me", tok, map[string]any{
		"username": "Pat.Smith", "first_name": " Pat ", "instagram_handle": "@pat_s", "country": "in",
		"date_of_birth": "1990-05-17", "bio": "hello", "phone": "098765-43210",
	})
	expect(t, r, http.StatusOK, "")
	m := r.json(t)
	want := map[string]any{
		"username": "pat.smith", "first_name": "Pat", "instagram_handle": "pat_s", "country": "IN",
		"date_of_birth": "1990-05-17", "bio": "hello", "phone": "+919876543210", "email_verified": true,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s: got %v, want %v", k, m[k], v)
		}
	}

	// null clears, absent keeps; a new email waits for its confirmation
	// (an IdP-only account needs no current_password).
	r = e.do("PATCH", "/api/v1/users/me", tok, `{"bio": null, "email": "new@example.com"}`, "Content-Type", "application/merge-patch+json")
	expect(t, r, http.StatusOK, "")
	m = r.json(t)
	if m["bio"] != nil || m["username"] != "pat.smith" || m["email"] != "pat@example.com" || m["email_verified"] != true || m["pending_email"] != "new@example.com" {
		t.Fatalf("got bio %v username %v email %v verified %v pending %v", m["bio"], m["username"], m["email"], m["email_verified"], m["pending_email"])
	}

	r = e.do("PATCH", "/api/v1/users/me", tok, map[string]any{
		"username": "x", "bio": strings.Repeat("b", 141), "instagram_handle": "bad handle!", "country": "XX",
		"date_of_birth": "2999-01-01", "phone": "12", "email": "nope", "first_name": strings.Repeat("f", 51),
	})
	expect(t, r, http.StatusUnprocessableEntity, "validation_failed")
	fields := map[string]bool{}
	for _, fe := range r.json(t)["errors"].([]any) {
		fields[fe.(map[string]any)["field"].(string)] = true
	}
	for _, f := range []string{"username", "bio", "instagram_handle", "country", "date_of_birth", "phone", "email", "first_name"} {
		if !fields[f] {
			t.Errorf("got no error for field %s, want one (%s)", f, r.body)
		}
	}
	// The failed patch changed nothing.
	if m := e.do("GET", "/api/v1/users/me", tok, nil).json(t); m["username"] != "pat.smith" || m["email"] != "pat@example.com" || m["pending_email"] != "new@example.com" {
		t.Fatalf("after a rejected patch: got username %v email %v pending %v", m["username"], m["email"], m["pending_email"])
	}
}

func TestPatchMeConflicts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, _ := e.signIn("a", map[string]any{"email": "a@example.com", "email_verified": true})
	b, _ := e.signIn("b", nil)
	expect(t, e.do("PATCH", "/api/v1/users/me", a, map[string]any{"username": "taken", "phone": "+14155552671"}), http.StatusOK, "")
	expect(t, e.do("PATCH", "/api/v1/users/me", b, map[string]any{"username": "TAKEN"}), http.StatusConflict, "username_taken")
	expect(t, e.do("PATCH", "/api/v1/users/me", b, map[string]any{"email": "A@EXAMPLE.COM"}), http.StatusConflict, "email_taken")
	expect(t, e.do("PATCH", "/api/v1/users/me", b, map[string]any{"phone": "+1 415 555 2671"}), http.StatusConflict, "phone_taken")
}

func TestBadBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("bodies", nil)
	cases := []struct {
		name, body, ctype string
		status            int
		code              string
	}{
		{"unknown field", `{"nickname": "x"}`, "application/json", 400, "invalid_json"},
		{"trailing data", `{"bio": "x"} {"bio": "y"}`, "application/json", 400, "invalid_json"},
		{"malformed", `{"bio": `, "application/json", 400, "invalid_json"},
		{"wrong type", `{"bio": 5}`, "application/json", 400, "invalid_json"},
		{"empty", ``, "application/json", 400, "invalid_json"},
		{"invalid utf-8", "{\"bio\": \"\xff\"}", "application/json", 400, "invalid_json"},
		{"text/plain", `{"bio": "x"}`, "text/plain", 415, "unsupported_media_type"},
		{"no Content-Type", `{"bio": "x"}`, "", 415, "unsupported_media_type"},
		{"too large", `{"bio": "` + strings.Repeat("x", 1<<20) + `"}`, "application/json", 413, "payload_too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, e.do("PATCH", "/api/v1/users/me", tok, c.body, "Content-Type", c.ctype), c.status, c.code)
		})
	}
}

func TestPreferencesMergePatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("prefs", nil)
	r := e.do("PATCH", "/api/v1/users/me/preferences", tok, `{"theme": "dark", "notify": {"email": true, "sms": true}}`, "Content-Type", "application/merge-patch+json")
	expect(t, r, http.StatusOK, "")
	r = e.do("PATCH", "/api/v1/users/me/preferences", tok, `{"notify": {"sms": null}, "lang": "hi"}`)
	expect(t, r, http.StatusOK, "")
	got := string(r.body)
	if !strings.Contains(got, `"theme":"dark"`) || strings.Contains(got, "sms") || !strings.Contains(got, `"lang":"hi"`) {
		t.Fatalf("got %s, want theme kept, sms removed, lang added", got)
	}
	expect(t, e.do("PATCH", "/api/v1/users/me/preferences", tok, `["not", "an", "object"]`), http.StatusUnprocessableEntity, "validation_failed")
	expect(t, e.do("PATCH", "/api/v1/users/me/preferences", tok, `{"big": "`+strings.Repeat("x", 17000)+`"}`), http.StatusUnprocessableEntity, "validation_failed")
}

// TestPreferencesWrapped: the body is the preferences object itself. A
// body wrapping it as {"preferences": {...}} is refused with 422 and a
// hint, and stores nothing; a key named preferences with any other value
// is an ordinary preference.
func TestPreferencesWrapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("prefs_wrapped", nil)
	r := e.do("PATCH", "/api/v1/users/me/preferences", tok, `{"preferences": {"theme": "dark"}}`)
	expect(t, r, http.StatusUnprocessableEntity, "validation_failed")
	if body := string(r.body); !strings.Contains(body, `"field":"preferences"`) || !strings.Contains(body, `not wrapped`) {
		t.Fatalf("wrapped preferences: got %s, want an error on field preferences with the hint", body)
	}
	if got := e.do("GET", "/api/v1/users/me", tok, nil).json(t)["preferences"]; fmt.Sprint(got) != "map[]" {
		t.Fatalf("preferences after a refused wrapped patch: got %v, want none stored", got)
	}
	r = e.do("PATCH", "/api/v1/users/me/preferences", tok, `{"preferences": "compact", "theme": "dark"}`)
	expect(t, r, http.StatusOK, "")
	if body := string(r.body); !strings.Contains(body, `"preferences":"compact"`) {
		t.Fatalf("a string preference named preferences: got %s, want it stored", body)
	}
}

func TestLocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("loc", nil)
	r := e.do("PUT", "/api/v1/users/me/location", tok, map[string]any{"latitude": 12.97, "longitude": 77.59})
	expect(t, r, http.StatusOK, "")
	if loc := r.json(t)["location"].(map[string]any); loc["latitude"] != 12.97 {
		t.Fatalf("got location %v", loc)
	}
	expect(t, e.do("PUT", "/api/v1/users/me/location", tok, map[string]any{"latitude": 91, "longitude": 0}), http.StatusUnprocessableEntity, "validation_failed")
	expect(t, e.do("PUT", "/api/v1/users/me/location", tok, map[string]any{"latitude": 10}), http.StatusUnprocessableEntity, "validation_failed")
	expect(t, e.do("DELETE", "/api/v1/users/me/location", tok, nil), http.StatusNoContent, "")
	if loc := e.do("GET", "/api/v1/users/me", tok, nil).json(t)["location"]; loc != nil {
		t.Fatalf("after delete: got location %v, want null", loc)
	}
}

func TestIdentities(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("ids", map[string]any{"email": "ids@example.com"})
	r := e.do("GET", "/api/v1/users/me/identities", tok, nil)
	expect(t, r, http.StatusOK, "")
	items := r.json(t)["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["provider"] != testProvider {
		t.Fatalf("got %s, want one %s identity", r.body, testProvider)
	}
}

func TestUserObjectHasEveryField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("fields", nil)
	m := e.do("GET", "/api/v1/users/me", tok, nil).json(t)
	for _, f := range []string{"id", "username", "email", "phone", "first_name", "last_name", "bio", "avatar_url",
		"date_of_birth", "instagram_handle", "country", "city", "zipcode", "role", "organization_id", "is_active",
		"is_verified", "phone_verified", "email_verified", "preferences", "location", "last_auth_method",
		"last_auth_method_at", "last_login_at", "created_at", "updated_at", "pending_email"} {
		if _, ok := m[f]; !ok {
			t.Errorf("field %s missing", f)
		}
	}
	if len(m) != 27 {
		t.Errorf("got %d fields, want 27", len(m))
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM users").Scan(&n); err != nil || n != 1 {
		t.Fatalf("got %d users (%v), want 1", n, err)
	}
}

func TestPatchMeWithSameValuesDoesNotWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, id := e.signIn("same", nil)
	patch := map[string]any{"username": "same.user", "first_name": "Sam", "date_of_birth": "1991-02-03"}
	expect(t, e.do("PATCH", "/api/v1/users/me", tok, patch), http.StatusOK, "")
	before := rowVersions(t, e, id)
	expect(t, e.do("PATCH", "/api/v1/users/me", tok, patch), http.StatusOK, "")
	expect(t, e.do("PATCH", "/api/v1/users/me", tok, map[string]any{"username": "SAME.USER"}), http.StatusOK, "")
	if after := rowVersions(t, e, id); after != before {
		t.Fatalf("row versions: got %s, want %s (an unchanged patch wrote)", after, before)
	}
}

// NUL cannot be stored by PostgreSQL: bodies and query strings holding it
// get a 4xx, never a 500.
func TestNULIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("nul", nil)
	expect(t, e.do("PATCH", "/api/v1/users/me/preferences", tok, `{"a":"x\u0000y"}`), http.StatusBadRequest, "invalid_json")
	expect(t, e.do("POST", "/api/v1/auth/login", "", `{"identifier":"a\u0000@example.com","password":"whatever!!"}`), http.StatusBadRequest, "invalid_json")
	// Numbers PostgreSQL's jsonb cannot hold are a 422 too.
	for _, n := range []string{"1e1000000", "-1e200000", "1e-16384"} {
		expect(t, e.do("PATCH", "/api/v1/users/me/preferences", tok, `{"a":`+n+`}`), http.StatusUnprocessableEntity, "validation_failed")
	}
	admin, _ := e.userWithRole("nul-admin", "admin")
	r := e.do("GET", "/api/v1/users?q=a%00b", admin, nil)
	if r.status >= 500 {
		t.Fatalf("q with NUL: got %d (%s), want a 4xx", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/users/lookup?email=a%00@example.com", admin, nil)
	if r.status >= 500 {
		t.Fatalf("lookup with NUL: got %d (%s), want a 4xx", r.status, r.body)
	}
}

// A changed phone is no longer verified; the same number written another
// way is not a change.
func TestPhoneChangeClearsPhoneVerified(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("phone-changer", map[string]any{"phone": "919812345678", "phone_verified": true})
	if m := e.do("GET", "/api/v1/users/me", tok, nil).json(t); m["phone"] != "+919812345678" || m["phone_verified"] != true {
		t.Fatalf("signed in: got phone %v verified %v, want +919812345678 verified", m["phone"], m["phone_verified"])
	}
	r := e.do("PATCH", "/api/v1/users/me", tok, map[string]any{"phone": "098123 45678"})
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); m["phone"] != "+919812345678" || m["phone_verified"] != true {
		t.Fatalf("same number, other format: got phone %v verified %v, want it still verified", m["phone"], m["phone_verified"])
	}
	r = e.do("PATCH", "/api/v1/users/me", tok, map[string]any{"phone": "+919812345679"})
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); m["phone"] != "+919812345679" || m["phone_verified"] != false {
		t.Fatalf("new number: got phone %v verified %v, want +919812345679 unverified", m["phone"], m["phone_verified"])
	}
}
