package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/phone"
)

// Constraint names the schema gives its invariants, so a violation maps to
// the right domain error.
const (
	constraintUsernameKey = "users_username_key"
	constraintEmailKey    = "users_email_key"
	constraintPhoneKey    = "users_phone_key"
	constraintPendingKey  = "invitations_pending_key"
	// constraintSeatLimit is raised by the seat triggers (a check
	// violation) when an organization would use more seats than its plan has.
	constraintSeatLimit = "organizations_seat_limit"
)

// pgErrorFields maps CHECK constraints to the input field they guard.
var pgErrorFields = map[string]string{
	"users_username_chk":          "username",
	"users_email_chk":             "email",
	"users_phone_chk":             "phone",
	"users_first_name_chk":        "first_name",
	"users_last_name_chk":         "last_name",
	"users_bio_chk":               "bio",
	"users_date_of_birth_chk":     "date_of_birth",
	"users_instagram_handle_chk":  "instagram_handle",
	"users_country_chk":           "country",
	"users_city_chk":              "city",
	"users_zipcode_chk":           "zipcode",
	"users_role_chk":              "role",
	"users_artist_id_chk":         "artist_id",
	"users_preferences_chk":       "preferences",
	"users_preferences_depth_chk": "preferences",
	"users_pending_email_chk":     "email",
	"users_email_verified_chk":    "email_verified",
	"users_phone_verified_chk":    "phone_verified",
	"users_latitude_chk":          "latitude",
	"users_longitude_chk":         "longitude",
	"organizations_name_chk":      "name",
	"invitations_email_chk":       "email",
	// The canonical form (NormalizeEmail) of the addresses.
	"users_email_canonical_chk":         "email",
	"users_pending_email_canonical_chk": "email",
	"invitations_email_canonical_chk":   "email",
}

// unavailable reports whether err means the database could not be used
// at all, as opposed to refusing this statement: a failure to connect
// (server down, restarting, bad password), a connection lost mid-statement
// (crash, admin shutdown, reset), a server that cannot take connections
// now, and every wait cut short: the request's deadline
// (USERD_DB_TIMEOUT) while acquiring a connection or running a statement,
// a statement or lock timeout, a statement cancelled for a deadline. A
// context cancelled by a client that went away is not one of them: the
// HTTP layer answers that 499.
func unavailable(err error) bool {
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", // admin shutdown, crash shutdown, cannot connect now
			"53300",          // too many connections
			"57014", "55P03": // statement cancelled (timeout or deadline), lock timeout
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08") // connection exception
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "closed pool")
}

// mapDBError turns PostgreSQL errors into domain errors: unique, check and
// foreign-key violations by constraint name, lost connections into
// ErrDBUnavailable, no rows into ErrNotFound. Other errors pass through.
func mapDBError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := ErrorOf(err); ok {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if unavailable(err) {
		return withCause(ErrDBUnavailable, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			switch pgErr.ConstraintName {
			case constraintEmailKey:
				return withCause(ErrEmailTaken, err)
			case constraintPhoneKey:
				return withCause(ErrPhoneTaken, err)
			case constraintUsernameKey:
				return withCause(ErrUsernameTaken, err)
			case constraintPendingKey:
				return withCause(ErrInvitationPending, err)
			}
			return withCause(ErrConflict, err)
		case "23514":
			if pgErr.ConstraintName == constraintSeatLimit {
				return withCause(ErrSeatLimit, err)
			}
			field := pgErrorFields[pgErr.ConstraintName]
			if field == "" {
				field = strings.TrimSuffix(pgErr.ConstraintName, "_chk")
			}
			return withCause(Invalid(FieldError{Field: field, Message: "is not valid"}), err)
		case "23503":
			return withCause(ErrNotFound, err)
		case "22021", "22P05": // a character (NUL) the database cannot store
			return withCause(Invalid(FieldError{Field: "", Message: "holds a character that cannot be stored"}), err)
		case "22003", "22P02": // a number out of range, a value of the wrong form
			return withCause(Invalid(FieldError{Field: "", Message: "holds a value out of range"}), err)
		}
		return err
	}
	return err
}

// DB is the handle services share: the pool and its queries, and the
// principal cache when it was opened with one (OpenDB).
type DB struct {
	Pool       *pgxpool.Pool
	q          *dbgen.Queries
	principals *principalCache // nil: none
	stop       func()          // stops the change listener and the replica checker; nil: none
	// txTimeout, through a pooler, is each transaction's statement and
	// lock timeout (SET LOCAL); 0: none (set per connection, or none).
	txTimeout time.Duration
	barriers  *barriers // through a pooler with the principal cache; nil: none
	replica   *replica  // nil: none
}

// NewDB wraps a pool, with no principal cache (see OpenDB).
func NewDB(pool *pgxpool.Pool) *DB {
	return &DB{Pool: pool, q: queries(pool)}
}

// queries returns the queries over conn (a pool or a transaction), whose
// errors come back mapped to domain errors (mapDBError): inside a
// transaction and outside, the code sees one kind of error.
func queries(conn dbgen.DBTX) *dbgen.Queries { return dbgen.New(mapped{conn}) }

// mapped is a connection whose errors are mapped (mapDBError).
type mapped struct{ dbgen.DBTX }

func (m mapped) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	t, err := m.DBTX.Exec(ctx, sql, args...)
	return t, mapDBError(err)
}

func (m mapped) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := m.DBTX.Query(ctx, sql, args...)
	if err != nil {
		return rows, mapDBError(err)
	}
	return mappedRows{rows}, nil
}

func (m mapped) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return mappedRow{m.DBTX.QueryRow(ctx, sql, args...)}
}

func (m mapped) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	n, err := m.DBTX.CopyFrom(ctx, table, columns, src)
	return n, mapDBError(err)
}

type mappedRow struct{ pgx.Row }

func (r mappedRow) Scan(dest ...any) error { return mapDBError(r.Row.Scan(dest...)) }

type mappedRows struct{ pgx.Rows }

func (r mappedRows) Scan(dest ...any) error { return mapDBError(r.Rows.Scan(dest...)) }
func (r mappedRows) Err() error             { return mapDBError(r.Rows.Err()) }

// retryable reports whether a transaction failed on a serialization
// failure or deadlock and may simply run again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// uniqueViolation reports whether a statement broke a unique constraint.
func uniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// inTx runs fn in a transaction and commits it; fn's error rolls it back.
// A serialization failure or deadlock runs fn again (three tries). The
// queries fn is given map their errors (queries), and so does inTx: the
// error that comes back is a domain error, or one the database gave
// that maps to none.
func inTx(ctx context.Context, db *DB, fn func(q *dbgen.Queries) error) error {
	var err error
	for range 3 {
		if err = tryTx(ctx, db, fn); err == nil || !retryable(err) {
			break
		}
	}
	return mapDBError(err)
}

// inTxV is inTx for a transaction that hands back a value.
func inTxV[T any](ctx context.Context, db *DB, fn func(q *dbgen.Queries) (T, error)) (T, error) {
	var v T
	err := inTx(ctx, db, func(q *dbgen.Queries) error {
		var err error
		v, err = fn(q)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

func tryTx(ctx context.Context, db *DB, fn func(q *dbgen.Queries) error) error {
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: db.beginSQL(false)})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer rollback(ctx, tx)
	if err := fn(queries(tx)); err != nil {
		return err
	}
	marker, seen, err := db.sendBarrier(ctx, tx)
	if err != nil {
		return fmt.Errorf("change marker: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		if marker != "" {
			db.barriers.drop(marker)
		}
		return fmt.Errorf("commit: %w", err)
	}
	db.replica.wrote(ctx)
	if marker != "" {
		db.awaitBarrier(ctx, marker, seen)
	}
	return nil
}

// rollbackTimeout bounds a rollback, which runs on a deadline of its
// own: the caller's context may have ended (that is often why the
// transaction is rolled back), and a connection that does not answer must
// not hold the caller.
const rollbackTimeout = 5 * time.Second

// rollback rolls tx back, a no-op after its commit.
func rollback(ctx context.Context, tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	_ = tx.Rollback(ctx) // its error is the transaction's own, or moot after commit
}

// errOnly drops a write's result (a row count, an id) when only its error
// matters.
func errOnly[T any](_ T, err error) error { return err }

// noRows reports whether a query found no row (or the row it refers to).
func noRows(err error) bool { return errors.Is(err, ErrNotFound) }

// notFoundAs maps a missing row to domain error e; other errors pass
// through.
func notFoundAs(err error, e *Error) error {
	if noRows(err) {
		return e
	}
	return err
}

// usersByPhone returns the live user whose number is e164 or, failing
// that, every live user whose number ends in the same ten digits.
func (db *DB) usersByPhone(ctx context.Context, e164 string) ([]dbgen.User, error) {
	row, err := db.q.UserGetByPhone(ctx, e164)
	if err == nil {
		return []dbgen.User{row}, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	last10 := phone.Last10(e164)
	if last10 == "" {
		return nil, nil
	}
	return db.q.UserListByPhoneLast10(ctx, last10)
}

// PoolStats is a snapshot of the connection pool, for metrics.
type PoolStats struct {
	Total, Idle, Acquired, Max int32
	AcquireCount               int64
	AcquireDuration            time.Duration
	EmptyAcquireCount          int64
}

// Stats returns a snapshot of the connection pool.
func (db *DB) Stats() PoolStats {
	s := db.Pool.Stat()
	return PoolStats{
		Total: s.TotalConns(), Idle: s.IdleConns(), Acquired: s.AcquiredConns(), Max: s.MaxConns(),
		AcquireCount: s.AcquireCount(), AcquireDuration: s.AcquireDuration(), EmptyAcquireCount: s.EmptyAcquireCount(),
	}
}

// SchemaCheck reports an error when the database q reaches does not hold
// the schema this build expects; migrate.Check is one.
type SchemaCheck = func(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) error

// Ready returns the readiness probe of the database: it answers, and check
// finds its schema current.
// The probe's errors: db_unavailable, wrapping check's error.
func (db *DB) Ready(check SchemaCheck) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := check(ctx, db.Pool); err != nil {
			return withCause(ErrDBUnavailable, err)
		}
		return nil
	}
}
