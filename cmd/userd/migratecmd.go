package main

import (
	"context"
	"fmt"

	"github.com/userd/userd/migrate"
)

var migrateCommand = &command{
	name:    "migrate",
	args:    "[up|down|status]",
	summary: "apply pending migrations (up, the default), roll back the last (down), or list them (status)",
	about: `Applies the migrations built into the binary to DATABASE_URL (or
USERD_MIGRATE_DATABASE_URL, a direct URL when DATABASE_URL goes through a
transaction-mode pooler) under an advisory lock (up, the default), rolls
back the newest one (down), or lists each with [X] when applied (status). In
dev without DATABASE_URL it uses the local server that ` + "`userd serve`" + ` finds
or starts.`,
	env: []string{"USERD_ENV", "DATABASE_URL", "USERD_MIGRATE_DATABASE_URL", "USERD_DATA_DIR", "USERD_LOG_LEVEL"},
	example: `DATABASE_URL=postgres://userd@db/userd userd migrate up
USERD_ENV=dev userd migrate status`,
	run: func(ctx context.Context, e cmdEnv, args []string) error {
		action := "up"
		if len(args) > 0 {
			action = args[0]
		}
		if action != "up" && action != "down" && action != "status" {
			return usageErrorf("migrate: got %q, want up, down or status (see `userd migrate --help`)", action)
		}
		if err := noArgs("migrate "+action, args[min(len(args), 1):]); err != nil {
			return err
		}
		dbURL, err := databaseURL(ctx, e.cfg)
		if err != nil {
			return err
		}
		dbURL = migrateURL(e.cfg, dbURL)
		switch action {
		case "up":
			return migrate.Up(ctx, dbURL, e.stdout)
		case "down":
			return migrate.Down(ctx, dbURL, e.stdout)
		}
		st, err := migrate.Status(ctx, dbURL)
		if err != nil {
			return err
		}
		for _, m := range st {
			mark := "[ ]"
			if m.Applied {
				mark = "[X]"
			}
			fmt.Fprintf(e.stdout, "%s %s_%s\n", mark, m.Version, m.Name)
		}
		return nil
	},
}
