package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/mail"
	"github.com/userd/userd/password"
)

// ChangePassword replaces the caller's password after checking the current
// one, revokes every other session of theirs (reason password_changed; the
// session of p's token stays), voids pending reset links and cancels a
// pending email change (its link dies). Wrong current
// passwords count against the same kind of limit as logins (per user).
// The revoked sessions' access tokens stop working at once.
// Errors: validation_failed (new_password; current_password when it is
// wrong or the account has no password), rate_limited, account_disabled,
// conflict (the password changed meanwhile).
func (a *Accounts) ChangePassword(ctx context.Context, by Principal, current, next string) error {
	if err := password.Validate(next); err != nil {
		return Invalid(FieldError{Field: "new_password", Message: passwordProblem(err)})
	}
	userID := by.User.ID
	ticket, err := a.hashAdmit()
	if err != nil {
		return err
	}
	defer ticket.Cancel()
	at, err := a.beginAttempt(ctx, a.keys.user(userID), false, netip.Addr{}, ticket)
	if err != nil {
		return err
	}
	release, err := a.hashSlot(ctx, ticket) // held for both argon2id runs
	if err != nil {
		// Not checked, so not a failure: the attempt is taken back.
		return errors.Join(err, a.forgetAttempt(context.WithoutCancel(ctx), at))
	}
	defer release()
	cred, err := a.db.q.PasswordCredentialGet(ctx, userID)
	ok := false
	switch {
	case errors.Is(err, ErrNotFound):
		a.hasher.VerifyDummy(current)
	case err != nil:
		return err
	default:
		if ok, _, err = a.hasher.Verify(current, cred.Hash); err != nil {
			return fmt.Errorf("verify password of user %d: %w", userID, err)
		}
	}
	if !ok {
		if err := a.failAttempt(ctx, at, userID); err != nil {
			return err
		}
		return Invalid(FieldError{Field: "current_password", Message: "is not correct"})
	}
	hash, err := a.hasher.Hash(next)
	release()
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	return inTx(ctx, a.db, func(q *dbgen.Queries) error {
		// Lock the user as a delete or reset does: a deleted account gets
		// no password back, and a hash changed since it was verified
		// (a concurrent reset) is not overwritten.
		u, err := q.UserGetByIDForUpdate(ctx, userID)
		if err != nil {
			return err
		}
		if !userFromRow(u).Usable() {
			return ErrAccountDisabled
		}
		n, err := q.PasswordCredentialReplace(ctx, dbgen.PasswordCredentialReplaceParams{UserID: userID, OldHash: cred.Hash, NewHash: hash})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrConflict
		}
		if err := q.LoginFailureDeleteByIdentifiers(ctx, [][]byte{at.key}); err != nil {
			return err
		}
		keep := dbgen.SessionRevokeOthersByUserParams{UserID: userID, KeepID: by.SessionID, Reason: strPtr("password_changed")}
		if _, err := q.SessionRevokeOthersByUser(ctx, keep); err != nil {
			return err
		}
		// Reset links die, and so does a pending email change (its link
		// too): whoever asked for it may have known the old password.
		if err := voidTokens(ctx, q, userID, purposePasswordReset, purposeEmailChange); err != nil {
			return err
		}
		if u.PendingEmail != nil {
			if _, err := q.UserSetPendingEmail(ctx, dbgen.UserSetPendingEmailParams{ID: userID}); err != nil {
				return err
			}
		}
		if err := audit(ctx, q, &userID, &userID, "user.password_changed", nil); err != nil {
			return err
		}
		return a.passwordNotice(ctx, q, u, "change")
	})
}

// passwordNotice tells the account's address, when it has one, that its
// password was changed (how: "change") or reset ("reset").
func (a *Accounts) passwordNotice(ctx context.Context, q *dbgen.Queries, u dbgen.User, how string) error {
	if u.Email == nil {
		return nil
	}
	return a.notify(ctx, q, u.ID, mail.PasswordChanged, *u.Email, mail.Data{Email: *u.Email, How: how})
}

// ForgotPassword queues a request for a password-reset link to email. The
// request does the same work whether or not an account has the address
// (one insert into the outbox), so neither the answer nor its timing tells
// them apart; the outbox worker looks the address up (SendReset). Input
// that is not an address gets the same answer and queues nothing (202
// always: docs/api.md, "Local accounts").
// Requests are limited per client address with registrations (see
// SignupLimits); the limit says nothing about the account.
// Errors: rate_limited, db_unavailable.
func (a *Accounts) ForgotPassword(ctx context.Context, email string, c Client) error {
	if err := a.spendAddress(ctx, c.IP); err != nil {
		return err
	}
	e, ok := NormalizeEmail(email)
	if !ok {
		return nil
	}
	b, err := json.Marshal(resetRequest{Email: e})
	if err != nil {
		return err
	}
	_, err = a.db.q.OutboxEnqueue(ctx, dbgen.OutboxEnqueueParams{Kind: kindResetRequest, Payload: b})
	return err
}

// kindResetRequest is the outbox job of a forgot-password request.
const kindResetRequest = "password_reset_request"

// resetRequest is the outbox payload of a forgot-password request; it is
// emptied once worked.
type resetRequest struct {
	Email string `json:"email"`
}

// SendReset works a queued forgot-password request: it mails a
// password-reset link (valid ResetTTL, single use) to the active account
// with this email, and does nothing when there is none, the account is
// deactivated, or MailsPerHour reset mails went to the address in the
// last hour.
func (a *Accounts) SendReset(ctx context.Context, email string) error {
	return inTx(ctx, a.db, func(q *dbgen.Queries) error {
		found, err := q.UserGetByEmail(ctx, email)
		if noRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		// Lock the row, as a delete does, and look again: a delete that
		// committed meanwhile must not leave a token or a mail behind.
		u, err := q.UserGetByIDForUpdate(ctx, found.ID)
		if err != nil {
			return err
		}
		if !userFromRow(u).Usable() || u.Email == nil || !strings.EqualFold(*u.Email, email) {
			return nil
		}
		return a.mailToken(ctx, q, u.ID, *u.Email, purposePasswordReset, a.ResetTTL)
	})
}

// ResetPassword sets a new password with a mailed reset token. The token
// is spent, and so are the user's other reset tokens; every session of the
// user is revoked (reason password_reset) and their login failures are
// cleared. Following the link proves the mailbox, so the email becomes
// verified when it is still the one the link went to; when the account
// had not proven it before, its identities are removed too (proveAddress).
// Either way a pending email change is cancelled and every email-change
// and verification link dies (addressProofClears).
// Errors: validation_failed (password), invalid_token (unknown, used or
// expired token), account_disabled (deactivated since the mail).
func (a *Accounts) ResetPassword(ctx context.Context, token, pw string) error {
	if err := password.Validate(pw); err != nil {
		return Invalid(FieldError{Field: "password", Message: passwordProblem(err)})
	}
	hash, ok := tokenHash(token)
	if !ok {
		return ErrInvalidToken
	}
	// A token that cannot work costs one indexed read, not an argon2id run
	// (19 MiB, tens of milliseconds); the transaction below spends it and
	// checks it again.
	if _, err := a.db.q.UserTokenGetLive(ctx, dbgen.UserTokenGetLiveParams{TokenHash: hash, Purpose: purposePasswordReset}); err != nil {
		return notFoundAs(err, ErrInvalidToken)
	}
	release, err := a.hashSlot(ctx, nil)
	if err != nil {
		return err
	}
	newHash, err := a.hasher.Hash(pw)
	release()
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	return inTx(ctx, a.db, func(q *dbgen.Queries) error {
		t, u, err := useToken(ctx, q, hash, purposePasswordReset)
		if err != nil {
			return err
		}
		if !userFromRow(u).Usable() {
			return ErrAccountDisabled
		}
		// A link mailed to an address the account no longer has is void.
		if u.Email == nil || !strings.EqualFold(*u.Email, t.Email) {
			return ErrInvalidToken
		}
		// A link that proves an address the account had not proven leaves
		// its follower alone in the account: other identities go (the
		// password is replaced and the sessions revoked below anyway).
		if !u.EmailVerified {
			if _, err := proveAddress(ctx, q, u, nil, purposePasswordReset, "password_reset"); err != nil {
				return err
			}
		}
		// Proven or not before, the address is proven now: a change asked
		// for before the reset dies.
		if err := addressProofClears(ctx, q, u); err != nil {
			return err
		}
		if err := q.PasswordCredentialSet(ctx, dbgen.PasswordCredentialSetParams{UserID: u.ID, Hash: newHash}); err != nil {
			return err
		}
		if _, err := q.SessionRevokeAllByUser(ctx, dbgen.SessionRevokeAllByUserParams{UserID: u.ID, Reason: strPtr("password_reset")}); err != nil {
			return err
		}
		if err := userEvent(ctx, q, EventSessionRevokedAll, u.ID, "reason", "password_reset"); err != nil {
			return err
		}
		if err := q.UserTokenUseAllByUser(ctx, dbgen.UserTokenUseAllByUserParams{UserID: u.ID, Purpose: purposePasswordReset}); err != nil {
			return err
		}
		if err := q.LoginFailureDeleteByIdentifiers(ctx, a.keys.loginKeys(u)); err != nil {
			return err
		}
		if err := q.LoginFailureDeleteByUser(ctx, u.ID); err != nil {
			return err
		}
		if !u.EmailVerified {
			if err := q.UserSetEmailVerified(ctx, dbgen.UserSetEmailVerifiedParams{ID: u.ID, Email: *u.Email}); err != nil {
				return err
			}
		}
		if err := audit(ctx, q, &u.ID, &u.ID, "user.password_reset", nil); err != nil {
			return err
		}
		return a.passwordNotice(ctx, q, u, "reset")
	})
}
