package httpapi_test

import (
	"context"
	"mime"
	"net/http"
	"strings"
	"testing"
)

const resetPassword = "the brand new passphrase"

func (e *env) forgot(email string) response {
	e.t.Helper()
	r := e.do("POST", "/api/v1/auth/password/forgot", "", map[string]any{"email": email})
	expect(e.t, r, http.StatusAccepted, "")
	return r
}

func (e *env) reset(token, pw string) response {
	e.t.Helper()
	return e.do("POST", "/api/v1/auth/password/reset", "", map[string]any{"token": token, "password": pw})
}

func TestPasswordResetByMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, refresh := tokens(e.register(map[string]any{"email": "Forgetful@Example.com"}))
	// Lock the account out first: the reset lets its owner back in.
	for range 5 {
		e.login("forgetful@example.com", "wrong password!")
	}

	known := e.forgot("FORGETFUL@example.com")
	unknown := e.forgot("nobody@example.com")
	if string(known.body) != string(unknown.body) {
		t.Fatalf("forgot: got %s for a known address and %s for an unknown one, want the same", known.body, unknown.body)
	}
	garbage := e.do("POST", "/api/v1/auth/password/forgot", "", map[string]any{"email": "not an address"})
	expect(t, garbage, http.StatusAccepted, "")
	if string(garbage.body) != string(known.body) {
		t.Fatalf("forgot: got %s for garbage, want the same %s", garbage.body, known.body)
	}

	// Delivered over SMTP: the verification mail of the sign-up and the
	// reset mail; nothing for the unknown address.
	mails := e.mailsTo("forgetful@example.com")
	if len(mails) != 2 {
		t.Fatalf("got %d mails, want 2 (verification, reset)", len(mails))
	}
	if n := len(e.mailsTo("nobody@example.com")); n != 0 {
		t.Fatalf("got %d mails to an unknown address, want 0", n)
	}
	var resetMail string
	for _, m := range mails {
		if strings.Contains(m, "/reset-password?token=") {
			resetMail = m
		}
	}
	token := tokenIn(t, resetMail, "/reset-password")
	if !strings.Contains(resetMail, "1 hour") {
		t.Errorf("reset mail %q does not say it expires in 1 hour", resetMail)
	}

	r := e.reset(token, "short")
	expect(t, r, http.StatusUnprocessableEntity, "validation_failed")
	expect(t, e.reset(token, resetPassword), http.StatusNoContent, "")
	expect(t, e.reset(token, resetPassword+"!"), http.StatusUnauthorized, "invalid_token")
	expect(t, e.reset("", resetPassword), http.StatusUnauthorized, "invalid_token")

	expect(t, e.login("forgetful@example.com", testPassword), http.StatusUnauthorized, "invalid_credentials")
	m := e.login("forgetful@example.com", resetPassword)
	expect(t, m, http.StatusOK, "")
	if m.json(t)["user"].(map[string]any)["email_verified"] != true {
		t.Errorf("after a reset by mail: got email_verified false, want true")
	}
	// Every session from before the reset is gone.
	expect(t, e.refresh(refresh), http.StatusUnauthorized, "invalid_token")
	if got := e.revokedReason(refresh); got == nil || *got != "password_reset" {
		t.Fatalf("revoked_reason: got %v, want password_reset", got)
	}
}

func TestPasswordResetTokenExpiredOrSuperseded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(map[string]any{"email": "twice@example.com"})
	resetTokens := func() []string {
		var out []string
		for _, m := range e.mailsTo("twice@example.com") {
			if strings.Contains(m, "/reset-password") {
				out = append(out, tokenIn(t, m, "/reset-password"))
			}
		}
		return out
	}
	e.forgot("twice@example.com")
	expired := resetTokens()[0]
	if _, err := e.pool.Exec(context.Background(),
		`UPDATE user_tokens SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' WHERE purpose = 'password_reset'`); err != nil {
		t.Fatal(err)
	}
	// The per-address mail count ages with it.
	if _, err := e.pool.Exec(context.Background(), `UPDATE rate_events SET created_at = now() - interval '2 hours' WHERE bucket = 'mail.password_reset'`); err != nil {
		t.Fatal(err)
	}
	expect(t, e.reset(expired, resetPassword), http.StatusUnauthorized, "invalid_token")

	e.forgot("twice@example.com")
	e.forgot("twice@example.com")
	all := resetTokens()
	if len(all) != 3 {
		t.Fatalf("got %d reset mails, want 3", len(all))
	}
	expect(t, e.reset(all[1], resetPassword), http.StatusNoContent, "")
	// Using one link spends the others.
	expect(t, e.reset(all[2], resetPassword+"!"), http.StatusUnauthorized, "invalid_token")
	expect(t, e.login("twice@example.com", resetPassword), http.StatusOK, "")

	// No inbox flooding: past MailsPerHour (5) links in the last hour the
	// answer stays 202 and the mail stops. The first link is two hours old.
	for range 5 {
		e.forgot("twice@example.com")
	}
	if got := len(resetTokens()); got != 1+5 {
		t.Fatalf("got %d reset mails, want 6 (one old, five within the hour)", got)
	}
}

func TestVerifyEmailByMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	access, _ := tokens(e.register(map[string]any{"email": "verify.me@example.com"}))
	mails := e.mailsTo("verify.me@example.com")
	if len(mails) != 1 {
		t.Fatalf("got %d mails after sign-up, want 1", len(mails))
	}
	token := tokenIn(t, mails[0], "/verify-email")
	// Followed signed in to the account, as a client that holds its token
	// does: the password and sessions stay.
	verify := func(token string) response {
		return e.do("POST", "/api/v1/auth/email/verify", access, map[string]any{"token": token})
	}
	expect(t, verify(token), http.StatusNoContent, "")
	expect(t, verify(token), http.StatusUnauthorized, "invalid_token")
	if got := e.do("GET", "/api/v1/users/me", access, nil).json(t)["email_verified"]; got != true {
		t.Fatalf("email_verified: got %v, want true", got)
	}
	// Nothing to resend for a verified address.
	expect(t, e.do("POST", "/api/v1/auth/email/verify/resend", access, nil), http.StatusAccepted, "")
	if n := len(e.mailsTo("verify.me@example.com")); n != 1 {
		t.Fatalf("got %d mails after resending for a verified address, want 1", n)
	}

	// A new address waits for its own link; a newer change voids the
	// older change's link.
	change := func(to string) {
		t.Helper()
		r := e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": to, "current_password": testPassword})
		expect(t, r, http.StatusOK, "")
		if m := r.json(t); m["email"] != "verify.me@example.com" || m["pending_email"] != to {
			t.Fatalf("after asking for %s: got email %v pending %v", to, m["email"], m["pending_email"])
		}
	}
	change("new.me@example.com")
	newMails := e.mailsTo("new.me@example.com")
	if len(newMails) != 1 {
		t.Fatalf("got %d mails to the new address, want 1", len(newMails))
	}
	newToken := tokenIn(t, newMails[0], "/verify-email")
	change("third@example.com")
	expect(t, verify(newToken), http.StatusUnauthorized, "invalid_token")
	thirdToken := tokenIn(t, e.mailsTo("third@example.com")[0], "/verify-email")
	expect(t, verify(thirdToken), http.StatusNoContent, "")
	if m := e.do("GET", "/api/v1/users/me", access, nil).json(t); m["email"] != "third@example.com" || m["email_verified"] != true || m["pending_email"] != nil {
		t.Fatalf("after confirming: got email %v verified %v pending %v", m["email"], m["email_verified"], m["pending_email"])
	}

	// Resend needs an address and a signed-in caller.
	noEmail, _ := tokens(e.register(map[string]any{"username": "no_mail"}))
	expect(t, e.do("POST", "/api/v1/auth/email/verify/resend", noEmail, nil), http.StatusUnprocessableEntity, "validation_failed")
	expect(t, e.do("POST", "/api/v1/auth/email/verify/resend", "", nil), http.StatusUnauthorized, "invalid_token")
}

// A reset link mailed to an address the account has since given up is void.
func TestPasswordResetLinkDiesWithOldAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	access, _ := tokens(e.register(map[string]any{"email": "old@example.com"}))
	e.forgot("old@example.com")
	if _, err := e.outbox.RunOnce(context.Background(), 20); err != nil {
		t.Fatal(err)
	}
	var resetMail string
	for _, m := range e.mailsTo("old@example.com") {
		if strings.Contains(m, "/reset-password?token=") {
			resetMail = m
		}
	}
	token := tokenIn(t, resetMail, "/reset-password")
	expect(t, e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": "new@example.com", "current_password": testPassword}), http.StatusOK, "")
	confirm := tokenIn(t, e.mailsTo("new@example.com")[0], "/verify-email")
	expect(t, e.do("POST", "/api/v1/auth/email/verify", access, map[string]any{"token": confirm}), http.StatusNoContent, "")
	expect(t, e.reset(token, resetPassword), http.StatusUnauthorized, "invalid_token")
	expect(t, e.login("new@example.com", testPassword), http.StatusOK, "")
}

// TestSecurityNotices: a password change, a password reset and an email
// change each mail the account's address a notice, rendered from the
// templates into a text and an HTML part.
func TestSecurityNotices(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const ann = "ann.notice@example.com"
	access, _ := tokens(e.register(map[string]any{"email": ann}))
	before := len(e.messagesTo(ann)) // the verification mail

	// notice returns the one new mail to address since seen, checking
	// that both its parts carry each of want.
	notice := func(address string, seen int, subject string, want ...string) int {
		t.Helper()
		msgs := e.messagesTo(address)
		if len(msgs) != seen+1 {
			t.Fatalf("got %d new mails to %s, want 1 (%s)", len(msgs)-seen, address, subject)
		}
		h, parts, err := msgs[seen].Parts()
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); got != subject {
			t.Errorf("subject: got %q, want %q", got, subject)
		}
		for _, part := range []string{"text/plain", "text/html"} {
			for _, w := range want {
				if !strings.Contains(parts[part], w) {
					t.Errorf("%s: %s part lacks %q:\n%s", subject, part, w, parts[part])
				}
			}
		}
		return len(msgs)
	}

	expect(t, e.do("POST", "/api/v1/auth/password/change", access,
		map[string]any{"current_password": testPassword, "new_password": "a changed passphrase"}), http.StatusNoContent, "")
	seen := notice(ann, before, "Your password was changed", ann, "Every other session was signed out")

	// A refused change mails nothing.
	expect(t, e.do("POST", "/api/v1/auth/password/change", access,
		map[string]any{"current_password": "not the password", "new_password": "yet another passphrase"}), http.StatusUnprocessableEntity, "validation_failed")
	if n := len(e.messagesTo(ann)); n != seen {
		t.Fatalf("a refused password change: got %d mails, want %d", n, seen)
	}

	e.forgot(ann)
	token := e.mailLink(ann, "/reset-password")
	seen++ // the reset mail
	expect(t, e.reset(token, resetPassword), http.StatusNoContent, "")
	seen = notice(ann, seen, "Your password was changed", ann, "reset with a link mailed to this address")

	access, _ = tokens(e.login(ann, resetPassword).json(t))
	const next = "ann.next@example.com"
	expect(t, e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": next, "current_password": resetPassword}), http.StatusOK, "")
	notice(ann, seen, "Your email address is being changed", ann, next)
	if link := e.mailLink(next, "/verify-email"); link == "" {
		t.Fatal("the new address got no confirmation link")
	}
}
