package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DBOptions says how OpenDBWith opens the database.
type DBOptions struct {
	// Cache is the principal cache (the zero value: none).
	Cache CacheConfig
	// Pooler is true when the pool's connections go through a pooler in
	// transaction mode (PgBouncer pool_mode=transaction,
	// USERD_DB_POOLER=transaction): a connection carries no session state
	// from one transaction to the next. The pool's connections then LISTEN
	// to nothing; the timeouts are set per transaction (SET LOCAL); and a
	// transaction that wrote waits, after its COMMIT, until this process's
	// change listener has seen a marker it sent last, so the principal
	// cache has dropped what it changed before the write returns (see
	// OpenDB for the session-mode way).
	Pooler bool
	// Timeout (USERD_DB_TIMEOUT), with Pooler, becomes each transaction's
	// statement_timeout and lock_timeout (SET LOCAL); without a pooler the
	// pool's URL sets them at connection start (dburl.PoolConfig).
	Timeout time.Duration
	// Listen is the connection the change listener opens; nil: one like
	// the pool's. Through a pooler it must reach PostgreSQL directly
	// (USERD_LISTEN_DATABASE_URL): LISTEN is session state.
	Listen *pgx.ConnConfig
	// Replica, when not nil, is a streaming replica's pool, read by the
	// directory, the audit log, public profiles, follower and following
	// pages and organization member lists (see Replica).
	Replica *pgxpool.Config
	// ReplicaMaxLag is the replay lag past which reads go to the primary
	// (USERD_REPLICA_MAX_LAG); 0: one second.
	ReplicaMaxLag time.Duration
	// Log receives the listener's and the replica checker's warnings; nil:
	// none.
	Log *slog.Logger
}

// barrierChannel carries the markers a transaction sends through a pooler
// (DBOptions.Pooler) after its writes' own notifications.
const barrierChannel = "userd_barrier"

// barriers hands out markers and wakes whoever waits for one when the
// change listener sees it. Notifications reach a listener in commit order,
// and those of one transaction in the order it sent them: once the marker
// a transaction sent last arrives, so have its invalidations.
type barriers struct {
	prefix string
	next   atomic.Uint64
	mu     sync.Mutex
	wait   map[string]chan struct{}
}

func newBarriers() *barriers {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &barriers{prefix: hex.EncodeToString(b[:]) + ":", wait: map[string]chan struct{}{}}
}

// take returns a fresh marker and the channel closed when it arrives.
func (b *barriers) take() (string, chan struct{}) {
	m := b.prefix + strconv.FormatUint(b.next.Add(1), 10)
	ch := make(chan struct{})
	b.mu.Lock()
	b.wait[m] = ch
	b.mu.Unlock()
	return m, ch
}

// drop forgets a marker nobody waits for any more.
func (b *barriers) drop(m string) {
	b.mu.Lock()
	delete(b.wait, m)
	b.mu.Unlock()
}

// arrived wakes the waiter of marker m, if it is one of ours.
func (b *barriers) arrived(m string) {
	b.mu.Lock()
	ch, ok := b.wait[m]
	delete(b.wait, m)
	b.mu.Unlock()
	if ok {
		close(ch)
	}
}

// barrierWait bounds the wait for a marker; past it the whole principal
// cache is dropped instead, which is as safe and rarely needed.
const barrierWait = 2 * time.Second

// OpenDBWith opens a pool on cfg as opts says (see DBOptions and OpenDB).
// Close stops the listener and the replica checker and closes the pools.
// Errors: an unusable pool configuration.
func OpenDBWith(ctx context.Context, cfg *pgxpool.Config, opts DBOptions) (*DB, error) {
	pc := newPrincipalCache(opts.Cache)
	cfg = cfg.Copy()
	var bar *barriers
	if pc != nil {
		if opts.Pooler {
			bar = newBarriers()
		} else {
			cfg.ConnConfig.OnNotification = pc.onNotification
			after := cfg.AfterConnect
			cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
				if after != nil {
					if err := after(ctx, c); err != nil {
						return err
					}
				}
				_, err := c.Exec(ctx, "LISTEN "+principalChannel)
				return err
			}
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	db := &DB{Pool: pool, q: queries(pool), principals: pc, barriers: bar}
	if opts.Pooler {
		db.txTimeout = opts.Timeout
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	db.stop = func() {
		stop()
		wg.Wait()
	}
	if opts.Replica != nil {
		r, err := openReplica(ctx, opts.Replica, opts.ReplicaMaxLag)
		if err != nil {
			db.Close()
			return nil, err
		}
		db.replica = r
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.run(bg, pool, opts.Log)
		}()
	}
	if pc == nil {
		return db, nil
	}
	lcfg := cfg.ConnConfig.Copy()
	if opts.Listen != nil {
		lcfg = opts.Listen.Copy()
	}
	lcfg.RuntimeParams["application_name"] = ListenerName
	// The listener's waits end by a deadline on the socket, not by a
	// cancel request: it waits with a deadline every heartbeat.
	lcfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	channels := []string{principalChannel}
	if bar != nil {
		channels = append(channels, barrierChannel)
	}
	lcfg.OnNotification = func(c *pgconn.PgConn, n *pgconn.Notification) {
		if n.Channel == barrierChannel {
			bar.arrived(n.Payload)
			return
		}
		pc.onNotification(c, n)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		listen(bg, lcfg, channels, pc, pool.Reset, opts.Log)
	}()
	return db, nil
}

// beginSQL is the statement that opens a transaction: through a pooler it
// also sets the transaction's timeouts, in the same round trip.
func (db *DB) beginSQL(readOnly bool) string {
	if db.txTimeout <= 0 {
		return ""
	}
	ms := strconv.FormatInt(max(db.txTimeout.Milliseconds(), 1), 10)
	begin := "BEGIN"
	if readOnly {
		begin = "BEGIN READ ONLY"
	}
	return begin + "; SET LOCAL statement_timeout = " + ms + "; SET LOCAL lock_timeout = " + ms
}

// sendBarrier, in a transaction through a pooler with the principal cache
// on, sends a marker after whatever the transaction notified, if it wrote
// anything; it returns the marker and the channel closed when the listener
// sees it ("": nothing to wait for).
func (db *DB) sendBarrier(ctx context.Context, tx pgx.Tx) (string, chan struct{}, error) {
	if db.barriers == nil || !db.principals.isOnline() {
		return "", nil, nil
	}
	m, ch := db.barriers.take()
	tag, err := tx.Exec(ctx, "SELECT pg_notify($1, $2) WHERE pg_current_xact_id_if_assigned() IS NOT NULL", barrierChannel, m)
	if err != nil || tag.RowsAffected() == 0 {
		db.barriers.drop(m)
		return "", nil, err
	}
	return m, ch, nil
}

// awaitBarrier waits until the listener saw marker m (its transaction
// committed), the listener went down (the cache is bypassed then), or
// barrierWait passed; in the last case the cache is flushed.
func (db *DB) awaitBarrier(ctx context.Context, m string, ch chan struct{}) {
	t := time.NewTimer(barrierWait)
	defer t.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ch:
			return
		case <-tick.C:
			if !db.principals.isOnline() {
				db.barriers.drop(m)
				return
			}
			continue
		case <-ctx.Done():
		case <-t.C:
		}
		db.barriers.drop(m)
		db.principals.flush()
		return
	}
}
