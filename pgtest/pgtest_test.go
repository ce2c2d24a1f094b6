package pgtest

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// A developer's DATABASE_URL is never where tests go; TEST_DATABASE_URL is.
func TestFindServerIgnoresDatabaseURL(t *testing.T) {
	const real = "postgres://developer@prod-db.invalid:5432/userd"
	t.Setenv("DATABASE_URL", real)
	t.Setenv("TEST_DATABASE_URL", "")
	// With no Docker, server or binaries here the error is fine too: what
	// matters is that DATABASE_URL is not the answer.
	if u, _ := findServer(context.Background()); u == real {
		t.Fatalf("got DATABASE_URL %s, want a test server", u)
	}
	const test = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&application_name=pgtest"
	t.Setenv("TEST_DATABASE_URL", test)
	if u, err := findServer(context.Background()); err != nil || u != test {
		t.Fatalf("with TEST_DATABASE_URL: got %q, %v, want %q", u, err, test)
	}
}

// Each database is a clone of the migrated template, dropped at the end.
func TestNewURLClonesTheTemplate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := NewURL(t)
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var migrations int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&migrations); err != nil {
		t.Fatal(err)
	}
	if migrations == 0 {
		t.Fatalf("got %d applied migrations in the clone, want all of them", migrations)
	}
}

// Without a reachable server a database test fails, never skips, and the
// failure says how to provide one. The test runs itself in a child process
// whose TEST_DATABASE_URL points at a closed port.
func TestNoServerFails(t *testing.T) {
	t.Parallel()
	if os.Getenv("PGTEST_NO_SERVER_CHILD") != "" {
		NewURL(t)
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoServerFails$", "-test.v")
	cmd.Env = append(os.Environ(), "PGTEST_NO_SERVER_CHILD=1", "TEST_DATABASE_URL=postgres://postgres@"+addr+"/postgres?sslmode=disable&connect_timeout=2")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("child: got %v, want a failing exit (%s)", err, out)
	}
	if !strings.Contains(string(out), "--- FAIL: TestNoServerFails") || strings.Contains(string(out), "--- SKIP") ||
		!strings.Contains(string(out), "set TEST_DATABASE_URL") {
		t.Fatalf("child output: got %s, want a FAIL that says to set TEST_DATABASE_URL", out)
	}
}
