package service

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/userd/userd/dbgen"
)

// replicaCheckEvery is how often the replica's replay position is compared
// with the primary's (at most).
const replicaCheckEvery = 100 * time.Millisecond

// maxPendingWriters bounds the callers remembered for read-your-writes;
// past it every caller waits for the replica to pass the newest write.
const maxPendingWriters = 100_000

// walSample is the primary's WAL position, read at or after at.
type walSample struct {
	at  time.Time
	lsn uint64
}

// replica routes reads to a streaming replica while it is fresh enough.
//
// Every replicaCheckEvery a checker reads the primary's WAL position
// (pg_current_wal_lsn) and then the replica's replay position
// (pg_last_wal_replay_lsn). The replica's lag is how long ago the oldest
// primary position it has not replayed was read (0 when it has replayed the
// newest): no clocks are compared between servers. Reads go to the replica
// while that lag is under maxLag and the last check succeeded.
//
// Read-your-writes: a transaction committed for a caller (WithCaller)
// records the time of its commit; that caller's reads go to the primary
// until the replica has replayed a primary position read after that
// commit, hence past the commit itself. It is LSN-based, not a fixed
// time: a replica stuck for a minute keeps the caller on the primary for
// that minute. A failed read on the replica is run again on the primary.
type replica struct {
	pool   *pgxpool.Pool
	q      *dbgen.Queries
	maxLag time.Duration

	mu      sync.Mutex
	samples []walSample // newest last, spanning a little over maxLag
	replay  uint64      // the replica's replay position at the last check
	fresh   bool        // the last check succeeded with a lag under maxLag
	lag     time.Duration
	pending map[int64]time.Time // caller → commit time of their last write
	floor   time.Time           // every caller's writes before this are pending

	reads, fallbacks atomic.Int64
}

func openReplica(ctx context.Context, cfg *pgxpool.Config, maxLag time.Duration) (*replica, error) {
	if maxLag <= 0 {
		maxLag = time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open replica pool: %w", err)
	}
	return &replica{pool: pool, q: queries(pool), maxLag: maxLag, pending: map[int64]time.Time{}}, nil
}

// CallerKey is the context key under which the id (int64) of the user a
// request acts for is found. WithCaller sets it; a request context of
// its own may answer it directly.
type CallerKey struct{}

// WithCaller returns ctx acting for user id: that user's writes are
// remembered, so that their reads do not go to a replica that has not
// replayed them yet.
func WithCaller(ctx context.Context, userID int64) context.Context {
	return context.WithValue(ctx, CallerKey{}, userID)
}

func callerOf(ctx context.Context) (int64, bool) {
	id, ok := ctx.Value(CallerKey{}).(int64)
	return id, ok
}

// wrote records that ctx's caller committed a write now.
func (r *replica) wrote(ctx context.Context) {
	if r == nil {
		return
	}
	id, ok := callerOf(ctx)
	if !ok {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) >= maxPendingWriters {
		clear(r.pending)
		r.floor = now
	}
	r.pending[id] = now
}

// usable reports whether ctx's caller may read from the replica now.
func (r *replica) usable(ctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.fresh {
		return false
	}
	need := r.floor
	id, ok := callerOf(ctx)
	if ok {
		if w, ok := r.pending[id]; ok && w.After(need) {
			need = w
		}
	}
	if need.IsZero() {
		return true
	}
	if !r.replayedAfter(need) {
		return false
	}
	if ok {
		delete(r.pending, id)
	}
	return true
}

// replayedAfter reports whether the replica has replayed a primary
// position read after t; the lock is held.
func (r *replica) replayedAfter(t time.Time) bool {
	for _, s := range r.samples {
		if s.at.After(t) {
			return r.replay >= s.lsn
		}
	}
	return false
}

// run checks the replica every replicaCheckEvery until ctx ends.
func (r *replica) run(ctx context.Context, primary *pgxpool.Pool, log *slog.Logger) {
	t := time.NewTicker(replicaCheckEvery)
	defer t.Stop()
	wasFresh := false
	for {
		err := r.check(ctx, primary)
		r.mu.Lock()
		fresh, lag := r.fresh, r.lag
		r.mu.Unlock()
		if log != nil && fresh != wasFresh {
			if fresh {
				log.Info("replica in use", "lag", lag)
			} else {
				log.Warn("replica not in use: reads go to the primary", "lag", lag, "err", err)
			}
		}
		wasFresh = fresh
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check reads both positions and updates the replica's state.
func (r *replica) check(ctx context.Context, primary *pgxpool.Pool) error {
	ctx, cancel := context.WithTimeout(ctx, max(r.maxLag, time.Second))
	defer cancel()
	at := time.Now()
	var primaryLSN, replay uint64
	err := primary.QueryRow(ctx, "SELECT (pg_current_wal_lsn() - '0/0')::bigint").Scan(&primaryLSN)
	if err == nil {
		err = r.pool.QueryRow(ctx, "SELECT coalesce((pg_last_wal_replay_lsn() - '0/0')::bigint, -1)").Scan(&replay)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.fresh = false
		return err
	}
	r.samples = append(r.samples, walSample{at: at, lsn: primaryLSN})
	// Keep the samples of the last maxLag and one more before them.
	for len(r.samples) > 2 && time.Since(r.samples[1].at) > r.maxLag+replicaCheckEvery {
		r.samples = r.samples[1:]
	}
	r.replay = replay
	r.lag = 0
	for _, s := range r.samples {
		if s.lsn > replay {
			r.lag = time.Since(s.at)
			break
		}
	}
	r.fresh = r.lag < r.maxLag
	for id, w := range r.pending {
		if r.replayedAfter(w) {
			delete(r.pending, id)
		}
	}
	return nil
}

// ReplicaStats counts the reads meant for the replica: served there, or
// run on the primary instead.
type ReplicaStats struct {
	Configured bool
	Fresh      bool // the last check found the replica within the lag bound
	Lag        time.Duration
	Reads      int64 // reads the replica served
	Fallbacks  int64 // reads that went to the primary: lag, own writes, failure
}

// ReplicaStats returns the replica's counters (zero without one).
func (db *DB) ReplicaStats() ReplicaStats {
	r := db.replica
	if r == nil {
		return ReplicaStats{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return ReplicaStats{Configured: true, Fresh: r.fresh, Lag: r.lag, Reads: r.reads.Load(), Fallbacks: r.fallbacks.Load()}
}

// readV runs a read that may go to the replica: there when it is fresh
// enough for ctx's caller, else on the primary. A read the replica fails
// (unreachable, cancelled for a conflict with recovery, a database it has
// not replayed yet) runs again on the primary; a row it does not have is
// an answer. Its error comes back mapped (mapDBError).
func readV[T any](ctx context.Context, db *DB, fn func(q *dbgen.Queries) (T, error)) (T, error) {
	return readAt(ctx, db, func(q *dbgen.Queries, _ *pgxpool.Pool) (T, error) { return fn(q) })
}

// readTxV is readV for a read-only transaction.
func readTxV[T any](ctx context.Context, db *DB, fn func(q *dbgen.Queries) (T, error)) (T, error) {
	return readAt(ctx, db, func(q *dbgen.Queries, pool *pgxpool.Pool) (T, error) {
		var zero T
		tx, err := pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, BeginQuery: db.beginSQL(true)})
		if err != nil {
			return zero, fmt.Errorf("begin: %w", err)
		}
		defer rollback(ctx, tx)
		v, err := fn(queries(tx))
		if err != nil {
			return zero, err
		}
		if err := tx.Commit(ctx); err != nil {
			return zero, fmt.Errorf("commit: %w", err)
		}
		return v, nil
	})
}

func readAt[T any](ctx context.Context, db *DB, fn func(q *dbgen.Queries, pool *pgxpool.Pool) (T, error)) (T, error) {
	if r := db.replica; r != nil {
		if r.usable(ctx) {
			v, err := fn(r.q, r.pool)
			if err == nil || ctx.Err() != nil || noRows(err) {
				if err == nil {
					r.reads.Add(1)
				}
				return v, mapDBError(err)
			}
			if unavailable(err) {
				r.mu.Lock()
				r.fresh = false
				r.mu.Unlock()
			}
		}
		r.fallbacks.Add(1)
	}
	v, err := fn(db.q, db.Pool)
	return v, mapDBError(err)
}
