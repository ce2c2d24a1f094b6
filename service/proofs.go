package service

import (
	"context"
	"errors"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/mail"
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
//   - A verification or email-change link is followed by the account's
//     holder: signed in to it, or giving its password (Accounts.VerifyEmail).
//     It keeps every way in. Without either nothing changes and the link
//     stays usable: the mailbox's owner who is not the account's takes it
//     with a password reset instead.
//   - A password-reset link that proves an address the account had not
//     proven removes every other way in, in the same transaction: other
//     identities, the password set before, every session (so their access
//     tokens too).

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
	return errors.Is(err, ErrEmailLinkRequired) || errors.Is(err, ErrPhoneLinkRequired)
}

// proved is what removing the other ways in took away.
type proved struct {
	identities int64
	password   bool
	sessions   int64
}

// addressProvenByHolder audits the proof of u's address by its holder
// (signed in, or with the password), in q's transaction: no way in is
// removed.
func addressProvenByHolder(ctx context.Context, q *dbgen.Queries, u dbgen.User, via string, signedIn bool) error {
	return audit(ctx, q, &u.ID, &u.ID, "user.address_proven", map[string]any{"via": via, "signed_in": signedIn, "password": !signedIn})
}

// signedInAs reports whether by is a signed-in principal of user id.
func signedInAs(by *Principal, id int64) bool { return by != nil && by.User.ID == id }

// emailProvenSignedIn applies a proof of u's email address made by by,
// signed in to u (via: identity_link, invitation): unless the address was
// proven already, the proof is recorded (proveAddress) and the address
// marked verified; either way the outstanding email-change and
// verification tokens die (addressProofClears). u.Email must be set.
func emailProvenSignedIn(ctx context.Context, q *dbgen.Queries, u dbgen.User, by Principal, via string) error {
	if !u.EmailVerified {
		if _, err := proveAddress(ctx, q, u, &by, via, "address_proven"); err != nil {
			return err
		}
		if err := q.UserSetEmailVerified(ctx, dbgen.UserSetEmailVerifiedParams{ID: u.ID, Email: *u.Email}); err != nil {
			return err
		}
	}
	return addressProofClears(ctx, q, u)
}

// proveAddress records that a link or a login (via: password_reset,
// invitation, identity_link) proved an address u had not proven, in
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

// addressProofClears does what every proof of u's current address does,
// whoever follows it (a reset, a verification, an invitation accept, an
// IdP link), in q's transaction: a pending email change is dropped, and
// every outstanding email-change and verification token (all issued
// before this proof) dies. Otherwise a change asked for before the proof
// (by someone who held the account then) would take the account away
// from the prover later.
func addressProofClears(ctx context.Context, q *dbgen.Queries, u dbgen.User) error {
	if u.PendingEmail != nil {
		if _, err := q.UserSetPendingEmail(ctx, dbgen.UserSetPendingEmailParams{ID: u.ID}); err != nil {
			return err
		}
	}
	return voidTokens(ctx, q, u.ID, purposeEmailChange, purposeEmailVerification)
}

// voidTokens spends every live token of userID with one of purposes, in
// q's transaction.
func voidTokens(ctx context.Context, q *dbgen.Queries, userID int64, purposes ...string) error {
	for _, purpose := range purposes {
		if err := q.UserTokenUseAllByUser(ctx, dbgen.UserTokenUseAllByUserParams{UserID: userID, Purpose: purpose}); err != nil {
			return err
		}
	}
	return nil
}

// Kinds of address an account holds.
const (
	addressEmail = "email"
	addressPhone = "phone"
)

// releaseAddress takes addr (kind addressEmail or addressPhone) off
// holder, who holds it unproven, because another account is proving it:
// an address held unproven never blocks a proof of it. In q's
// transaction; the links mailed to a released email die with it, the
// release is audited (user.address_released) and, for an email, the
// address (its prover's mailbox) is told through notices (nil: no
// mail). Pending invitations to the address are the address's, so they
// follow it to the prover.
// Errors: errLostRace when holder proved the address meanwhile or no
// longer holds it.
func releaseAddress(ctx context.Context, q *dbgen.Queries, notices *Accounts, holder dbgen.User, kind, addr string) error {
	var err error
	if kind == addressEmail {
		_, err = q.UserReleaseEmail(ctx, dbgen.UserReleaseEmailParams{ID: holder.ID, Email: addr})
	} else {
		_, err = q.UserReleasePhone(ctx, dbgen.UserReleasePhoneParams{ID: holder.ID, Phone: addr})
	}
	if noRows(err) {
		return errLostRace
	}
	if err != nil {
		return err
	}
	if kind == addressEmail {
		if err := voidTokens(ctx, q, holder.ID, purposeEmailVerification, purposePasswordReset); err != nil {
			return err
		}
	}
	if err := audit(ctx, q, nil, &holder.ID, "user.address_released", map[string]any{"kind": kind}); err != nil {
		return err
	}
	if kind != addressEmail || notices == nil {
		return nil
	}
	return notices.notify(ctx, q, holder.ID, mail.AddressReleased, addr, mail.Data{Email: addr})
}

// addressHolder returns the live account that holds addr (kind
// addressEmail or addressPhone), nil when none does.
func addressHolder(ctx context.Context, q *dbgen.Queries, kind, addr string) (*dbgen.User, error) {
	var u dbgen.User
	var err error
	if kind == addressEmail {
		u, err = q.UserGetByEmail(ctx, addr)
	} else {
		u, err = q.UserGetByPhone(ctx, addr)
	}
	if noRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// holdsProven reports whether u proved its address of kind.
func holdsProven(u dbgen.User, kind string) bool {
	if kind == addressEmail {
		return u.EmailVerified
	}
	return u.PhoneVerified
}
