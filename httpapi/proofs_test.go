package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/userd/userd/password"
	"github.com/userd/userd/service"
)

// A squatter registered the victim's address, asked for an email change
// to an address of their own and kept the change link. The victim reset
// the password through the mailbox and used the account. The squatter's
// link, followed later, must not take the account back: the reset proved
// the address, which cancelled the pending change and its link.
func TestPendingEmailChangeDiesWithOwnersProof(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const victim, squatter2 = "victim@example.com", "squatter2@example.com"
	const squatterPassword = "squatter's passphrase"
	reg := e.register(map[string]any{"email": victim, "password": squatterPassword})
	accountID := userID(t, reg)
	access, _ := tokens(reg)
	r := e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": squatter2, "current_password": squatterPassword})
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); m["pending_email"] != squatter2 {
		t.Fatalf("after asking for the change: got pending %v, want %s", m["pending_email"], squatter2)
	}
	changeLink := e.mailLink(squatter2, "/verify-email")

	// The victim finds the address taken and resets the password by mail.
	e.forgot(victim)
	expect(t, e.reset(e.mailLink(victim, "/reset-password"), resetPassword), http.StatusNoContent, "")
	in := e.login(victim, resetPassword)
	expect(t, in, http.StatusOK, "")
	victimAccess, victimRefresh := tokens(in.json(t))
	if u := in.json(t)["user"].(map[string]any); u["email_verified"] != true || u["pending_email"] != nil {
		t.Fatalf("after the reset: got email_verified %v pending %v, want true, null", u["email_verified"], u["pending_email"])
	}
	expect(t, e.do("PATCH", "/api/v1/users/me", victimAccess, map[string]any{"bio": "the victim's own"}), http.StatusOK, "")

	// The squatter's change link, signed out, is dead.
	expect(t, e.do("POST", "/api/v1/auth/email/verify", "", map[string]any{"token": changeLink}), http.StatusUnauthorized, "invalid_token")
	m := e.me(victimAccess)
	if idOf(m) != accountID || m["email"] != victim || m["pending_email"] != nil {
		t.Fatalf("the victim's account: got id %v email %v pending %v, want %d %s null", m["id"], m["email"], m["pending_email"], accountID, victim)
	}
	expect(t, e.refresh(victimRefresh), http.StatusOK, "")
	for _, mail := range e.mailsTo(squatter2) {
		if strings.Contains(mail, "/reset-password") {
			t.Fatal("a reset link went to the squatter's address")
		}
	}
}

// A password change cancels a pending email change: its link dies.
func TestPasswordChangeVoidsEmailChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := e.register(map[string]any{"email": "owner@example.com"})
	access, _ := tokens(reg)
	expect(t, e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": "elsewhere@example.com", "current_password": testPassword}), http.StatusOK, "")
	link := e.mailLink("elsewhere@example.com", "/verify-email")
	expect(t, e.do("POST", "/api/v1/auth/password/change", access, map[string]any{"current_password": testPassword, "new_password": resetPassword}), http.StatusNoContent, "")
	expect(t, e.do("POST", "/api/v1/auth/email/verify", access, map[string]any{"token": link}), http.StatusUnauthorized, "invalid_token")
	if m := e.me(access); m["email"] != "owner@example.com" || m["pending_email"] != nil {
		t.Fatalf("after the password change: got email %v pending %v, want owner@example.com, null", m["email"], m["pending_email"])
	}
}

// An invitation accepted proves the address: a pending change of the
// account and its link die, and so does an older verification link.
func TestInvitationAcceptClearsPendingEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	adminTok, _ := e.signIn("org-admin", map[string]any{"email": "boss@example.com", "email_verified": true})
	r := e.do("POST", "/api/v1/organizations", adminTok, map[string]any{"name": "Initech"})
	expect(t, r, http.StatusCreated, "")
	orgID := idOf(r.json(t))
	reg := e.register(map[string]any{"email": "invitee@example.com"})
	access, _ := tokens(reg)
	verifyLink := e.mailLink("invitee@example.com", "/verify-email")
	expect(t, e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": "other@example.com", "current_password": testPassword}), http.StatusOK, "")
	changeLink := e.mailLink("other@example.com", "/verify-email")
	invitation := e.invite(adminTok, orgID, "invitee@example.com")
	expect(t, e.do("POST", "/api/v1/invitations/accept", access, map[string]any{"token": invitation}), http.StatusOK, "")
	if m := e.me(access); m["email_verified"] != true || m["pending_email"] != nil {
		t.Fatalf("after accepting: got email_verified %v pending %v, want true, null", m["email_verified"], m["pending_email"])
	}
	expect(t, e.do("POST", "/api/v1/auth/email/verify", access, map[string]any{"token": changeLink}), http.StatusUnauthorized, "invalid_token")
	expect(t, e.do("POST", "/api/v1/auth/email/verify", access, map[string]any{"token": verifyLink}), http.StatusUnauthorized, "invalid_token")
}

// auditCount counts the audit events of action about user.
func (e *env) auditCount(user int64, action string) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_events WHERE target_user_id = $1 AND action = $2", user, action).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// addressesOf reads a user's email and phone as stored.
func (e *env) addressesOf(user int64) (email, phone *string) {
	e.t.Helper()
	if err := e.pool.QueryRow(context.Background(), "SELECT email, phone FROM users WHERE id = $1", user).Scan(&email, &phone); err != nil {
		e.t.Fatal(err)
	}
	return email, phone
}

// A squatter registered the owner's phone number with a password; userd
// sends no SMS, so only the IdP's verified claim can prove the number.
// That proof takes the number: the squatter's account loses it.
func TestUnprovenPhoneMovesToProver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	squatter := userID(t, e.register(map[string]any{"phone": "+14155552671", "password": "squatter's passphrase"}))
	r := e.do("GET", "/api/v1/users/me", e.idp.sign("phone-owner", map[string]any{"phone": "14155552671", "phone_verified": true}), nil)
	expect(t, r, http.StatusOK, "")
	owner := r.json(t)
	if idOf(owner) == squatter || owner["phone"] != "+14155552671" || owner["phone_verified"] != true {
		t.Fatalf("the owner's sign-in: got id %v phone %v verified %v, want a new user with the proven number", owner["id"], owner["phone"], owner["phone_verified"])
	}
	if _, phone := e.addressesOf(squatter); phone != nil {
		t.Fatalf("the squatter still holds %s", *phone)
	}
	if n := e.auditCount(squatter, "user.address_released"); n != 1 {
		t.Fatalf("user.address_released events of the squatter: got %d, want 1", n)
	}
	expect(t, e.login("+14155552671", "squatter's passphrase"), http.StatusUnauthorized, "invalid_credentials")
}

// The email twin: the squatter's account loses the address to the IdP
// sign-in that proves it, the address is told, and an invitation pending
// for the address is the prover's to accept.
func TestUnprovenEmailMovesToProver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const victim = "victim@example.com"
	reg := e.register(map[string]any{"email": victim, "password": "squatter's passphrase"})
	squatter := userID(t, reg)
	squatterAccess, _ := tokens(reg)
	adminTok, _ := e.orgUser("moves-admin")
	r := e.do("POST", "/api/v1/organizations", adminTok, map[string]any{"name": "Hooli"})
	expect(t, r, http.StatusCreated, "")
	invitation := e.invite(adminTok, idOf(r.json(t)), victim)
	verifyLink := e.mailLink(victim, "/verify-email") // the squatter's sign-up link

	victimTok := e.idp.sign("victim-sub", map[string]any{"email": victim, "email_verified": true})
	r = e.do("GET", "/api/v1/users/me", victimTok, nil)
	expect(t, r, http.StatusOK, "")
	owner := r.json(t)
	if idOf(owner) == squatter || owner["email"] != victim || owner["email_verified"] != true {
		t.Fatalf("the owner's sign-in: got id %v email %v verified %v, want a new user with the proven address", owner["id"], owner["email"], owner["email_verified"])
	}
	if email, _ := e.addressesOf(squatter); email != nil {
		t.Fatalf("the squatter still holds %s", *email)
	}
	if n := e.auditCount(squatter, "user.address_released"); n != 1 {
		t.Fatalf("user.address_released events of the squatter: got %d, want 1", n)
	}
	var told bool
	for _, m := range e.mailsTo(victim) {
		told = told || strings.Contains(m, "without ever proving it")
	}
	if !told {
		t.Fatal("the address got no notice that it was released")
	}
	// The links mailed for the squatter's account died with the address.
	expect(t, e.do("POST", "/api/v1/auth/email/verify", "", map[string]any{"token": verifyLink}), http.StatusUnauthorized, "invalid_token")
	expect(t, e.do("POST", "/api/v1/invitations/accept", squatterAccess, map[string]any{"token": invitation}), http.StatusForbidden, "forbidden")
	expect(t, e.do("POST", "/api/v1/invitations/accept", victimTok, map[string]any{"token": invitation}), http.StatusOK, "")
}

// An email change proves the new address when its link is followed: an
// account holding that address unproven does not block the change and
// loses the address; one holding it proven does (409).
func TestEmailChangeTakesUnprovenAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const wanted = "wanted@example.com"
	squatter := userID(t, e.register(map[string]any{"email": wanted, "password": "squatter's passphrase"}))
	access, _ := tokens(e.register(map[string]any{"email": "mover@example.com"}))
	expect(t, e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": wanted, "current_password": testPassword}), http.StatusOK, "")
	expect(t, e.do("POST", "/api/v1/auth/email/verify", access, map[string]any{"token": e.mailLink(wanted, "/verify-email")}), http.StatusNoContent, "")
	if m := e.me(access); m["email"] != wanted || m["email_verified"] != true {
		t.Fatalf("after the change: got email %v verified %v, want %s, true", m["email"], m["email_verified"], wanted)
	}
	if email, _ := e.addressesOf(squatter); email != nil {
		t.Fatalf("the squatter still holds %s", *email)
	}
	if n := e.auditCount(squatter, "user.address_released"); n != 1 {
		t.Fatalf("user.address_released events of the squatter: got %d, want 1", n)
	}
	// Proven now: another change to it is refused.
	other, _ := tokens(e.register(map[string]any{"email": "third@example.com"}))
	expect(t, e.do("PATCH", "/api/v1/users/me", other, map[string]any{"email": wanted, "current_password": testPassword}), http.StatusConflict, "email_taken")
}

// freshSignIn adds to claims an amr of a password sign-in to the IdP
// made now: a token fresh enough to link.
func freshSignIn(claims map[string]any) map[string]any {
	if claims == nil {
		claims = map[string]any{}
	}
	claims["amr"] = []map[string]any{{"method": "password", "timestamp": time.Now().Unix()}}
	return claims
}

// Linking someone else's IdP token: the token must be fresh, the account's
// password given (or its sign-in recent), the login must not have an
// account of its own holding data, and the account's address is told.
func TestLinkIdentityNeedsFreshTokenAndPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const owner = "linker@example.com"
	reg := e.register(map[string]any{"email": owner})
	access, _ := tokens(reg)
	accountID := userID(t, reg)
	link := func(token string, pw any) response {
		body := map[string]any{"token": token}
		if pw != nil {
			body["current_password"] = pw
		}
		return e.do("POST", "/api/v1/users/me/identities", access, body)
	}

	// A replayed token: signed in to the IdP 10 minutes ago.
	old := time.Now().Add(-10 * time.Minute).Unix()
	stale := e.idp.sign("victim-sub", map[string]any{"iat": old, "amr": []map[string]any{{"method": "password", "timestamp": old}}})
	expect(t, link(stale, testPassword), http.StatusUnprocessableEntity, "validation_failed")
	// Issued now, but of an old sign-in (a refreshed token) is not fresh either.
	refreshed := e.idp.sign("victim-sub", map[string]any{"amr": []map[string]any{{"method": "password", "timestamp": old}}})
	expect(t, link(refreshed, testPassword), http.StatusUnprocessableEntity, "validation_failed")

	// A fresh token, but the sign-in to userd is 10 minutes old: the
	// password is needed, and must be right.
	if _, err := e.pool.Exec(context.Background(), "UPDATE sessions SET created_at = now() - interval '10 minutes' WHERE user_id = $1", accountID); err != nil {
		t.Fatal(err)
	}
	tok := e.idp.sign("linker-sub", freshSignIn(nil))
	expect(t, link(tok, nil), http.StatusUnprocessableEntity, "validation_failed")
	expect(t, link(tok, "not the password"), http.StatusUnprocessableEntity, "validation_failed")
	if n := identitiesOf(t, e, accountID); n != 0 {
		t.Fatalf("after refused links: got %d identities, want 0", n)
	}
	expect(t, link(tok, testPassword), http.StatusCreated, "")
	var told bool
	for _, m := range e.mailsTo(owner) {
		told = told || strings.Contains(m, "was linked to your account")
	}
	if !told {
		t.Fatal("the account's address got no notice of the link")
	}

	// A login with an account of its own holding data is not taken over
	// (409).
	otherTok := e.idp.sign("has-account", freshSignIn(map[string]any{"email": "has@example.com", "email_verified": true}))
	e.me(otherTok)
	expect(t, e.do("PATCH", "/api/v1/users/me", otherTok, map[string]any{"first_name": "Has"}), http.StatusOK, "")
	second, _ := tokens(e.register(map[string]any{"email": "second@example.com"}))
	expect(t, e.do("POST", "/api/v1/users/me/identities", second, map[string]any{"token": otherTok}), http.StatusConflict, "conflict")
	// A sign-in of the last 5 minutes stands in for the password.
	expect(t, e.do("POST", "/api/v1/users/me/identities", second, map[string]any{"token": e.idp.sign("second-sub", freshSignIn(nil))}), http.StatusCreated, "")
}

// Look-alike addresses are one address: stored, compared and mailed in
// the canonical form (NFKC, lower case, IDNA ASCII domain), and the
// database's unique index agrees with the Go form both ways.
func TestEmailLookAlikesAreOneAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const kelvin = "mar\u212a@example.com" // K = U+212A KELVIN SIGN
	reg := e.register(map[string]any{"email": kelvin})
	if got := reg["user"].(map[string]any)["email"]; got != "mark@example.com" {
		t.Fatalf("registered %q: got email %v, want mark@example.com", kelvin, got)
	}
	r := e.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "Mark@Example.com", "password": testPassword})
	expect(t, r, http.StatusConflict, "email_taken")
	// Forgot-password for the plain spelling mails the plain spelling.
	e.forgot("mark@example.com")
	e.mailLink("mark@example.com", "/reset-password")
	if n := len(e.mailsTo(kelvin)); n != 0 {
		t.Fatalf("mails to the Kelvin spelling: got %d, want 0", n)
	}
	// A non-ASCII local part (a Cyrillic а) is refused; an IDN domain is
	// stored as punycode.
	r = e.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "m\u0430rk@example.com", "password": testPassword})
	expect(t, r, http.StatusUnprocessableEntity, "validation_failed")
	idn := e.register(map[string]any{"email": "Anna@Bücher.Example"})
	if got := idn["user"].(map[string]any)["email"]; got != "anna@xn--bcher-kva.example" {
		t.Fatalf("IDN domain: got %v, want anna@xn--bcher-kva.example", got)
	}

	// Every pair: equal in Go exactly when PostgreSQL's unique index
	// collides, and the other way.
	spellings := []string{
		"mark@example.com", kelvin, "MARK@EXAMPLE.COM", "\uff4dark@example.com", // fullwidth m
		"mark@ex\u0430mple.com", "mark@example.org", "anna@bücher.example", "anna@xn--bcher-kva.example",
		"ANNA@B\u00dcCHER.EXAMPLE", "mar\u212a@EXAMPLE.com", "m.ark@example.com",
	}
	ctx := context.Background()
	for i, a := range spellings {
		for _, b := range spellings[i+1:] {
			ca, okA := service.NormalizeEmail(a)
			cb, okB := service.NormalizeEmail(b)
			if !okA || !okB {
				t.Fatalf("%q or %q is not an address", a, b)
			}
			collided := func() bool {
				tx, err := e.pool.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback(ctx) //nolint:errcheck // nothing is kept
				// The addresses registered above are taken off in this
				// transaction only.
				if _, err := tx.Exec(ctx, "UPDATE users SET email = NULL, email_verified = false"); err != nil {
					t.Fatal(err)
				}
				if _, err := tx.Exec(ctx, "INSERT INTO users (email) VALUES ($1)", ca); err != nil {
					t.Fatalf("insert %q: %v", ca, err)
				}
				_, err = tx.Exec(ctx, "INSERT INTO users (email) VALUES ($1)", cb)
				var pgErr *pgconn.PgError
				collided := errors.As(err, &pgErr) && pgErr.ConstraintName == "users_email_key"
				if err != nil && !collided {
					t.Fatalf("insert %q after %q: %v", cb, ca, err)
				}
				return collided
			}()
			if collided != (ca == cb) {
				t.Errorf("%q and %q: equal in Go %v (%q, %q), collide in PostgreSQL %v", a, b, ca == cb, ca, cb, collided)
			}
			// What lower() alone folded together (the index before
			// canonical forms) is one address in Go too.
			var folded bool
			if err := e.pool.QueryRow(ctx, "SELECT lower($1) = lower($2)", a, b).Scan(&folded); err != nil {
				t.Fatal(err)
			}
			if folded && ca != cb {
				t.Errorf("%q and %q: lower() folds them together, Go does not (%q, %q)", a, b, ca, cb)
			}
		}
	}
	// A spelling that is not canonical cannot be stored by any path.
	for _, raw := range []string{kelvin, "Mark@example.com", "anna@bücher.example"} {
		_, err := e.pool.Exec(ctx, "INSERT INTO users (email) VALUES ($1)", raw)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.ConstraintName != "users_email_canonical_chk" {
			t.Errorf("storing %q: got %v, want users_email_canonical_chk", raw, err)
		}
	}
}

// An amr keeps every method of the IdP session: an old magic link proved
// the address of its day, not the email claim of a later token. Only the
// newest entry counts, and only when it is the token's authentication.
func TestOldMagicLinkProvesNoCurrentEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Now().Unix()
	dayAgo := now - 24*3600
	cases := []struct {
		sub      string
		amr      []map[string]any
		verified bool
	}{
		{"ml-then-password", []map[string]any{{"method": "magiclink", "timestamp": dayAgo}, {"method": "password", "timestamp": now}}, false},
		{"password-then-old-ml", []map[string]any{{"method": "password", "timestamp": now}, {"method": "magiclink", "timestamp": dayAgo}}, false},
		{"ml-long-ago", []map[string]any{{"method": "magiclink", "timestamp": dayAgo}}, false},
		{"ml-now", []map[string]any{{"method": "magiclink", "timestamp": now}}, true},
	}
	for _, c := range cases {
		r := e.do("GET", "/api/v1/users/me", e.idp.sign(c.sub, map[string]any{"email": c.sub + "@example.com", "amr": c.amr}), nil)
		expect(t, r, http.StatusOK, "")
		m := r.json(t)
		if c.verified != (m["email"] == c.sub+"@example.com" && m["email_verified"] == true) {
			t.Errorf("%s: got email %v verified %v, want the claim proven: %v", c.sub, m["email"], m["email_verified"], c.verified)
		}
	}
}

// The email change of a password account checks the password under a
// hashing place like every hash: it waits while the only slot is held.
func TestEmailChangePasswordCheckTakesHashingSlot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	access, _ := tokens(e.register(map[string]any{"email": "queued@example.com"}))
	gate := password.NewGate(password.GateConfig{Concurrency: 1, Queue: 4, Wait: time.Minute})
	e.gate = gate
	e.reopen()
	release, err := gate.Enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(2*time.Second, release)
	held := time.Now()
	expect(t, e.do("PATCH", "/api/v1/users/me", access, map[string]any{"email": "moved@example.com", "current_password": testPassword}), http.StatusOK, "")
	if waited := time.Since(held); waited < 2*time.Second {
		t.Fatalf("email change answered %s after the slot was taken, want after its release (2 s): its password check skipped the gate", waited)
	}
}

// A login whose own account holds nothing (it signed in once) is absorbed
// by an explicit link: the login moves to the linking account and the
// empty account is deleted. One whose account holds anything (a profile
// field, a follow) stays where it is (409).
func TestLinkIdentityAbsorbsEmptyAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	onceTok := e.idp.sign("once-sub", freshSignIn(map[string]any{"email": "once@example.com", "email_verified": true}))
	emptyID := idOf(e.me(onceTok))
	reg := e.register(map[string]any{"email": "keeper@example.com"})
	access, _ := tokens(reg)
	keeperID := userID(t, reg)

	r := e.do("POST", "/api/v1/users/me/identities", access, map[string]any{"token": onceTok})
	expect(t, r, http.StatusCreated, "")
	if got := idOf(e.me(onceTok)); got != keeperID {
		t.Fatalf("the linked login signs in to user %d, want the linking account %d", got, keeperID)
	}
	var deleted bool
	var email *string
	if err := e.pool.QueryRow(context.Background(), "SELECT deleted_at IS NOT NULL, email FROM users WHERE id = $1", emptyID).Scan(&deleted, &email); err != nil {
		t.Fatal(err)
	}
	if !deleted || email != nil {
		t.Fatalf("the empty account: got deleted %v, email %v; want deleted and anonymized", deleted, email)
	}
	expect(t, e.do("GET", fmt.Sprintf("/api/v1/users/%d", emptyID), access, nil), http.StatusNotFound, "not_found")

	// Accounts holding data keep their login: a follow counts as data.
	followerTok := e.idp.sign("follower-sub", freshSignIn(nil))
	followerID := idOf(e.me(followerTok))
	expect(t, e.do("PUT", fmt.Sprintf("/api/v1/users/%d/follow", keeperID), followerTok, nil), http.StatusNoContent, "")
	second, _ := tokens(e.register(map[string]any{"email": "second@example.com"}))
	expect(t, e.do("POST", "/api/v1/users/me/identities", second, map[string]any{"token": followerTok}), http.StatusConflict, "conflict")
	if got := idOf(e.me(followerTok)); got != followerID {
		t.Fatalf("a login whose account holds data signs in to user %d, want its own %d", got, followerID)
	}
}
