package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/userd/userd/config"
	"github.com/userd/userd/password"
	"github.com/userd/userd/service"
)

// setupDevUsers creates (or restores) the development superuser and its
// organization, and prints how to log in. Dev only.
func setupDevUsers(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	if !cfg.Dev() {
		return errors.New("setup-dev-users is for development only (USERD_ENV=dev)")
	}
	db, err := openDB(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Pool.Close()
	hasher, err := password.NewHasher(password.DefaultParams)
	if err != nil {
		return err
	}
	d, err := service.SetupDevUsers(ctx, db, hasher)
	if err != nil {
		return fmt.Errorf("setup dev users: %w", err)
	}
	state := "already present (password, role and organization restored)"
	if d.Created {
		state = "created"
	}
	fmt.Fprintf(stdout, `superuser %q <%s> (id %d, role admin) %s
organization %q (id %d)

Log in with username %q (or %s) and password %q:
  curl -s -X POST %s/api/v1/auth/login -H 'Content-Type: application/json' \
    -d '{"identifier": %q, "password": %q}'
`, service.DevUsername, service.DevEmail, d.UserID, state, service.DevOrganization, d.OrganizationID,
		service.DevUsername, service.DevEmail, service.DevPassword, cfg.PublicURL, service.DevUsername, service.DevPassword)
	return nil
}
