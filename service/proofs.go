package service

import (
	"context"

	"github.com/userd/userd/dbgen"
)

// The principle of these rules: whoever proves a mailbox ends up with an
// account that nobody else can enter.
//
//   - An address from an IdP claim lands on the user row only when the
//     claim is verified; otherwise it stays on the identity.
//   - An IdP login links into an existing account by itself only when both
//     sides proved the address and the account has no password. An account
//     with a password is linked only explicitly, signed in with the
//     password (Auth.LinkIdentity); a plain IdP sign-in gets
//     ErrEmailLinkRequired (409 email_taken) instead.
//   - A link that proves an address the account had not proven (an email
//     verification, an email change, a password reset) removes every other
//     way in, in the same transaction: other identities, a password set
//     before, every session (so their access tokens too). Unless it is
//     followed by someone signed in to that very account, who is then both
//     the prover and the holder of those ways in.

// ErrEmailLinkRequired is the email_taken of an IdP sign-in whose verified
// address belongs to an account with a password: linking it needs the
// password.
var ErrEmailLinkRequired = &Error{Code: CodeEmailTaken, Message: "an account with this email address already exists and has a password: " +
	"sign in with the password, then link this login with POST /api/v1/users/me/identities"}

// ErrPhoneLinkRequired is ErrEmailLinkRequired for a phone number.
var ErrPhoneLinkRequired = &Error{Code: CodePhoneTaken, Message: "an account with this phone number already exists and has a password: " +
	"sign in with the password, then link this login with POST /api/v1/users/me/identities"}

// isLinkRequired reports whether err is one of the link-required errors,
// which are not races to retry.
func isLinkRequired(err error) bool {
	e, ok := ErrorOf(err)
	return ok && (e == ErrEmailLinkRequired || e == ErrPhoneLinkRequired)
}

// proved is what removing the other ways in took away.
type proved struct {
	identities int64
	password   bool
	sessions   int64
}

// signedInAs reports whether by is a signed-in principal of user id.
func signedInAs(by *Principal, id int64) bool { return by != nil && by.User.ID == id }

// proveAddress records that a link (via: email_verification,
// email_change, password_reset) proved an address u had not proven, in
// q's transaction. Unless by is signed in to u, every other way in is
// removed: identities, the password, every session (revoked with reason).
// The outcome is audited.
func proveAddress(ctx context.Context, q *dbgen.Queries, u dbgen.User, by *Principal, via, reason string) (proved, error) {
	var p proved
	if signedInAs(by, u.ID) {
		return p, audit(ctx, q, &u.ID, &u.ID, "user.address_proven", map[string]any{"via": via, "signed_in": true})
	}
	var err error
	if p.identities, err = q.IdentityDeleteAllByUser(ctx, u.ID); err != nil {
		return p, err
	}
	n, err := q.PasswordCredentialDelete(ctx, u.ID)
	if err != nil {
		return p, err
	}
	p.password = n > 0
	if p.sessions, err = q.SessionRevokeAllByUser(ctx, dbgen.SessionRevokeAllByUserParams{UserID: u.ID, Reason: &reason}); err != nil {
		return p, err
	}
	if err := userEvent(ctx, q, EventSessionRevokedAll, u.ID, "reason", reason); err != nil {
		return p, err
	}
	return p, audit(ctx, q, nil, &u.ID, "user.address_proven", map[string]any{
		"via": via, "signed_in": false,
		"identities_removed": p.identities, "password_removed": p.password, "sessions_revoked": p.sessions,
	})
}
