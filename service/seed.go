package service

import (
	"context"
	"fmt"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/password"
)

// The development superuser and organization of SetupDevUsers.
const (
	DevOrganization = "Admin Organization"
	DevUsername     = "user"
	DevEmail        = "user@example.com"
	DevPassword     = "string" // below the password policy: development only
)

// DevSetup is what SetupDevUsers left in place.
type DevSetup struct {
	UserID         int64
	OrganizationID int64
	Created        bool // the user did not exist before
}

// SetupDevUsers makes sure the development superuser exists: username
// DevUsername, email DevEmail, password DevPassword (set without the
// password policy), role admin, seed data, member and org_admin of the
// seed organization DevOrganization. It is idempotent: an existing user
// named DevUsername gets the password, role and organization again.
// Meant for development only.
// Errors: email_taken (another user has DevEmail).
func SetupDevUsers(ctx context.Context, db *DB, hasher *password.Hasher) (DevSetup, error) {
	hash, err := hasher.Hash(DevPassword)
	if err != nil {
		return DevSetup{}, fmt.Errorf("hash password: %w", err)
	}
	return inTxV(ctx, db, func(q *dbgen.Queries) (DevSetup, error) {
		org, err := q.SeedOrganizationGet(ctx, DevOrganization)
		if noRows(err) {
			org, err = q.SeedOrganizationCreate(ctx, DevOrganization)
		}
		if err != nil {
			return DevSetup{}, err
		}
		out := DevSetup{OrganizationID: org.ID}
		u, err := q.UserGetByUsername(ctx, DevUsername)
		switch {
		case noRows(err):
			username, email := DevUsername, DevEmail
			u, err = q.UserCreate(ctx, dbgen.UserCreateParams{
				Username: &username, Email: &email, EmailVerified: true, Role: string(RoleAdmin),
				OrganizationID: &org.ID, IsSeedData: true,
			})
			if err != nil {
				return DevSetup{}, err
			}
			out.Created = true
		case err != nil:
			return DevSetup{}, err
		default:
			if err := q.SeedUserReset(ctx, dbgen.SeedUserResetParams{ID: u.ID, OrganizationID: &org.ID}); err != nil {
				return DevSetup{}, err
			}
		}
		out.UserID = u.ID
		if err := q.PasswordCredentialSet(ctx, dbgen.PasswordCredentialSetParams{UserID: u.ID, Hash: hash}); err != nil {
			return DevSetup{}, err
		}
		if err := q.SeedUserGroupAdd(ctx, dbgen.SeedUserGroupAddParams{UserID: u.ID, GroupName: "org_admin"}); err != nil {
			return DevSetup{}, err
		}
		return out, nil
	})
}
