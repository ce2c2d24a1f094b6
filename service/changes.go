package service

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// principalChannel is where the triggers of migration
// 20261202006001_principal_notify announce a changed user (payload: its id).
const principalChannel = "userd_principal"

// ListenerName is the application_name of the connection that listens for
// principal changes (pg_stat_activity shows it).
const ListenerName = "userd-listen"

// OpenDB opens a pool on cfg with the principal cache of cache
// (CacheConfig.Principals; 0: none) kept coherent with the database:
//
//   - every connection of the pool LISTENs on userd_principal, so a write
//     this process makes drops the users it changed from the cache before
//     its COMMIT (or autocommit statement) returns: PostgreSQL delivers a
//     session's own notifications ahead of the ReadyForQuery that ends the
//     transaction, and pgx hands them over as it reads;
//   - one more connection (application_name userd-listen) waits for the
//     notifications of every other writer (other instances, psql), which
//     arrive within milliseconds of their commit;
//   - that connection proves itself with a heartbeat (a round trip on it)
//     every half of CacheConfig.ListenerStale (2 s by default); while it
//     is down, or has not proved itself for ListenerStale (a stalled
//     network: packets dropped, socket open), the cache is bypassed
//     (nothing read, nothing stored); a connection that fails a heartbeat
//     is dropped and reconnected with backoff, and once it listens again
//     the cache starts empty.
//
// Close stops the listener and closes the pool.
func OpenDB(ctx context.Context, cfg *pgxpool.Config, cache CacheConfig, log *slog.Logger) (*DB, error) {
	return OpenDBWith(ctx, cfg, DBOptions{Cache: cache, Log: log})
}

// Close stops the change listener and the replica checker, if any, and
// closes the pools.
func (db *DB) Close() {
	if db.stop != nil {
		db.stop()
	}
	db.Pool.Close()
	if db.replica != nil {
		db.replica.pool.Close()
	}
}

// PrincipalCacheOnline reports whether the principal cache is in use: it
// exists and its listener listens.
func (db *DB) PrincipalCacheOnline() bool { return db.principals.isOnline() }

// onNotification drops the user a notification names; a payload that is
// not an id flushes everything.
func (c *principalCache) onNotification(_ *pgconn.PgConn, n *pgconn.Notification) {
	if n.Channel != principalChannel {
		return
	}
	id, err := strconv.ParseInt(n.Payload, 10, 64)
	if err != nil {
		c.flush()
		return
	}
	c.invalidate(id)
}

// listen keeps a connection listening on userd_principal until ctx ends,
// turning the cache on while it listens and off (bypassed) while it does
// not. A listening connection lost is a sign that the server restarted or
// the network failed: lost runs then (the pool drops its connections, which
// would otherwise fail one request each).
func listen(ctx context.Context, cfg *pgx.ConnConfig, channels []string, pc *principalCache, lost func(), log *slog.Logger) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := listenOnce(ctx, cfg, channels, pc)
		wasOnline := pc.listening()
		pc.setOnline(false)
		if ctx.Err() != nil {
			return
		}
		if wasOnline {
			lost()
			backoff = 50 * time.Millisecond
		}
		if log != nil {
			log.Warn("principal cache bypassed: the change listener lost its connection; reconnecting", "err", err, "retry_in", backoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// listenConnectTimeout bounds the listener's connect and LISTEN: a
// network that swallows packets must not hold it forever.
const listenConnectTimeout = 5 * time.Second

// listenOnce connects, listens on channels and waits for notifications until the
// connection fails, a heartbeat is not answered within pc.stale, or ctx
// ends. The cache is on only once LISTEN took, and used only while the
// last heartbeat is less than pc.stale old.
func listenOnce(ctx context.Context, cfg *pgx.ConnConfig, channels []string, pc *principalCache) error {
	cctx, cancel := context.WithTimeout(ctx, listenConnectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, ch := range channels {
		if _, err := conn.Exec(cctx, "LISTEN "+ch); err != nil {
			return err
		}
	}
	last := time.Now()
	pc.proved(last)
	pc.setOnline(true)
	every := pc.stale / 2
	for {
		// The notification itself reaches the cache through
		// cfg.OnNotification, as it does on the pool's connections.
		next := last.Add(every)
		wctx, cancel := context.WithDeadline(ctx, next)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !pgconn.Timeout(err) {
			return err
		}
		if time.Now().Before(next) {
			continue
		}
		// The heartbeat: every notification committed before it was
		// sent reaches us ahead of its answer.
		sent := time.Now()
		hctx, cancel := context.WithTimeout(ctx, pc.stale)
		err = conn.Ping(hctx)
		cancel()
		if err != nil {
			return fmt.Errorf("heartbeat of the change listener: %w", err)
		}
		pc.proved(sent)
		last = sent
	}
}
