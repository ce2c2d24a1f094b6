// Package migrate applies userd's embedded dbmate migrations.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/amacneil/dbmate/v2/pkg/dbmate"
	_ "github.com/amacneil/dbmate/v2/pkg/driver/postgres" // registers postgres:// for dbmate
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/userd/userd/dburl"
	usersql "github.com/userd/userd/sql"
)

// lockKey is the advisory lock that serializes migrations between userd
// processes sharing one database.
const lockKey = 0x75736572_64 // "userd"

// Migration is one migration file and whether it has been applied.
type Migration struct {
	Version string
	Name    string
	Applied bool
}

// newDB returns dbmate on databaseURL. dbmate's driver (lib/pq) passes
// every URL parameter to the server, so pgxpool's (pool_max_conns, …) are
// taken out first.
func newDB(databaseURL string, log io.Writer) (*dbmate.DB, error) {
	plain, err := dburl.WithoutPoolParams(databaseURL)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(plain)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	db := dbmate.New(u)
	db.FS = usersql.Migrations
	db.MigrationsDir = []string{"migrations"}
	db.AutoDumpSchema = false
	if log == nil {
		log = io.Discard
	}
	db.Log = log
	return db, nil
}

// withLock runs fn while holding the migration advisory lock.
func withLock(ctx context.Context, databaseURL string, fn func() error) error {
	conn, err := dburl.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey) //nolint:errcheck // released with the connection anyway
	return fn()
}

// Up applies every pending migration. Progress is written to log (nil for none).
func Up(ctx context.Context, databaseURL string, log io.Writer) error {
	return run(ctx, databaseURL, log, "migrate up", (*dbmate.DB).Migrate)
}

// Down rolls back the latest applied migration.
func Down(ctx context.Context, databaseURL string, log io.Writer) error {
	return run(ctx, databaseURL, log, "migrate down", (*dbmate.DB).Rollback)
}

// run takes the migration lock and runs step, one of dbmate's commands.
func run(ctx context.Context, databaseURL string, log io.Writer, what string, step func(*dbmate.DB) error) error {
	db, err := newDB(databaseURL, log)
	if err != nil {
		return err
	}
	return withLock(ctx, databaseURL, func() error {
		if err := step(db); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// Status lists every embedded migration and whether it is applied.
func Status(ctx context.Context, databaseURL string) ([]Migration, error) {
	db, err := newDB(databaseURL, nil)
	if err != nil {
		return nil, err
	}
	found, err := db.FindMigrations()
	if err != nil {
		return nil, fmt.Errorf("read migration status: %w", err)
	}
	out := make([]Migration, 0, len(found))
	for _, m := range found {
		name := strings.TrimSuffix(strings.TrimPrefix(m.FileName, m.Version+"_"), ".sql")
		out = append(out, Migration{Version: m.Version, Name: name, Applied: m.Applied})
	}
	return out, nil
}

// ErrBehind is returned by Check when migrations are pending.
var ErrBehind = errors.New("database schema is behind the migrations this binary embeds")

// Latest is the version of the newest embedded migration.
func Latest() string {
	entries, err := usersql.Migrations.ReadDir("migrations")
	if err != nil || len(entries) == 0 {
		return ""
	}
	name := entries[len(entries)-1].Name()
	v, _, _ := strings.Cut(name, "_")
	return v
}

// Check reports ErrBehind when the database lacks an embedded migration.
// It runs one query and so is cheap enough for a readiness probe.
func Check(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) error {
	var applied bool
	err := q.QueryRow(ctx,
		"SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", Latest()).Scan(&applied)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table: never migrated
		return ErrBehind
	}
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	if !applied {
		return ErrBehind
	}
	return nil
}
