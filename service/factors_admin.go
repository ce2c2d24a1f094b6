package service

import (
	"context"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/mail"
)

// UserFactors returns the second factors of another user, for an admin
// (PermManageUsers); never their secrets.
// Errors: forbidden, not_found.
func (a *Accounts) UserFactors(ctx context.Context, p Principal, userID int64) (Factors, error) {
	if err := Authorize(p.User, PermManageUsers); err != nil {
		return Factors{}, err
	}
	if _, err := a.db.q.UserGetByID(ctx, userID); err != nil {
		return Factors{}, err
	}
	return a.Factors(ctx, userID)
}

// ResetFactors removes every second factor of a user (authenticator and
// recovery codes), for an admin (PermManageUsers), so that someone who lost
// them signs in with the password again. Audited as factor.reset; the
// account's address (if any) is mailed a notice. Resetting an account
// without factors is not an error (nothing is audited or mailed).
// Errors: forbidden, not_found (no such live user).
func (a *Accounts) ResetFactors(ctx context.Context, p Principal, userID int64) error {
	if err := Authorize(p.User, PermManageUsers); err != nil {
		return err
	}
	return inTx(ctx, a.db, func(q *dbgen.Queries) error {
		u, err := q.UserGetByIDForUpdate(ctx, userID)
		if err != nil {
			return err
		}
		if u.DeletedAt != nil {
			return ErrNotFound
		}
		f, err := factorsOf(ctx, q, userID)
		if err != nil {
			return err
		}
		if !f.Any() {
			if _, err := q.TOTPDelete(ctx, userID); err != nil { // an unconfirmed one
				return err
			}
			return errOnly(q.RecoveryCodeDeleteByUser(ctx, userID))
		}
		if err := removeFactors(ctx, q, &p.User.ID, userID, "factor.reset"); err != nil {
			return err
		}
		if u.Email == nil {
			return nil
		}
		return a.notify(ctx, q, userID, mail.FactorsReset, *u.Email, mail.Data{Email: *u.Email})
	})
}
