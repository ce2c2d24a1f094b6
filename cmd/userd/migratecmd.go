package main

import (
	"context"
	"fmt"
	"io"

	"github.com/userd/userd/config"
	"github.com/userd/userd/migrate"
)

func migrateCmd(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	dbURL, err := databaseURL(ctx, cfg)
	if err != nil {
		return err
	}
	action := "up"
	if len(args) > 0 {
		action = args[0]
	}
	switch action {
	case "up":
		return migrate.Up(ctx, dbURL, stdout)
	case "down":
		return migrate.Down(ctx, dbURL, stdout)
	case "status":
		st, err := migrate.Status(ctx, dbURL)
		if err != nil {
			return err
		}
		for _, m := range st {
			mark := "[ ]"
			if m.Applied {
				mark = "[X]"
			}
			fmt.Fprintf(stdout, "%s %s_%s\n", mark, m.Version, m.Name)
		}
		return nil
	}
	return fmt.Errorf("migrate: got %q, want up, down or status", action)
}
