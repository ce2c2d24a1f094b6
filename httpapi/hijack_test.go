package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// The pre-hijacking scenarios: an attacker prepares an account holding the
// victim's address before the victim arrives, then waits. Each test plays
// one through HTTP and the SMTP test server, and checks that whoever
// proves the mailbox ends up alone in the account.

// mailLink returns the token of the newest mail to address with a link to
// page.
func (e *env) mailLink(address, page string) string {
	e.t.Helper()
	mails := e.mailsTo(address)
	for i := len(mails) - 1; i >= 0; i-- {
		if strings.Contains(mails[i], "http://userd.test"+page+"?token=") {
			return tokenIn(e.t, mails[i], page)
		}
	}
	e.t.Fatalf("no mail to %s with a %s link (%d mails)", address, page, len(mails))
	return ""
}

// me returns GET /users/me of token, which must succeed.
func (e *env) me(token string) map[string]any {
	e.t.Helper()
	r := e.do("GET", "/api/v1/users/me", token, nil)
	expect(e.t, r, http.StatusOK, "")
	return r.json(e.t)
}

func idOf(m map[string]any) int64 { return int64(m["id"].(float64)) }

// 1. An IdP token claiming bob@… unverified made a user with that email;
// Bob's sign-up got email_taken, he reset "his" password and filled in his
// profile, and the attacker's IdP token still opened the account.
func TestHijackUnverifiedIdPEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const bob = "bob@example.com"
	attackerTok := e.idp.sign("attacker-1", map[string]any{"email": bob}) // not verified
	attacker := e.me(attackerTok)
	if attacker["email"] != nil {
		t.Fatalf("unverified IdP claim: got email %v on the user, want null (kept on the identity only)", attacker["email"])
	}
	// Bob signs up: the address is free.
	reg := e.register(map[string]any{"email": bob})
	bobID := userID(t, reg)
	bobAccess, _ := tokens(reg)
	expect(t, e.do("POST", "/api/v1/auth/email/verify", bobAccess, map[string]any{"token": e.mailLink(bob, "/verify-email")}), http.StatusNoContent, "")
	// And, forgetful, resets his password by mail.
	e.forgot(bob)
	expect(t, e.reset(e.mailLink(bob, "/reset-password"), resetPassword), http.StatusNoContent, "")
	in := e.login(bob, resetPassword)
	expect(t, in, http.StatusOK, "")
	bobAccess, _ = tokens(in.json(t))
	expect(t, e.do("PATCH", "/api/v1/users/me", bobAccess, map[string]any{"bio": "Bob's secrets"}), http.StatusOK, "")

	// The attacker's token still opens only the attacker's own account.
	again := e.me(attackerTok)
	if idOf(again) == bobID || idOf(again) != idOf(attacker) || again["bio"] != nil {
		t.Fatalf("attacker's IdP token: got user %v (bio %v), want the attacker's own %v, never Bob's %d", again["id"], again["bio"], attacker["id"], bobID)
	}
	// Bob's account has no login but his own.
	if n := identitiesOf(t, e, bobID); n != 0 {
		t.Fatalf("Bob's account: got %d identities, want 0", n)
	}
}

// 2. The attacker registered erin@… with a password. Erin followed the
// verification mail (it reached her mailbox), later signed in through the
// IdP with her verified address and was linked into that account; the
// attacker's password and old tokens read her data. (Had Erin signed in
// through the IdP first, her proof would have taken the address off the
// attacker's account: TestUnprovenEmailMovesToProver.)
func TestHijackPasswordBeforeVerification(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const erin = "erin@example.com"
	reg := e.register(map[string]any{"email": erin, "password": "attacker's passphrase"})
	accountID := userID(t, reg)
	attackerAccess, attackerRefresh := tokens(reg)
	erinIdP := e.idp.sign("erin-sub", freshSignIn(map[string]any{"email": erin, "email_verified": true}))

	// Erin follows the verification link, not signed in to anything: it
	// wants the account's password, which she does not have. Nothing
	// changes, and the link stays usable.
	verifyToken := e.mailLink(erin, "/verify-email")
	for _, pw := range []string{"", "a guess of erin's"} {
		expect(t, e.do("POST", "/api/v1/auth/email/verify", "", map[string]any{"token": verifyToken, "password": pw}), http.StatusUnprocessableEntity, "validation_failed")
	}
	if m := e.me(attackerAccess); m["email_verified"] != false {
		t.Fatalf("a refused verification: got email_verified %v, want false", m["email_verified"])
	}

	// She takes the account with a password reset: every way the attacker
	// had is gone (password, session, access token).
	e.forgot(erin)
	expect(t, e.reset(e.mailLink(erin, "/reset-password"), resetPassword), http.StatusNoContent, "")
	expect(t, e.login(erin, "attacker's passphrase"), http.StatusUnauthorized, "invalid_credentials")
	expect(t, e.refresh(attackerRefresh), http.StatusUnauthorized, "invalid_token")
	expect(t, e.do("GET", "/api/v1/users/me", attackerAccess, nil), http.StatusUnauthorized, "invalid_token")
	if got := e.revokedReason(attackerRefresh); got == nil || *got != "password_reset" {
		t.Fatalf("attacker's session: got revoked_reason %v, want password_reset", got)
	}
	expect(t, e.login(erin, resetPassword), http.StatusOK, "")
	// With a password set (hers) on a proven address, a plain IdP sign-in
	// asks for the explicit link (409 email_taken, saying how), which she
	// makes signed in with it.
	r := e.do("GET", "/api/v1/users/me", erinIdP, nil)
	expect(t, r, http.StatusConflict, "email_taken")
	if d, _ := r.json(t)["detail"].(string); !strings.Contains(d, "sign in with the password") || !strings.Contains(d, "/api/v1/users/me/identities") {
		t.Fatalf("409 detail %q does not say how to link", d)
	}
	in := e.login(erin, resetPassword)
	expect(t, in, http.StatusOK, "")
	erinAccess, _ := tokens(in.json(t))
	expect(t, e.do("POST", "/api/v1/users/me/identities", erinAccess, map[string]any{"token": erinIdP}), http.StatusCreated, "")
	if got := idOf(e.me(erinIdP)); got != accountID {
		t.Fatalf("Erin's IdP login: got user %d, want her account %d", got, accountID)
	}
	// The explicit link needs a password sign-in: an IdP token cannot
	// link another login.
	expect(t, e.do("POST", "/api/v1/users/me/identities", erinIdP, map[string]any{"token": e.idp.sign("other-sub", nil)}), http.StatusForbidden, "forbidden")
}

// 3. The attacker (own address verified, IdP login linked) switched the
// email to alice@…; Alice reset "her" password and used the account; the
// attacker's IdP login still read it.
func TestHijackEmailSwitchedToVictims(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const mallory, alice = "mallory@example.com", "alice@example.com"
	reg := e.register(map[string]any{"email": mallory, "password": "mallory's passphrase"})
	accountID := userID(t, reg)
	access, refresh := tokens(reg)
	expect(t, e.do("POST", "/api/v1/auth/email/verify", access, map[string]any{"token": e.mailLink(mallory, "/verify-email")}), http.StatusNoContent, "")
	malloryIdP := e.idp.sign("mallory-sub", freshSignIn(map[string]any{"email": mallory, "email_verified": true}))
	expect(t, e.do("POST", "/api/v1/users/me/identities", access, map[string]any{"token": malloryIdP}), http.StatusCreated, "")
	if got := idOf(e.me(malloryIdP)); got != accountID {
		t.Fatalf("linked IdP login: got user %d, want %d", got, accountID)
	}

	// The change needs the current password, and then only waits.
	r := e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": alice})
	expect(t, r, http.StatusUnprocessableEntity, "validation_failed")
	expect(t, e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": alice, "current_password": "a wrong guess!"}), http.StatusUnprocessableEntity, "validation_failed")
	r = e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": alice, "current_password": "mallory's passphrase"})
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); m["email"] != mallory || m["pending_email"] != alice {
		t.Fatalf("after asking for alice's address: got email %v pending %v, want %s pending %s", m["email"], m["pending_email"], mallory, alice)
	}
	// The old address got a notice; Alice's address is not the account's,
	// so "her" reset goes nowhere.
	var notice bool
	for _, m := range e.mailsTo(mallory) {
		notice = notice || strings.Contains(m, "asked for its email address") && strings.Contains(m, alice)
	}
	if !notice {
		t.Fatal("the current address got no notice of the change")
	}
	e.forgot(alice)
	for _, m := range e.mailsTo(alice) {
		if strings.Contains(m, "/reset-password") {
			t.Fatal("a reset link went to a merely pending address")
		}
	}

	// Alice follows the confirmation link (not signed in): it wants the
	// account's password, which she does not have. Nothing changes: the
	// address never becomes the account's, so the account is never hers.
	confirm := e.mailLink(alice, "/verify-email")
	expect(t, e.do("POST", "/api/v1/auth/email/verify", "", map[string]any{"token": confirm}), http.StatusUnprocessableEntity, "validation_failed")
	expect(t, e.do("POST", "/api/v1/auth/email/verify", "", map[string]any{"token": confirm, "password": "alice's own passphrase"}), http.StatusUnprocessableEntity, "validation_failed")
	if m := e.me(access); m["email"] != mallory || m["pending_email"] != alice {
		t.Fatalf("after a refused confirmation: got email %v pending %v, want %s pending %s", m["email"], m["pending_email"], mallory, alice)
	}
	expect(t, e.login(alice, "mallory's passphrase"), http.StatusUnauthorized, "invalid_credentials")

	// Alice signs up with her address: an account of her own, which the
	// attacker's logins do not open.
	aliceReg := e.register(map[string]any{"email": alice, "password": resetPassword})
	aliceID := userID(t, aliceReg)
	if aliceID == accountID {
		t.Fatal("Alice's sign-up landed in the attacker's account")
	}
	if got := idOf(e.me(malloryIdP)); got == aliceID {
		t.Fatal("the attacker's IdP login opens Alice's account")
	}
	expect(t, e.refresh(refresh), http.StatusOK, "")
	in := e.login(alice, resetPassword)
	expect(t, in, http.StatusOK, "")
	if u := in.json(t)["user"].(map[string]any); idOf(u) != aliceID || u["email"] != alice {
		t.Fatalf("Alice's sign-in: got user %v email %v, want %d %s", u["id"], u["email"], aliceID, alice)
	}
}

// TestVerifyEmailSignedOutNeedsPassword: a verification link followed
// signed out confirms with the account's password and keeps the account
// whole; without it, nothing changes and the link stays usable.
func TestVerifyEmailSignedOutNeedsPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const ann = "ann.device@example.com"
	access, refresh := tokens(e.register(map[string]any{"email": ann}))
	token := e.mailLink(ann, "/verify-email")
	other, _ := tokens(e.register(map[string]any{"email": "someone.else@example.com"}))
	verify := func(bearer, pw string) response {
		body := map[string]any{"token": token}
		if pw != "-" {
			body["password"] = pw
		}
		return e.do("POST", "/api/v1/auth/email/verify", bearer, body)
	}
	for _, c := range []struct{ bearer, pw string }{{"", "-"}, {"", ""}, {"", "not ann's password"}, {other, "-"}, {other, "not ann's password"}} {
		r := verify(c.bearer, c.pw)
		expect(t, r, http.StatusUnprocessableEntity, "validation_failed")
		if f := r.json(t)["errors"].([]any)[0].(map[string]any)["field"]; f != "password" {
			t.Fatalf("got field %v, want password", f)
		}
	}
	if m := e.me(access); m["email_verified"] != false {
		t.Fatalf("after refusals: got email_verified %v, want false", m["email_verified"])
	}
	expect(t, verify("", testPassword), http.StatusNoContent, "")
	if m := e.me(access); m["email_verified"] != true {
		t.Fatalf("after confirming: got email_verified %v, want true", m["email_verified"])
	}
	// The account is whole: its session, its refresh token, its password.
	expect(t, e.refresh(refresh), http.StatusOK, "")
	expect(t, e.login(ann, testPassword), http.StatusOK, "")
	expect(t, verify("", testPassword), http.StatusUnauthorized, "invalid_token")
}

// The owner confirming their own change while signed in keeps every way in.
func TestEmailChangeConfirmedSignedIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := e.register(map[string]any{"email": "before@example.com"})
	access, refresh := tokens(reg)
	expect(t, e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": "after@example.com", "current_password": testPassword}), http.StatusOK, "")
	// Someone else takes the address meanwhile, and proves it: the
	// confirmation fails and nothing changes.
	other, _ := tokens(e.register(map[string]any{"email": "after@example.com"}))
	// The first mail to after@ is the change's link (the second, the other
	// account's sign-up verification).
	confirm := tokenIn(t, e.mailsTo("after@example.com")[0], "/verify-email")
	expect(t, e.do("POST", "/api/v1/auth/email/verify", other, map[string]any{"token": tokenIn(t, e.mailsTo("after@example.com")[1], "/verify-email")}), http.StatusNoContent, "")
	expect(t, e.do("POST", "/api/v1/auth/email/verify", access, map[string]any{"token": confirm}), http.StatusConflict, "email_taken")
	if m := e.me(access); m["email"] != "before@example.com" || m["pending_email"] != "after@example.com" {
		t.Fatalf("after a taken address: got email %v pending %v", m["email"], m["pending_email"])
	}
	// Back to the current address cancels the pending change.
	r := e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": "before@example.com"})
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); m["pending_email"] != nil {
		t.Fatalf("after cancelling: got pending %v, want null", m["pending_email"])
	}
	expect(t, e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": "third@example.com", "current_password": testPassword}), http.StatusOK, "")
	expect(t, e.do("POST", "/api/v1/auth/email/verify", access, map[string]any{"token": e.mailLink("third@example.com", "/verify-email")}), http.StatusNoContent, "")
	if m := e.me(access); m["email"] != "third@example.com" || m["email_verified"] != true {
		t.Fatalf("after confirming signed in: got %v verified %v", m["email"], m["email_verified"])
	}
	expect(t, e.login("third@example.com", testPassword), http.StatusOK, "")
	expect(t, e.refresh(refresh), http.StatusOK, "")
}

// 4. The victim follows the verification link of the address a squatter
// registered while signed in to another account of their own: being signed
// in counts only for the account the link is for, so the squatter's
// password and sessions go as when the link is followed signed out (or,
// should the link be refused to another account's token, nothing is
// proven and the address stays unverified).
func TestVerifySignedInAsAnotherAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const vic = "vic@example.com"
	reg := e.register(map[string]any{"email": vic, "password": "squatter's passphrase"})
	_, squatterRefresh := tokens(reg)
	other, _ := e.signIn("vic-other-account", nil)
	r := e.do("POST", "/api/v1/auth/email/verify", other, map[string]any{"token": e.mailLink(vic, "/verify-email")})
	if r.status >= 400 && r.status < 500 {
		if in := e.login(vic, "squatter's passphrase"); in.status == http.StatusOK && e.me(tokenOf(t, in))["email_verified"] == true {
			t.Fatalf("refused link: the address became verified in the squatter's account")
		}
		return
	}
	expect(t, r, http.StatusNoContent, "")
	expect(t, e.login(vic, "squatter's passphrase"), http.StatusUnauthorized, "invalid_credentials")
	expect(t, e.refresh(squatterRefresh), http.StatusUnauthorized, "invalid_token")
}

// tokenOf is the access token of a sign-in response.
func tokenOf(t testing.TB, r response) string {
	t.Helper()
	a, _ := tokens(r.json(t))
	return a
}
