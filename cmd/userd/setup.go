package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/userd/userd/service"
)

var setupGroupsCommand = &command{
	name:    "setup-groups",
	summary: "create permission groups: the defaults, or your own (idempotent)",
	about: `Creates the permission groups that are missing, prints each one it created,
and leaves the others alone, so it can run at every deploy. In dev it
migrates first.

Without arguments: the default groups (org_admin, org_billing, org_editor,
org_viewer: organization-manageable; support: system; premium:
subscription). The migrations already create them, so this only brings
back one that was deleted.

With arguments: your own groups, each NAME:KIND[:DESCRIPTION], KIND one of
org_manageable (org admins may assign it), system or subscription.`,
	env: []string{"USERD_ENV", "DATABASE_URL", "USERD_DATA_DIR", "USERD_LOG_LEVEL"},
	example: `DATABASE_URL=postgres://userd@db/userd userd setup-groups
userd setup-groups studio_staff:org_manageable:"Works the studio's front desk" beta:subscription`,
	run: func(ctx context.Context, e cmdEnv, args []string) error {
		groups := service.DefaultGroups
		if len(args) > 0 {
			groups = nil
			for _, a := range args {
				g, err := parseGroupSpec(a)
				if err != nil {
					return usageErrorf("setup-groups: %v (see `userd setup-groups --help`)", err)
				}
				groups = append(groups, g)
			}
		}
		db, err := openDB(ctx, e.cfg, true, nil, service.CacheConfig{}, nil)
		if err != nil {
			return err
		}
		defer db.Close()
		created, err := service.EnsureGroups(ctx, db, groups)
		if err != nil {
			return err
		}
		for _, g := range created {
			fmt.Fprintf(e.stdout, "created group %s (%s)\n", g.Name, g.Kind)
		}
		fmt.Fprintf(e.stdout, "permission groups: %d created, %d already present\n", len(created), len(groups)-len(created))
		return nil
	},
}

// parseGroupSpec reads NAME:KIND[:DESCRIPTION] and checks it.
func parseGroupSpec(spec string) (service.Group, error) {
	parts := strings.SplitN(spec, ":", 3)
	if len(parts) < 2 {
		return service.Group{}, fmt.Errorf("%q: want NAME:KIND[:DESCRIPTION]", spec)
	}
	g := service.Group{Name: parts[0], Kind: parts[1]}
	if len(parts) == 3 {
		g.Description = parts[2]
	}
	return g, g.Validate()
}
