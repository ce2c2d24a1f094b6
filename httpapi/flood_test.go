package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/userd/userd/httpapi"
	"github.com/userd/userd/password"
	"github.com/userd/userd/service"
)

// TestLoginFloodIsBounded: with every hashing slot taken and the queue
// full, further logins are refused at once with 503 overloaded and
// Retry-After, never queued without bound; the queued ones are answered
// when a slot frees. Asserted on the gate's state, not on timings.
func TestLoginFloodIsBounded(t *testing.T) {
	t.Parallel()
	const queue, flood = 3, 12
	e := newEnv(t)
	gate := password.NewGate(password.GateConfig{Concurrency: 1, Queue: queue, Wait: time.Minute})
	e.gate = gate
	e.reopen()

	hold, err := gate.Enter(context.Background()) // the one slot: nothing can hash
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan response, flood)
	var wg sync.WaitGroup
	for i := range flood {
		wg.Go(func() { results <- e.login(fmt.Sprintf("nobody%d@example.com", i), "wrong password!") })
	}
	// Every request beyond the queue is answered while the slot is held.
	refused := 0
	for refused < flood-queue {
		r := <-results
		expect(t, r, http.StatusServiceUnavailable, "overloaded")
		if r.header.Get("Retry-After") == "" {
			t.Fatal("overloaded answer without Retry-After")
		}
		refused++
	}
	if s := gate.Stats(); s.Waiting != queue || s.Running != 1 || s.Rejected != flood-queue {
		t.Fatalf("while held: got %+v, want %d waiting, 1 running, %d rejected", s, queue, flood-queue)
	}
	hold()
	wg.Wait()
	close(results)
	for r := range results {
		expect(t, r, http.StatusUnauthorized, "invalid_credentials")
	}
	if s := gate.Stats(); s.PeakRunning != 1 || s.PeakWaiting != queue || s.Running != 0 || s.Waiting != 0 {
		t.Fatalf("after: got %+v, want peaks 1 running and %d waiting, nothing left", s, queue)
	}
}

// TestLoginFloodBoundsDatabaseWork: a login takes its place in the
// hashing queue before its database work, so a flood cannot crowd the
// pool while that work is slow: with login_failures locked, only
// concurrency + queue logins wait in PostgreSQL, the rest are refused at
// once (503 overloaded), and the ones let in are answered when the lock
// goes.
func TestLoginFloodBoundsDatabaseWork(t *testing.T) {
	t.Parallel()
	const queue, flood = 3, 12
	e := newEnv(t)
	e.gate = password.NewGate(password.GateConfig{Concurrency: 1, Queue: queue, Wait: time.Minute})
	e.reopen()

	ctx := context.Background()
	hold, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(ctx) //nolint:errcheck // rolled back below
	if _, err := hold.Exec(ctx, "LOCK TABLE login_failures IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	results := make(chan response, flood)
	for i := range flood {
		go func() { results <- e.login(fmt.Sprintf("nobody%d@example.com", i), "wrong password!") }()
	}
	for range flood - queue - 1 {
		select {
		case r := <-results:
			expect(t, r, http.StatusServiceUnavailable, "overloaded")
		case <-time.After(20 * time.Second):
			t.Fatal("logins beyond the queue were not refused within 20 s: they wait in the database")
		}
	}
	e.waitLockWaiters(queue + 1)
	if err := hold.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for range queue + 1 {
		expect(t, <-results, http.StatusUnauthorized, "invalid_credentials")
	}
}

// TestLoginDelayHoldsNoHashingPlace: an attempt waiting out its
// identifier's delay gives its hashing place back meanwhile, so attempts
// against one account (from many addresses) cannot fill the queue and
// lock everyone else out; it takes a place again after the delay.
func TestLoginDelayHoldsNoHashingPlace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gate := password.NewGate(password.GateConfig{Concurrency: 1, Queue: 1, Wait: time.Minute})
	e.gate = gate
	_, accounts := e.reopen()
	accounts.Limits.DelayAfter, accounts.Limits.MaxDelay = 1, 10*time.Second

	// No delay, then 1 s and 2 s: the next attempt waits 4 s, long enough
	// to look at the gate during it even on a busy machine.
	for range 3 {
		expect(t, e.login("victim@example.com", "wrong password!"), http.StatusUnauthorized, "invalid_credentials")
	}
	delayed := make(chan response, 1)
	go func() { delayed <- e.login("victim@example.com", "wrong password!") }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var n int
		if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM login_failures`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 4 {
			break // the fourth attempt is recorded: it is waiting out its delay
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d recorded attempts after 10 s, want 4", n)
		}
	}
	// The attempt gives its place back once its record is committed; through
	// a transaction-mode pooler that is after the commit's change marker
	// came back (a few milliseconds), so the place is looked at until then,
	// well inside the delay.
	for deadline := time.Now().Add(time.Second); ; time.Sleep(time.Millisecond) {
		s := gate.Stats()
		if s.Running == 0 && s.Waiting == 0 {
			break
		}
		if time.Now().After(deadline) || len(delayed) > 0 {
			t.Fatalf("during the delay: got %+v, want no place held", s)
		}
	}
	expect(t, <-delayed, http.StatusUnauthorized, "invalid_credentials")
	if s := gate.Stats(); s.Running != 0 || s.Waiting != 0 || s.PeakRunning != 1 || s.Rejected != 0 {
		t.Fatalf("after: got %+v, want the place taken again and given back", s)
	}
}

// waitLockWaiters waits up to 20 s until exactly n statements of e's
// database wait on a lock.
func (e *env) waitLockWaiters(n int) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var waiting int
		if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			e.t.Fatal(err)
		}
		if waiting == n {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("got %d statements waiting on a lock after 20 s, want %d", waiting, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTrustedProxy: behind a trusted proxy each client has its own login
// limit and its own address on its sessions; an address the client wrote
// into X-Forwarded-For itself is not believed.
func TestTrustedProxy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.trusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	_, accounts := e.reopen()
	accounts.Limits.PerIP = 3

	in := e.register(map[string]any{"username": "proxied"})
	access, _ := tokens(in)
	// The login carries a spoofed leftmost address; the proxy appended the real one.
	expect(t, e.login("proxied", testPassword, "X-Forwarded-For", "6.6.6.6, 203.0.113.9"), http.StatusOK, "")
	r := e.do("GET", "/api/v1/users/me/sessions", access, nil)
	expect(t, r, http.StatusOK, "")
	var ips []any
	for _, it := range r.json(t)["items"].([]any) {
		ips = append(ips, it.(map[string]any)["ip"])
	}
	if !slices.Contains(ips, any("203.0.113.9")) || slices.Contains(ips, any("6.6.6.6")) {
		t.Fatalf("session addresses: got %v, want 203.0.113.9 (the proxy's view) and never 6.6.6.6", ips)
	}

	for i := range 3 {
		expect(t, e.login(fmt.Sprintf("who%d", i), "wrong password!", "X-Forwarded-For", "198.51.100.1"), http.StatusUnauthorized, "invalid_credentials")
	}
	expect(t, e.login("who9", "wrong password!", "X-Forwarded-For", "198.51.100.1"), http.StatusTooManyRequests, "rate_limited")
	// Another client behind the same proxy is not limited by the first.
	expect(t, e.login("who9", "wrong password!", "X-Forwarded-For", "198.51.100.2"), http.StatusUnauthorized, "invalid_credentials")
	// The first cannot escape its limit by writing another address first.
	expect(t, e.login("who9", "wrong password!", "X-Forwarded-For", "198.51.100.2, 198.51.100.1"), http.StatusTooManyRequests, "rate_limited")
}

// TestSignupLimitPerAddress: registrations and forgot-password requests
// share one per-address budget; past it they are 429 with Retry-After,
// and another address is not affected.
func TestSignupLimitPerAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.trusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	_, accounts := e.reopen()
	accounts.Signups.PerIP = 3

	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
	reg := func(name, ip string) response {
		return e.do("POST", "/api/v1/auth/register", "", map[string]any{"username": name, "password": testPassword}, from(ip)...)
	}
	forgot := func(ip string) response {
		return e.do("POST", "/api/v1/auth/password/forgot", "", map[string]any{"email": "someone@example.com"}, from(ip)...)
	}
	expect(t, reg("first_user", "198.51.100.1"), http.StatusCreated, "")
	expect(t, forgot("198.51.100.1"), http.StatusAccepted, "")
	expect(t, reg("second_user", "198.51.100.1"), http.StatusCreated, "")
	r := reg("third_user", "198.51.100.1")
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("got Retry-After %q, want the seconds until the window frees a slot", ra)
	}
	expect(t, forgot("198.51.100.1"), http.StatusTooManyRequests, "rate_limited")
	expect(t, reg("third_user", "198.51.100.2"), http.StatusCreated, "")

	// Racing registrations from one fresh address: exactly the limit pass.
	results := make(chan int, 10)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { results <- reg(fmt.Sprintf("racer_%d", i), "198.51.100.3").status })
	}
	wg.Wait()
	close(results)
	created := 0
	for s := range results {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("racing registration: got status %d, want 201 or 429", s)
		}
	}
	if created != 3 {
		t.Fatalf("racing registrations from one address: got %d created, want exactly 3", created)
	}
}

// reopen serves a new instance on e's database, built with e's current
// gate, trusted proxies, database timeout and CORS origins, in place of
// e.srv; its accounts' tunables may be changed before the first request.
// With ownIssuer, its issuer and public URL are its own address, as
// OpenID Connect discovery has it (go-oidc fetches
// <issuer>/.well-known/openid-configuration and compares the issuer there).
func (e *env) reopen() (*httpapi.Server, *service.Accounts) {
	srv := httptest.NewUnstartedServer(nil)
	if e.ownIssuer {
		e.issuer = "http://" + srv.Listener.Addr().String()
	}
	h, accounts, _ := e.instance(e.db)
	srv.Config.Handler = validated(e.t, h)
	srv.Start()
	e.t.Cleanup(srv.Close)
	e.srv = srv
	return h.(*httpapi.Server), accounts
}

// TestHashingWaitKeepsDatabaseBudget: the database budget
// (USERD_DB_TIMEOUT) runs only while a request may use the database, so
// logins that waited in the hashing queue longer than the budget, with a
// healthy database, are answered 200 and 401, not 503.
func TestHashingWaitKeepsDatabaseBudget(t *testing.T) {
	t.Parallel()
	const budget = 2 * time.Second
	e := newEnv(t)
	e.register(map[string]any{"email": "patient@example.com"})
	gate := password.NewGate(password.GateConfig{Concurrency: 1, Queue: 2, Wait: time.Minute})
	e.gate, e.dbTimeout = gate, budget
	e.reopen()

	hold, err := gate.Enter(context.Background()) // the one slot: nothing can hash
	if err != nil {
		t.Fatal(err)
	}
	right, wrong := make(chan response, 1), make(chan response, 1)
	go func() { right <- e.login("patient@example.com", testPassword) }()
	go func() { wrong <- e.login("patient@example.com", "wrong password!") }()
	for deadline := time.Now().Add(20 * time.Second); gate.Stats().Waiting < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("got %+v after 20 s, want both logins waiting for the slot", gate.Stats())
		}
	}
	time.Sleep(2 * budget) // twice the budget in the queue
	hold()
	expect(t, <-right, http.StatusOK, "")
	expect(t, <-wrong, http.StatusUnauthorized, "invalid_credentials")
}
