package main

import (
	"context"
	"fmt"
	"net"

	"github.com/userd/userd/password"
	"github.com/userd/userd/service"
)

var setupDevUsersCommand = &command{
	name:    "setup-dev-users",
	summary: `create the dev superuser "user" / "string" and its organization (dev only, idempotent)`,
	about: `Creates (or restores: password, role and organization) the development
superuser "user" <user@example.com> with password "string", role admin, in
the organization "Admin Organization", and prints the curl that logs in to
the server ` + "`userd serve`" + ` runs on USERD_ADDR. Migrates first.`,
	env:     []string{"USERD_ENV", "DATABASE_URL", "USERD_ADDR", "USERD_DATA_DIR", "USERD_LOG_LEVEL"},
	example: "USERD_ENV=dev userd setup-dev-users",
	devOnly: true,
	run:     setupDevUsers,
}

// setupDevUsers creates (or restores) the development superuser and its
// organization, and prints how to log in.
func setupDevUsers(ctx context.Context, e cmdEnv, args []string) error {
	db, err := openForCommand(ctx, e.cfg, "setup-dev-users", args)
	if err != nil {
		return err
	}
	defer db.Close()
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
	base := baseURL(e.cfg.Addr)
	if _, port, err := net.SplitHostPort(e.cfg.Addr); err == nil && port == "0" {
		base = "http://localhost:PORT" // any free port: the one serve printed
	}
	fmt.Fprintf(e.stdout, `superuser %q <%s> (id %d, role admin) %s
organization %q (id %d)

Log in with username %q (or %s) and password %q
(to the server on USERD_ADDR=%s):
  curl -s -X POST %s/api/v1/auth/login -H 'Content-Type: application/json' \
    -d '{"identifier": %q, "password": %q}'
`, service.DevUsername, service.DevEmail, d.UserID, state, service.DevOrganization, d.OrganizationID,
		service.DevUsername, service.DevEmail, service.DevPassword, e.cfg.Addr, base, service.DevUsername, service.DevPassword)
	return nil
}
