// Package benchseed is what `userd bench` needs of its own throwaway
// database beside the services it measures: bulk seeding with COPY, and
// the single queries and plain-SQL baselines the measured calls are
// compared with. Nothing but the benchmarks uses it. It is the one
// package beside service that reads the database itself (dbgen and pgx):
// seeding a million users through the service would measure the seeding,
// and a baseline must run the very query the service runs
// (service/imports_test.go allows exactly this package).
package benchseed

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/password"
	"github.com/userd/userd/service"
)

// Bench seeds and queries a benchmark database.
type Bench struct {
	pool *pgxpool.Pool
	q    *dbgen.Queries
}

// New returns the benchmark helper over db's pool.
func New(db *service.DB) *Bench { return &Bench{pool: db.Pool, q: dbgen.New(db.Pool)} }

// ServerVersion returns PostgreSQL's server_version.
func (b *Bench) ServerVersion(ctx context.Context) (string, error) {
	var v string
	if err := b.pool.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "", fmt.Errorf("server version: %w", err)
	}
	return v, nil
}

// SeedUsers loads n users with COPY, streaming row(i), the values of
// columns for user i, and analyzes the table.
func (b *Bench) SeedUsers(ctx context.Context, n int, columns []string, row func(i int) []any) error {
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		i++
		return row(i - 1), nil
	})
	if _, err := b.pool.CopyFrom(ctx, pgx.Identifier{"users"}, columns, src); err != nil {
		return fmt.Errorf("copy users: %w", err)
	}
	if _, err := b.pool.Exec(ctx, "ANALYZE users"); err != nil {
		return fmt.Errorf("analyze users: %w", err)
	}
	return nil
}

// SeedIdentities links every seed user named bench_<i> to the identity
// ("bench", "bench-<i>").
func (b *Bench) SeedIdentities(ctx context.Context) error {
	_, err := b.pool.Exec(ctx, `
		INSERT INTO user_identities (user_id, provider, subject)
		SELECT id, 'bench', 'bench-' || substr(username, 7) FROM users WHERE is_seed_data;
		ANALYZE user_identities;`)
	if err != nil {
		return fmt.Errorf("seed identities: %w", err)
	}
	return nil
}

// IdentityUser runs, alone, the query that authenticating an external
// token runs: the user linked to (provider, subject).
func (b *Bench) IdentityUser(ctx context.Context, provider, subject string) error {
	if _, err := b.q.IdentityGetUser(ctx, dbgen.IdentityGetUserParams{Provider: provider, Subject: subject}); err != nil {
		return fmt.Errorf("identity user: %w", err)
	}
	return nil
}

// UserIDByPhone returns the id of the live user whose phone is exactly
// e164.
func (b *Bench) UserIDByPhone(ctx context.Context, e164 string) (int64, error) {
	u, err := b.q.UserGetByPhone(ctx, e164)
	if err != nil {
		return 0, fmt.Errorf("user by phone %s: %w", e164, err)
	}
	return u.ID, nil
}

// DirectoryPosition returns the position, in directory order (newest
// first), of the live user at offset: the cursor after which the page at
// offset+1 starts.
func (b *Bench) DirectoryPosition(ctx context.Context, offset int) (service.Cursor, error) {
	var at service.Cursor
	err := b.pool.QueryRow(ctx, `SELECT created_at, id FROM users WHERE deleted_at IS NULL
		ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1`, offset).Scan(&at.CreatedAt, &at.ID)
	if err != nil {
		return service.Cursor{}, fmt.Errorf("directory position %d: %w", offset, err)
	}
	return at, nil
}

// DirectoryOffsetPage returns the ids of the directory page at offset by
// OFFSET, with the filter and order of the keyset list, decoding every
// column as the service does.
func (b *Bench) DirectoryOffsetPage(ctx context.Context, offset, limit int) ([]int64, error) {
	rows, err := b.pool.Query(ctx, `SELECT * FROM users WHERE deleted_at IS NULL
		ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT $2`, offset, limit)
	if err != nil {
		return nil, fmt.Errorf("offset page: %w", err)
	}
	us, err := pgx.CollectRows(rows, pgx.RowToStructByPos[dbgen.User])
	if err != nil {
		return nil, fmt.Errorf("offset page: %w", err)
	}
	out := make([]int64, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out, nil
}

// SeedUserIDs returns the ids of the seed users, in id order.
func (b *Bench) SeedUserIDs(ctx context.Context) ([]int64, error) {
	rows, err := b.pool.Query(ctx, "SELECT id FROM users WHERE is_seed_data ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("seed user ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("seed user ids: %w", err)
	}
	return ids, nil
}

// SeededSession is a session SeedSessions made.
type SeededSession struct{ UserID, SessionID int64 }

// SeedSessions opens a day-long session for each of the first n seed
// users, for tokens of userd's own.
func (b *Bench) SeedSessions(ctx context.Context, n int) ([]SeededSession, error) {
	rows, err := b.pool.Query(ctx, `
		INSERT INTO sessions (user_id, expires_at)
		SELECT id, now() + interval '1 day' FROM users WHERE is_seed_data ORDER BY id LIMIT $1
		RETURNING user_id, id`, n)
	if err != nil {
		return nil, fmt.Errorf("seed sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SeededSession, error) {
		var s SeededSession
		err := r.Scan(&s.UserID, &s.SessionID)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("seed sessions: %w", err)
	}
	return out, nil
}

// PasswordScheme returns the scheme of the stored password hash of the
// live user named username.
func (b *Bench) PasswordScheme(ctx context.Context, username string) (password.Scheme, error) {
	u, err := b.q.UserGetByUsername(ctx, username)
	if err != nil {
		return "", fmt.Errorf("user %s: %w", username, err)
	}
	cred, err := b.q.PasswordCredentialGet(ctx, u.ID)
	if err != nil {
		return "", fmt.Errorf("password of %s: %w", username, err)
	}
	return password.Check(cred.Hash)
}

// SeedConsole gives the seeded users what the admin console's pages
// filter on and show: every fiftieth user a verified email, an
// organization (on the unlimited enterprise plan) of every thousandth
// user, and for user targetID a few sessions and audit events. It returns
// the organization's id.
func (b *Bench) SeedConsole(ctx context.Context, targetID int64) (int64, error) {
	var orgID int64
	err := b.pool.QueryRow(ctx, `INSERT INTO organizations (name, plan, is_seed_data) VALUES ('Bench Co', 'enterprise', true) RETURNING id`).Scan(&orgID)
	if err != nil {
		return 0, fmt.Errorf("seed organization: %w", err)
	}
	_, err = b.pool.Exec(ctx, `
		UPDATE users SET email_verified = true WHERE is_seed_data AND id % 50 = 0;
		UPDATE users SET organization_id = `+fmt.Sprint(orgID)+` WHERE is_seed_data AND id % 1000 = 0;
		INSERT INTO sessions (user_id, expires_at) SELECT `+fmt.Sprint(targetID)+`, now() + interval '1 day' FROM generate_series(1, 5);
		INSERT INTO audit_events (actor_id, target_user_id, action, details)
		SELECT `+fmt.Sprint(targetID)+`, `+fmt.Sprint(targetID)+`, 'user.profile_updated', '{}' FROM generate_series(1, 30);
		ANALYZE users; ANALYZE audit_events; ANALYZE sessions;`)
	if err != nil {
		return 0, fmt.Errorf("seed console: %w", err)
	}
	return orgID, nil
}

// SeedAdmin adds an active admin, the caller of the console's pages, and
// returns its id.
func (b *Bench) SeedAdmin(ctx context.Context) (int64, error) {
	var id int64
	err := b.pool.QueryRow(ctx, `INSERT INTO users (username, role, is_seed_data) VALUES ('bench_admin', 'admin', true) RETURNING id`).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("seed admin: %w", err)
	}
	return id, nil
}
