package service

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/mail"
)

// VerifyEmail follows a mailed link: an email verification (the address
// becomes verified, while it is still the account's) or an email change
// (the pending address becomes the account's, verified). It keeps the
// account whole: password, sessions and tokens stay. Whoever follows it
// must hold the account as well as the mailbox: either by is a principal
// signed in to that account (one click), or pw is the account's password
// (a check that counts against the account's login limit). Otherwise
// nothing changes and the link stays usable; the mailbox's owner who is
// not the account's takes the account with a password reset instead (see
// proofs.go). by may be nil.
// Errors: invalid_token (unknown, used or expired token, or the address
// is no longer the one the link went to), validation_failed (field
// password: missing, wrong, or the account has none to give, so its
// owner signs in first), rate_limited, email_taken (the new address was
// held proven by another account). An email change proves an address
// another account may hold unproven: it moves to the prover
// (takeUnproven).
func (a *Accounts) VerifyEmail(ctx context.Context, by *Principal, token, pw string) error {
	hash, ok := tokenHash(token)
	if !ok {
		return ErrInvalidToken
	}
	purposes := []string{purposeEmailVerification, purposeEmailChange}
	peek, err := a.db.q.UserTokenGetLiveAny(ctx, dbgen.UserTokenGetLiveAnyParams{TokenHash: hash, Purposes: purposes})
	if err != nil {
		return notFoundAs(err, ErrInvalidToken)
	}
	signedIn := signedInAs(by, peek.UserID)
	var checked string // the password hash that pw matched
	if !signedIn {
		if checked, err = a.checkHolder(ctx, peek.UserID, pw); err != nil {
			return err
		}
	}
	return inTx(ctx, a.db, func(q *dbgen.Queries) error {
		t, u, err := useToken(ctx, q, hash, purposes...)
		if err != nil {
			return err
		}
		if u.DeletedAt != nil || t.UserID != peek.UserID {
			return ErrInvalidToken
		}
		if !signedIn {
			// The password checked is still the account's (not changed or
			// reset between the check and now).
			cred, err := q.PasswordCredentialGet(ctx, u.ID)
			if err != nil || cred.Hash != checked {
				return notFoundAs(err, Invalid(FieldError{Field: "password", Message: "is not correct"}))
			}
		}
		switch t.Purpose {
		case purposeEmailVerification:
			if u.Email == nil || !strings.EqualFold(t.Email, *u.Email) {
				return ErrInvalidToken
			}
			if u.EmailVerified {
				return nil
			}
		default: // purposeEmailChange
			if u.PendingEmail == nil || !strings.EqualFold(t.Email, *u.PendingEmail) {
				return ErrInvalidToken
			}
			if err := a.takeUnproven(ctx, q, u.ID, t.Email); err != nil {
				return err
			}
		}
		if err := addressProvenByHolder(ctx, q, u, t.Purpose, signedIn); err != nil {
			return err
		}
		if t.Purpose == purposeEmailVerification {
			if err := addressProofClears(ctx, q, u); err != nil {
				return err
			}
			if err := q.UserSetEmailVerified(ctx, dbgen.UserSetEmailVerifiedParams{ID: u.ID, Email: *u.Email}); err != nil {
				return err
			}
			return emailProvedEvent(ctx, q, u.ID, t.Purpose)
		}
		// Links mailed to the old address die with it.
		for _, purpose := range []string{purposePasswordReset, purposeEmailVerification, purposeEmailChange} {
			if err := q.UserTokenUseAllByUser(ctx, dbgen.UserTokenUseAllByUserParams{UserID: u.ID, Purpose: purpose}); err != nil {
				return err
			}
		}
		if _, err = q.UserConfirmEmail(ctx, dbgen.UserConfirmEmailParams{ID: u.ID, Email: t.Email}); err != nil {
			return err
		}
		return emailProvedEvent(ctx, q, u.ID, t.Purpose)
	})
}

// checkHolder checks that pw is the password of user userID and returns
// its hash. A wrong one counts as a failed login of that user.
// Errors: validation_failed (password: empty, wrong, or the account has
// none), rate_limited, overloaded.
func (a *Accounts) checkHolder(ctx context.Context, userID int64, pw string) (string, error) {
	if pw == "" {
		return "", Invalid(FieldError{Field: "password", Message: "is required: confirm with the account's password, or sign in first"})
	}
	ticket, err := a.hashAdmit()
	if err != nil {
		return "", err
	}
	defer ticket.Cancel()
	at, err := a.beginAttempt(ctx, a.keys.user(userID), false, netip.Addr{}, ticket)
	if err != nil {
		return "", err
	}
	cred, err := a.db.q.PasswordCredentialGet(ctx, userID)
	switch {
	case errors.Is(err, ErrNotFound):
		return "", errors.Join(Invalid(FieldError{Field: "password", Message: "the account has no password: sign in first, then follow the link"}),
			a.forgetAttempt(context.WithoutCancel(ctx), at))
	case err != nil:
		return "", err
	}
	release, err := a.hashSlot(ctx, ticket)
	if err != nil {
		return "", errors.Join(err, a.forgetAttempt(context.WithoutCancel(ctx), at))
	}
	ok, _, err := a.hasher.Verify(pw, cred.Hash)
	release()
	if err != nil {
		return "", fmt.Errorf("verify password of user %d: %w", userID, err)
	}
	if !ok {
		if err := a.failAttempt(ctx, at, userID); err != nil {
			return "", err
		}
		return "", Invalid(FieldError{Field: "password", Message: "is not correct"})
	}
	return cred.Hash, a.forgetAttempt(ctx, at)
}

// takeUnproven moves email to userID, who is proving it, when another
// account holds it unproven (releaseAddress), in q's transaction.
// Errors: email_taken (another account holds it proven).
func (a *Accounts) takeUnproven(ctx context.Context, q *dbgen.Queries, userID int64, email string) error {
	h, err := addressHolder(ctx, q, addressEmail, email)
	if err != nil || h == nil || h.ID == userID {
		return err
	}
	if holdsProven(*h, addressEmail) {
		return ErrEmailTaken
	}
	if err := releaseAddress(ctx, q, a, *h, addressEmail, email); err != nil {
		if errors.Is(err, errLostRace) {
			return ErrEmailTaken // proven meanwhile
		}
		return err
	}
	return nil
}

// EmailChange is a requested change of the account's email: To nil
// removes the address.
type EmailChange struct {
	To              *string
	CurrentPassword *string
}

// checkEmailChange checks the current password of an account that has
// one (confirmPassword), before the transaction of the change.
// Errors: validation_failed (current_password), rate_limited, overloaded.
func (a *Accounts) checkEmailChange(ctx context.Context, userID int64, current *string) error {
	_, err := a.confirmPassword(ctx, userID, current, "is required to change the email of an account with a password")
	return err
}

// confirmPassword checks current against the password of userID, as
// current_password, under a hashing slot like every argon2id run; wrong
// ones count as failed logins of that user. It reports whether the
// account has a password: without one nothing is checked. required says
// why a missing current_password is refused.
// Errors: validation_failed (current_password missing or wrong),
// rate_limited, overloaded.
func (a *Accounts) confirmPassword(ctx context.Context, userID int64, current *string, required string) (bool, error) {
	cred, err := a.db.q.PasswordCredentialGet(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return false, nil // no password: the signed-in IdP login is the account
	}
	if err != nil {
		return false, err
	}
	if current == nil || *current == "" {
		return true, Invalid(FieldError{Field: "current_password", Message: required})
	}
	ticket, err := a.hashAdmit()
	if err != nil {
		return true, err
	}
	defer ticket.Cancel()
	at, err := a.beginAttempt(ctx, a.keys.user(userID), false, netip.Addr{}, ticket)
	if err != nil {
		return true, err
	}
	release, err := a.hashSlot(ctx, ticket)
	if err != nil {
		// Not checked, so not a failure: the attempt is taken back.
		return true, errors.Join(err, a.forgetAttempt(context.WithoutCancel(ctx), at))
	}
	ok, _, err := a.hasher.Verify(*current, cred.Hash)
	release()
	if err != nil {
		return true, fmt.Errorf("verify password of user %d: %w", userID, err)
	}
	if !ok {
		if err := a.failAttempt(ctx, at, userID); err != nil {
			return true, err
		}
		return true, Invalid(FieldError{Field: "current_password", Message: "is not correct"})
	}
	return true, a.forgetAttempt(ctx, at)
}

// requestEmailChange records to as u's pending email and mails it a
// confirmation link, and a notice to the current address; in q's
// transaction. A nil to removes the address at once (nothing to confirm).
// Changing back to the current address cancels a pending change.
// Errors: email_taken (another account has the address).
func (a *Accounts) requestEmailChange(ctx context.Context, q *dbgen.Queries, u dbgen.User, to *string) (dbgen.User, error) {
	old := u.Email
	var err error
	switch {
	case to == nil:
		u, err = q.UserClearEmail(ctx, u.ID)
	case old != nil && strings.EqualFold(*old, *to):
		u, err = q.UserSetPendingEmail(ctx, dbgen.UserSetPendingEmailParams{ID: u.ID})
		return u, err
	default:
		u, err = a.pendEmail(ctx, q, u, *to)
	}
	if err != nil {
		return u, err
	}
	if to == nil {
		// Links mailed to the removed address die with it.
		for _, purpose := range []string{purposePasswordReset, purposeEmailVerification, purposeEmailChange} {
			if err := q.UserTokenUseAllByUser(ctx, dbgen.UserTokenUseAllByUserParams{UserID: u.ID, Purpose: purpose}); err != nil {
				return u, err
			}
		}
	}
	if old == nil {
		return u, nil
	}
	return u, a.mailNotice(ctx, q, u.ID, *old, to)
}

// pendEmail records to as u's pending email and mails it the confirmation
// link. An address another account holds unproven does not block the
// change: following the link moves it (takeUnproven).
// Errors: email_taken (another live account has the address, proven).
func (a *Accounts) pendEmail(ctx context.Context, q *dbgen.Queries, u dbgen.User, to string) (dbgen.User, error) {
	other, err := q.UserGetByEmail(ctx, to)
	if err == nil && other.ID != u.ID && other.EmailVerified {
		return u, ErrEmailTaken
	}
	if err != nil && !noRows(err) {
		return u, err
	}
	// An earlier pending change's link dies with it.
	if err := q.UserTokenUseAllByUser(ctx, dbgen.UserTokenUseAllByUserParams{UserID: u.ID, Purpose: purposeEmailChange}); err != nil {
		return u, err
	}
	if u, err = q.UserSetPendingEmail(ctx, dbgen.UserSetPendingEmailParams{ID: u.ID, PendingEmail: &to}); err != nil {
		return u, err
	}
	return u, a.mailToken(ctx, q, u.ID, to, purposeEmailChange, a.VerifyTTL)
}

// mailNotice tells the current address that the account's email is being
// changed (to nil: removed).
func (a *Accounts) mailNotice(ctx context.Context, q *dbgen.Queries, userID int64, old string, to *string) error {
	d := mail.Data{Email: old}
	if to != nil {
		d.NewEmail = *to
	}
	return a.notify(ctx, q, userID, mail.EmailChangeNotice, old, d)
}

// notify queues a security notice of kind to address about userID, in
// q's transaction, capped per recipient like every mail.
func (a *Accounts) notify(ctx context.Context, q *dbgen.Queries, userID int64, kind mail.Kind, address string, d mail.Data) error {
	if ok, err := a.mailAllowed(ctx, q, address, string(kind)); !ok || err != nil {
		return err
	}
	return a.enqueueRendered(ctx, q, userID, kind, address, d)
}

// enqueueRendered renders the mail of kind to address and queues it in
// q's transaction, as mail about userID.
func (a *Accounts) enqueueRendered(ctx context.Context, q *dbgen.Queries, userID int64, kind mail.Kind, address string, d mail.Data) error {
	m, err := a.Mail.Render(kind, address, d)
	if err != nil {
		return err
	}
	return enqueueMail(ctx, q, &userID, m)
}
