package httpapi_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/userd/userd/pgtest"
)

// secondInstance serves another userd on its own pool over the same
// database, like a second `userd serve` process.
func (e *env) secondInstance() *env {
	e.t.Helper()
	other := *e
	other.db = openCachedDB(e.t, e.pool.Config().ConnString())
	other.pool = other.db.Pool
	var h http.Handler
	h, other.accounts, other.outbox = e.instance(other.db)
	other.srv = serve(e.t, h)
	other.client = other.srv.Client()
	return &other
}

// TestTwoInstancesBehaveAsOne races first sight across two instances and
// uses a refresh token rotated by one at the other.
func TestTwoInstancesBehaveAsOne(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	b := a.secondInstance()

	tok := a.idp.sign("both", map[string]any{"email": "both@example.com"})
	var wg sync.WaitGroup
	ids := make(chan float64, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := a
			if i%2 == 1 {
				e = b
			}
			r := e.do("GET", "/api/v1/users/me", tok, nil)
			if r.status == http.StatusOK {
				ids <- r.json(t)["id"].(float64)
			} else {
				ids <- -1
			}
		}()
	}
	wg.Wait()
	close(ids)
	first := -2.0
	for id := range ids {
		if first == -2 {
			first = id
		}
		if id != first || id < 0 {
			t.Fatalf("got ids %v and %v across instances, want one user", first, id)
		}
	}

	r := a.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "multi@example.com", "password": "a long passphrase 42"})
	expect(t, r, http.StatusCreated, "")
	refresh := r.json(t)["refresh_token"].(string)
	r = b.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": refresh})
	expect(t, r, http.StatusOK, "")
	access := r.json(t)["access_token"].(string)
	expect(t, a.do("GET", "/api/v1/users/me", access, nil), http.StatusOK, "")
	// The rotated token is spent on both instances.
	expect(t, a.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": refresh}), http.StatusUnauthorized, "invalid_token")
}

// TestConnectionsKilled drops every server connection of the test database
// (as a PostgreSQL restart does): requests answer 200 or 503
// db_unavailable, never 500, and the pool recovers by itself.
func TestConnectionsKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("survivor", nil)
	ctx := context.Background()
	// Warm several pooled connections.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); e.do("GET", "/api/v1/users/me", tok, nil) }()
	}
	wg.Wait()
	var dbName string
	if err := e.pool.QueryRow(ctx, "SELECT current_database()").Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	listener := e.listenerPID()
	killer, err := pgxpool.New(ctx, e.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close()
	var killed int
	if err := killer.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, dbName).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("got no connections to kill, want the pool's")
	}
	// The change listener's connection was one of them: once it sees that,
	// the cache is bypassed and the pool drops its dead connections.
	e.waitListenerLost(listener)
	ok := 0
	for range 20 {
		r := e.do("GET", "/api/v1/users/me", tok, nil)
		switch r.status {
		case http.StatusOK:
			ok++
		case http.StatusServiceUnavailable:
			expect(t, r, http.StatusServiceUnavailable, "db_unavailable")
		default:
			t.Fatalf("after killed connections: got %d (%s), want 200 or 503", r.status, r.body)
		}
	}
	if ok == 0 {
		t.Fatal("got no 200 in 20 requests after killed connections, want recovery")
	}
	expect(t, e.do("GET", "/readyz", "", nil), http.StatusOK, "")
}

// A database that is gone (dropped, or a server that refuses the
// connection) is an outage: 503 db_unavailable, never a 500.
func TestDatabaseGoneIs503(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("gone", nil)
	ctx := context.Background()
	var dbName string
	if err := e.pool.QueryRow(ctx, "SELECT current_database()").Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	admin, err := pgxpool.New(ctx, pgtest.AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	// The principal cache answers until its listener sees its connection
	// end (milliseconds), then is bypassed.
	waitFor(t, "the cache to be bypassed", func() bool { return !e.db.PrincipalCacheOnline() })
	for _, r := range []response{
		e.do("GET", "/api/v1/users/me", tok, nil),
		e.do("POST", "/api/v1/auth/login", "", map[string]any{"identifier": "someone@example.com", "password": "whatever it is"}),
	} {
		expect(t, r, http.StatusServiceUnavailable, "db_unavailable")
	}
	expect(t, e.do("GET", "/readyz", "", nil), http.StatusServiceUnavailable, "db_unavailable")
}
