package httpapi_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/userd/userd/dburl"
	"github.com/userd/userd/service"
)

// TestStalledDatabase: with users locked by another session, every
// request that needs the table is answered 503 db_unavailable within
// USERD_DB_TIMEOUT + 1 s, its statement is cancelled in PostgreSQL (none
// is left queued on the lock), /healthz stays fast, and service resumes
// when the lock goes.
//
// The scenario holds the lock 25 s against the default 5 s
// timeout; here the timeout is 1 s and the lock is held until every
// request has been answered and the server checked, and at least 3 s
// (three timeouts): long enough that a request not bounded by the timeout,
// or a statement not cancelled, would still be waiting when we look.
// TestStalledDatabase measures answer times, so it does not run beside the
// package's parallel tests: their CPU use would be measured with it.
func TestStalledDatabase(t *testing.T) {
	const timeout, clients = time.Second, 64
	e := newEnv(t)
	// Signed in before the timeout applies: a first sight on a busy
	// machine may take longer than the short timeout of this test.
	tok, _ := e.signIn("stalled", nil)
	// userd's pool as serve opens it: the timeout is also the server's
	// statement and lock timeout.
	cfg, err := dburl.PoolConfig(e.pool.Config().ConnString(), timeout)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	e.db = service.NewDB(pool)
	e.dbTimeout = timeout
	e.reopen()
	e.client = &http.Client{Transport: &http.Transport{MaxConnsPerHost: clients, MaxIdleConnsPerHost: clients}}
	// Open the clients' connections first, so that what is timed below is
	// the answer, not 64 dials on a busy machine.
	var warm sync.WaitGroup
	for range clients {
		warm.Go(func() { expect(t, e.do("GET", "/healthz", "", nil), http.StatusOK, "") })
	}
	warm.Wait()

	ctx := context.Background()
	locker, err := dburl.Connect(ctx, e.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(ctx)
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	locked := time.Now()

	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			start := time.Now()
			r := e.do("GET", "/api/v1/users/me", tok, nil)
			if took := time.Since(start); took > timeout+time.Second {
				t.Errorf("answered in %s, want within %s", took, timeout+time.Second)
			}
			expect(t, r, http.StatusServiceUnavailable, "db_unavailable")
			if r.header.Get("Retry-After") == "" {
				t.Error("db_unavailable without Retry-After")
			}
		})
	}
	start := time.Now()
	expect(t, e.do("GET", "/healthz", "", nil), http.StatusOK, "")
	if took := time.Since(start); took > time.Second {
		t.Errorf("/healthz took %s during the stall, want under 1 s", took)
	}
	wg.Wait()

	// Every statement that waited on the lock was cancelled in the server:
	// by the cancel request sent when the request's deadline passed, or by
	// the lock_timeout backstop. The cancel request travels on a
	// connection of its own, so it may land just after the 503.
	var waiting int
	for deadline := time.Now().Add(250 * time.Millisecond); ; time.Sleep(25 * time.Millisecond) {
		err = e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting == 0 || time.Now().After(deadline) {
			break
		}
	}
	if waiting != 0 {
		t.Fatalf("got %d statements still waiting on the lock after every client was answered, want 0", waiting)
	}
	if held := time.Since(locked); held < 3*timeout {
		time.Sleep(3*timeout - held)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// Service resumes (a few tries: the timeout is short for a busy machine).
	r := e.do("GET", "/api/v1/users/me", tok, nil)
	for i := 0; i < 10 && r.status != http.StatusOK; i++ {
		time.Sleep(200 * time.Millisecond)
		r = e.do("GET", "/api/v1/users/me", tok, nil)
	}
	expect(t, r, http.StatusOK, "")
}
