// Command userd is the user-identity service: serve, migrate, and the
// development helpers. Run `userd help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/userd/userd/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `userd — the user-identity service

Usage: userd <command> [flags]

Commands:
  serve              serve the HTTP API (dev: find or start PostgreSQL, migrate first)
  migrate [up|down|status]
                     apply, roll back one, or list migrations
  dev-token          mint a token of the dev IdP (dev only): --sub, --email, --phone
  setup-groups       create the default permission groups (idempotent)
  setup-dev-users    create the dev superuser "user" / "string" and its organization (dev only, idempotent)
  bench [me]         seed users (COPY) and measure GET /users/me over loopback HTTP:
                     --users, --concurrency, --duration, --requests
  bench directory    seed users (COPY) and measure the admin directory: first keyset
                     page, keyset page and OFFSET at depth ~users, phone lookup exact
                     and by last 10 digits; fails if depth costs > 1.5x the first page:
                     --users (1000000), --iterations (200), --limit (50)
  version            print the version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "userd:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("unknown command; run `userd help`")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, "userd", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	// Every other command reads the configuration, once, here.
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	switch args[0] {
	case "serve":
		return serve(ctx, cfg, log, stdout)
	case "migrate":
		return migrateCmd(ctx, cfg, args[1:], stdout)
	case "dev-token":
		return devToken(cfg, args[1:], stdout)
	case "setup-groups":
		return setupGroups(ctx, cfg, stdout)
	case "setup-dev-users":
		return setupDevUsers(ctx, cfg, stdout)
	case "bench":
		return bench(ctx, cfg, args[1:], stdout)
	}
	return errUsage
}
