package main

import (
	"context"
	"fmt"

	"github.com/userd/userd/service"
)

var setupGroupsCommand = &command{
	name:    "setup-groups",
	summary: "create the default permission groups (idempotent)",
	about: `Creates the default permission groups that are missing (every
subscription, system and organization-manageable group the product uses),
prints each one it created, and leaves the others alone, so it can run at
every deploy. In dev it migrates first.`,
	env:     []string{"USERD_ENV", "DATABASE_URL", "USERD_DATA_DIR", "USERD_LOG_LEVEL"},
	example: "DATABASE_URL=postgres://userd@db/userd userd setup-groups",
	run: func(ctx context.Context, e cmdEnv, args []string) error {
		db, err := openForCommand(ctx, e.cfg, "setup-groups", args)
		if err != nil {
			return err
		}
		defer db.Close()
		created, err := service.EnsureGroups(ctx, db, service.DefaultGroups)
		if err != nil {
			return err
		}
		for _, g := range created {
			fmt.Fprintf(e.stdout, "created group %s (%s)\n", g.Name, g.Kind)
		}
		fmt.Fprintf(e.stdout, "permission groups: %d created, %d already present\n", len(created), len(service.DefaultGroups)-len(created))
		return nil
	},
}
