package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/userd/userd/pgtest"
)

func runCmd(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("userd %s: %v (%s)", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

func TestCommands(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.NewEmptyURL(t))
	t.Setenv("USERD_DATA_DIR", t.TempDir())

	if got := runCmd(t, "version"); !strings.HasPrefix(got, "userd ") {
		t.Fatalf("version: got %q, want userd <version>", got)
	}
	if got := runCmd(t, "help"); !strings.Contains(got, "setup-dev-users") {
		t.Fatalf("help: got %q, want the command list", got)
	}
	if err := run(context.Background(), []string{"frobnicate"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("unknown command: got nil, want an error")
	}

	if got := runCmd(t, "migrate", "status"); !strings.Contains(got, "[ ]") || strings.Contains(got, "[X]") {
		t.Fatalf("status of an empty database: got %q, want every migration pending", got)
	}
	runCmd(t, "migrate", "up")
	if got := runCmd(t, "migrate", "status"); strings.Contains(got, "[ ]") {
		t.Fatalf("status after up: got %q, want every migration applied", got)
	}

	first := runCmd(t, "setup-groups")
	second := runCmd(t, "setup-groups")
	// org_admin comes with the schema; setup-groups adds the other five.
	if !strings.Contains(first, "5 created, 1 already present") || !strings.Contains(second, "0 created, 6 already present") {
		t.Fatalf("setup-groups twice: got %q then %q, want 5 created then none", first, second)
	}

	if got := runCmd(t, "setup-dev-users"); !strings.Contains(got, `superuser "user"`) {
		t.Fatalf("setup-dev-users: got %q", got)
	}
	if got := runCmd(t, "setup-dev-users"); !strings.Contains(got, "already present") {
		t.Fatalf("setup-dev-users again: got %q, want it idempotent", got)
	}

	tok := strings.TrimSpace(runCmd(t, "dev-token", "--sub", "alice", "--email", "alice@example.com"))
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("dev-token: got %q, want a JWT", tok)
	}
}

func TestProdRefusesABehindSchema(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.NewEmptyURL(t))
	t.Setenv("USERD_ENV", "prod")
	t.Setenv("USERD_SIGNING_KEY_FILE", "unused")
	t.Setenv("USERD_SMTP_URL", "smtp://127.0.0.1:1")
	err := run(context.Background(), []string{"serve"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "userd migrate up") {
		t.Fatalf("serve in prod on an empty database: got %v, want a refusal naming `userd migrate up`", err)
	}
}
