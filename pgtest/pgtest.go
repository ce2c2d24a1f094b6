// Package pgtest gives each integration test its own PostgreSQL database,
// cloned from a template that the real migrations built once per
// migrations hash.
//
// The server is, in order: TEST_DATABASE_URL; a testcontainers PostgreSQL
// when a Docker engine answers; the local server on 127.0.0.1:5432; one
// started from the installed PostgreSQL binaries. DATABASE_URL is never
// read: a developer's real database is not for tests. When no server can be
// had the test fails (never skips) and says how to provide one.
//
// make test-scale runs the suites through a transaction-mode pooler with a
// streaming replica: TEST_DATABASE_URL is then the primary (databases are
// created and dropped there, directly), TEST_DATABASE_POOLER_URL a
// PgBouncer in front of it (NewURL and NewPool hand out the pooler's URL
// of the new database), TEST_DATABASE_REPLICA_URL its replica (Replica),
// and TEST_DATABASE_SYNCHRONOUS_COMMIT, when set, becomes each new
// database's synchronous_commit (remote_apply: a commit returns once the
// replica shows it, so that suites asserting what another caller reads
// right after a write hold on the replica too).
//
// Clones use PostgreSQL's default strategy (WAL_LOG on 15+). FILE_COPY was
// measured and is slower here: each such clone forces two checkpoints, and
// on a server shared by parallel tests (fsync on) the httpapi tests took
// 206-234 s with it against 146-160 s without; see README "Tests".
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/userd/userd/dburl"
	"github.com/userd/userd/migrate"
	"github.com/userd/userd/pglocal"
	usersql "github.com/userd/userd/sql"
)

var server struct {
	once     sync.Once
	adminURL string // maintenance database of the server
	template string // name of the migrated template database
	err      error
}

// NewPool returns a pool on a fresh migrated database that is dropped when
// the test ends.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	u := NewURL(t)
	cfg := PoolConfig(t, u)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewURL returns the URL of a fresh migrated database that is dropped when
// the test ends: through the pooler under make test-scale (Pooled).
func NewURL(t testing.TB) string {
	t.Helper()
	admin, tmpl := setup(t)
	u := createDB(t, admin, "TEMPLATE "+pgx.Identifier{tmpl}.Sanitize())
	if p := os.Getenv("TEST_DATABASE_POOLER_URL"); p != "" {
		return withDB(p, dbName(u))
	}
	return u
}

// Pooled reports whether NewURL hands out URLs through a transaction-mode
// pooler (TEST_DATABASE_POOLER_URL).
func Pooled() bool { return os.Getenv("TEST_DATABASE_POOLER_URL") != "" }

// PoolConfig is the pool configuration of a URL NewURL returned: through
// a pooler, dburl.PooledConfig's, else dburl.PoolConfig's with no timeout.
func PoolConfig(t testing.TB, u string) *pgxpool.Config {
	t.Helper()
	var cfg *pgxpool.Config
	var err error
	if Pooled() {
		cfg, err = dburl.PooledConfig(u)
	} else {
		cfg, err = dburl.PoolConfig(u, 0)
	}
	if err != nil {
		t.Fatalf("parse %s: %v", redact(u), err)
	}
	return cfg
}

// DirectURL is the URL reaching the database of u on the server itself,
// not through a pooler.
func DirectURL(t testing.TB, u string) string {
	t.Helper()
	admin, _ := setup(t)
	return withDB(admin, dbName(u))
}

// ReleasePooled asks the pooler (PgBouncer's admin console, reached as
// the pooler URL's user) to close its server connections to the database
// of u, as RECONNECT does: idle ones at once, the others when their
// transaction ends. Their backends then exit as a direct pool's do when it
// is closed. Without a pooler it does nothing.
func ReleasePooled(t testing.TB, u string) {
	t.Helper()
	p := os.Getenv("TEST_DATABASE_POOLER_URL")
	if p == "" {
		return
	}
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(withDB(p, "pgbouncer"))
	if err != nil {
		t.Fatalf("parse the pooler's admin url: %v", err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol // all the admin console speaks
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect to the pooler's admin console: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "RECONNECT "+pgx.Identifier{dbName(u)}.Sanitize()); err != nil {
		t.Fatalf("pooler RECONNECT %s: %v", dbName(u), err)
	}
}

// Replica is the URL of the database of u on the streaming replica
// (TEST_DATABASE_REPLICA_URL), or "" when there is none.
func Replica(u string) string {
	r := os.Getenv("TEST_DATABASE_REPLICA_URL")
	if r == "" {
		return ""
	}
	return withDB(r, dbName(u))
}

// dbName is the database a URL names.
func dbName(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(p.Path, "/")
}

// NewEmptyURL returns the URL of a fresh database with no schema at all.
func NewEmptyURL(t testing.TB) string {
	t.Helper()
	admin, _ := setup(t)
	return createDB(t, admin, "TEMPLATE template0")
}

// AdminURL returns the URL of the server's maintenance database.
func AdminURL(t testing.TB) string {
	t.Helper()
	admin, _ := setup(t)
	return admin
}

func setup(t testing.TB) (adminURL, template string) {
	t.Helper()
	server.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		server.adminURL, server.err = findServer(ctx)
		if server.err == nil {
			server.template, server.err = buildTemplate(ctx, server.adminURL)
		}
	})
	if server.err != nil {
		t.Fatalf("%s: %v", noServer, server.err)
	}
	return server.adminURL, server.template
}

// noServer is the failure when no PostgreSQL can be had: a database test
// that cannot run fails, so a green run always means the tests ran.
const noServer = "no PostgreSQL for tests: set TEST_DATABASE_URL to a server's maintenance database " +
	"(e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable; each test creates and drops its own database there), " +
	"or start Docker, or install the PostgreSQL server binaries (initdb, pg_ctl) so the harness starts one"

func findServer(ctx context.Context) (string, error) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u, nil
	}
	if dockerAnswers() {
		if u, err := startContainer(ctx); err == nil {
			return u, nil
		}
	}
	return pglocal.Ensure(ctx, filepath.Join(os.TempDir(), "userd-pgtest"))
}

// migrationsHash names the template, so a changed migration builds a new one.
func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(usersql.Migrations, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(usersql.Migrations, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

// buildTemplate creates the template database once per server and
// migrations hash; concurrent test processes wait on an advisory lock.
func buildTemplate(ctx context.Context, adminURL string) (string, error) {
	hash, err := migrationsHash()
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	name := "userd_tmpl_" + hash
	conn, err := dburl.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect %s: %w", redact(adminURL), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", name); err != nil {
		return "", fmt.Errorf("lock template: %w", err)
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock(hashtext($1))", name) //nolint:errcheck // released on close
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look for template: %w", err)
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{building}.Sanitize()+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop stale template: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()+" TEMPLATE template0"); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	if err := migrate.Up(ctx, withDB(adminURL, building), nil); err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("rename template: %w", err)
	}
	return name, nil
}

func createDB(t testing.TB, adminURL, source string) string {
	t.Helper()
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "userd_test_" + hex.EncodeToString(b[:])
	conn, err := dburl.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("connect %s: %v", redact(adminURL), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" "+source); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	if sc := os.Getenv("TEST_DATABASE_SYNCHRONOUS_COMMIT"); sc != "" {
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" SET synchronous_commit = "+pgx.Identifier{sc}.Sanitize()); err != nil {
			t.Fatalf("TEST_DATABASE_SYNCHRONOUS_COMMIT: %v", err)
		}
	}
	t.Cleanup(func() {
		conn, err := dburl.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("connect to drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	return withDB(adminURL, name)
}

// withDB returns rawURL with its database name replaced.
func withDB(rawURL, db string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	u.Path = "/" + db
	return u.String()
}

func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}
