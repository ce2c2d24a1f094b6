package service

import (
	"context"

	"github.com/userd/userd/dbgen"
)

// ErrLastWayIn is the conflict of removing a user's only way to sign in.
var ErrLastWayIn = &Error{Code: CodeConflict, Message: "this is the account's only way to sign in: set a password or link another login first"}

// UnlinkIdentity removes the user's external login of provider. It never
// removes the last way in: a user without a password keeps their only
// identity. Concurrent unlinks of one user run one at a time. A later
// token of that provider signs in afresh, which links the identity again
// when it carries this account's verified email or phone.
// Errors: not_found (no identity of that provider), conflict (the last way in).
func (s *Users) UnlinkIdentity(ctx context.Context, by Principal, provider string) error {
	userID := by.User.ID
	return inTx(ctx, s.db, func(q *dbgen.Queries) error {
		if _, err := q.UserGetByIDForUpdate(ctx, userID); err != nil {
			return err
		}
		ids, err := q.IdentityListByUser(ctx, userID)
		if err != nil {
			return err
		}
		found := false
		for _, id := range ids {
			found = found || id.Provider == provider
		}
		if !found {
			return ErrNotFound
		}
		if len(ids) == 1 {
			_, err := q.PasswordCredentialGet(ctx, userID)
			if noRows(err) {
				return ErrLastWayIn
			}
			if err != nil {
				return err
			}
		}
		_, err = q.IdentityDelete(ctx, dbgen.IdentityDeleteParams{UserID: userID, Provider: provider})
		return err
	})
}
