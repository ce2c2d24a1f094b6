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
// (the pending address becomes the account's, verified). Either proves an
// address the account had not proven, so unless by is a principal signed
// in to that account, every other way in is removed (see proveAddress);
// when that removed a password, a reset link goes to the proven address
// so its owner can choose one. by may be nil.
// Errors: invalid_token (unknown, used or expired token, or the address
// is no longer the one the link went to), email_taken (the new address
// was taken meanwhile).
func (a *Accounts) VerifyEmail(ctx context.Context, token string, by *Principal) error {
	hash, ok := tokenHash(token)
	if !ok {
		return ErrInvalidToken
	}
	_, err := inTxV(ctx, a.db, func(q *dbgen.Queries) (proved, error) {
		t, u, err := useToken(ctx, q, hash, purposeEmailVerification, purposeEmailChange)
		if err != nil {
			return proved{}, err
		}
		if u.DeletedAt != nil {
			return proved{}, ErrInvalidToken
		}
		switch t.Purpose {
		case purposeEmailVerification:
			if u.Email == nil || !strings.EqualFold(t.Email, *u.Email) {
				return proved{}, ErrInvalidToken
			}
			if u.EmailVerified {
				return proved{}, nil
			}
		default: // purposeEmailChange
			if u.PendingEmail == nil || !strings.EqualFold(t.Email, *u.PendingEmail) {
				return proved{}, ErrInvalidToken
			}
		}
		p, err := proveAddress(ctx, q, u, by, t.Purpose, "address_proven")
		if err != nil {
			return p, err
		}
		if t.Purpose == purposeEmailVerification {
			err = q.UserSetEmailVerified(ctx, dbgen.UserSetEmailVerifiedParams{ID: u.ID, Email: *u.Email})
		} else {
			// Links mailed to the old address die with it.
			for _, purpose := range []string{purposePasswordReset, purposeEmailVerification, purposeEmailChange} {
				if err := q.UserTokenUseAllByUser(ctx, dbgen.UserTokenUseAllByUserParams{UserID: u.ID, Purpose: purpose}); err != nil {
					return p, err
				}
			}
			_, err = q.UserConfirmEmail(ctx, dbgen.UserConfirmEmailParams{ID: u.ID, Email: t.Email})
		}
		if err != nil {
			return p, err
		}
		if err := emailProvedEvent(ctx, q, u.ID, t.Purpose); err != nil {
			return p, err
		}
		if p.password {
			// The prover is alone now, without a password: let them choose one.
			return p, a.mailToken(ctx, q, u.ID, t.Email, purposePasswordReset, a.ResetTTL)
		}
		return p, nil
	})
	return err
}

// EmailChange is a requested change of the account's email: To nil
// removes the address.
type EmailChange struct {
	To              *string
	CurrentPassword *string
}

// checkEmailChange checks the current password of an account that has
// one (wrong ones count as failed logins of that user), before the
// transaction of the change. It reports whether the account has a
// password.
// Errors: validation_failed (current_password), rate_limited.
func (a *Accounts) checkEmailChange(ctx context.Context, userID int64, current *string) error {
	cred, err := query(ctx, a.db.q.PasswordCredentialGet, userID)
	if errors.Is(err, ErrNotFound) {
		return nil // no password: the signed-in IdP login is the account
	}
	if err != nil {
		return err
	}
	if current == nil || *current == "" {
		return Invalid(FieldError{Field: "current_password", Message: "is required to change the email of an account with a password"})
	}
	at, err := a.beginAttempt(ctx, a.keys.user(userID), false, netip.Addr{}, nil)
	if err != nil {
		return err
	}
	ok, _, err := a.hasher.Verify(*current, cred.Hash)
	if err != nil {
		return fmt.Errorf("verify password of user %d: %w", userID, err)
	}
	if !ok {
		if err := a.failAttempt(ctx, at, userID); err != nil {
			return err
		}
		return Invalid(FieldError{Field: "current_password", Message: "is not correct"})
	}
	return a.forgetAttempt(ctx, at)
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
// link. Errors: email_taken (another live account has the address).
func (a *Accounts) pendEmail(ctx context.Context, q *dbgen.Queries, u dbgen.User, to string) (dbgen.User, error) {
	other, err := q.UserGetByEmail(ctx, to)
	if err == nil && other.ID != u.ID {
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
