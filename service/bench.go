package service

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/password"
)

// Bench is what `userd bench` needs of its own throwaway database beside
// the services it measures: bulk seeding with COPY, and the single queries
// and plain-SQL baselines the measured calls are compared with. Nothing
// but the benchmarks uses it.
type Bench struct{ db *DB }

// NewBench returns the benchmark helper over db.
func NewBench(db *DB) *Bench { return &Bench{db: db} }

// ServerVersion returns PostgreSQL's server_version.
func (b *Bench) ServerVersion(ctx context.Context) (string, error) {
	var v string
	if err := b.db.Pool.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
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
	if _, err := b.db.Pool.CopyFrom(ctx, pgx.Identifier{"users"}, columns, src); err != nil {
		return fmt.Errorf("copy users: %w", err)
	}
	if _, err := b.db.Pool.Exec(ctx, "ANALYZE users"); err != nil {
		return fmt.Errorf("analyze users: %w", err)
	}
	return nil
}

// SeedIdentities links every seed user named bench_<i> to the identity
// ("bench", "bench-<i>").
func (b *Bench) SeedIdentities(ctx context.Context) error {
	_, err := b.db.Pool.Exec(ctx, `
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
	if _, err := b.db.q.IdentityGetUser(ctx, dbgen.IdentityGetUserParams{Provider: provider, Subject: subject}); err != nil {
		return fmt.Errorf("identity user: %w", err)
	}
	return nil
}

// UserIDByPhone returns the id of the live user whose phone is exactly
// e164.
func (b *Bench) UserIDByPhone(ctx context.Context, e164 string) (int64, error) {
	u, err := b.db.q.UserGetByPhone(ctx, e164)
	if err != nil {
		return 0, fmt.Errorf("user by phone %s: %w", e164, err)
	}
	return u.ID, nil
}

// DirectoryPosition returns the position, in directory order (newest
// first), of the live user at offset: the cursor after which the page at
// offset+1 starts.
func (b *Bench) DirectoryPosition(ctx context.Context, offset int) (Cursor, error) {
	var at Cursor
	err := b.db.Pool.QueryRow(ctx, `SELECT created_at, id FROM users WHERE deleted_at IS NULL
		ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1`, offset).Scan(&at.CreatedAt, &at.ID)
	if err != nil {
		return Cursor{}, fmt.Errorf("directory position %d: %w", offset, err)
	}
	return at, nil
}

// DirectoryOffsetPage returns the ids of the directory page at offset by
// OFFSET, with the filter and order of the keyset list, decoding every
// column as the service does.
func (b *Bench) DirectoryOffsetPage(ctx context.Context, offset, limit int) ([]int64, error) {
	rows, err := b.db.Pool.Query(ctx, `SELECT * FROM users WHERE deleted_at IS NULL
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
	rows, err := b.db.Pool.Query(ctx, "SELECT id FROM users WHERE is_seed_data ORDER BY id")
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
	rows, err := b.db.Pool.Query(ctx, `
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
	u, err := b.db.q.UserGetByUsername(ctx, username)
	if err != nil {
		return "", fmt.Errorf("user %s: %w", username, err)
	}
	cred, err := b.db.q.PasswordCredentialGet(ctx, u.ID)
	if err != nil {
		return "", fmt.Errorf("password of %s: %w", username, err)
	}
	return password.Check(cred.Hash)
}
