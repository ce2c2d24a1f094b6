package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/userd/userd/dburl"
	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
)

// keepOnly makes k the only key the IdP publishes: every other key is
// withdrawn.
func (f *fakeIdP) keepOnly(k jwk.Key) {
	f.mu.Lock()
	f.keys = []jwk.Key{k}
	f.mu.Unlock()
}

// TestRemovedKeyStopsCachedTokens: a token verified (and so remembered)
// under a key stops working as soon as userd learns that its IdP withdrew
// the key, although the remembered verdict has not expired.
func TestRemovedKeyStopsCachedTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	old, _ := e.signIn("rotated", nil)
	for range 3 { // remembered: answered without verifying again
		expect(t, e.do("GET", "/api/v1/users/me", old, nil), http.StatusOK, "")
	}
	fetches := e.idp.fetches.Load()
	e.idp.keepOnly(e.idp.rotate())
	// A token of the new key has an unknown kid: userd fetches the JWKS,
	// which no longer has the old key.
	expect(t, e.do("GET", "/api/v1/users/me", e.idp.sign("rotated", nil), nil), http.StatusOK, "")
	if got := e.idp.fetches.Load() - fetches; got != 1 {
		t.Fatalf("got %d JWKS fetches after the rotation, want 1", got)
	}
	r := e.do("GET", "/api/v1/users/me", old, nil)
	expect(t, r, http.StatusUnauthorized, "invalid_token")
}

// TestKeyAddedKeepsCachedTokens: a new key published beside the old one
// leaves tokens of the old key accepted.
func TestKeyAddedKeepsCachedTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	old, _ := e.signIn("added", nil)
	e.idp.rotate()
	expect(t, e.do("GET", "/api/v1/users/me", e.idp.sign("added", nil), nil), http.StatusOK, "")
	expect(t, e.do("GET", "/api/v1/users/me", old, nil), http.StatusOK, "")
}

// listenerPID is the backend of the instance's change listener.
func (e *env) listenerPID() int {
	e.t.Helper()
	pid, err := e.listenerBackend()
	if err != nil {
		e.t.Fatalf("the change listener's backend: %v", err)
	}
	return pid
}

func (e *env) listenerBackend() (int, error) {
	var pid int
	err := e.pool.QueryRow(context.Background(),
		`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, service.ListenerName).Scan(&pid)
	return pid, err
}

// waitListenerLost waits until the change listener has seen its backend
// pid end: it is down, or listens on another backend already.
func (e *env) waitListenerLost(pid int) {
	e.t.Helper()
	waitFor(e.t, "the listener to see its connection end", func() bool {
		if !e.db.PrincipalCacheOnline() {
			return true
		}
		now, err := e.listenerBackend()
		return err == nil && now != pid
	})
}

// outsideWrite runs sql on a connection of its own, which nothing of
// userd's listens on: a write made by another process. The connection is
// direct, not through a pooler (make test-scale), as such a process's
// would be.
func (e *env) outsideWrite(sql string, args ...any) {
	e.t.Helper()
	ctx := context.Background()
	conn, err := dburl.Connect(ctx, pgtest.DirectURL(e.t, e.pool.Config().ConnString()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		e.t.Fatal(err)
	}
}

// TestLostListenerBypassesCache terminates the backend of the change
// listener and holds it down (its reconnections refused): from the loss
// until it listens again the principal cache is not used, so a change
// made by another process shows on the next request; once let through,
// the listener comes back by itself and the cache with it, empty. The
// heartbeat's own bypass (ListenerStale) is set far off, so what the test
// sees is the listener marking itself offline when its connection ends.
func TestLostListenerBypassesCache(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	proxy := newPGProxy(t, a.pool.Config().ConnString())
	cache := service.DefaultCacheConfig()
	cache.ListenerStale = time.Hour
	e := a.proxiedInstance(proxy, cache)
	tok, id := e.signIn("lost", map[string]any{"email": "lost@example.com", "email_verified": true})
	expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")
	pid := proxy.listenerPID(e)
	proxy.refuse(true)
	var ok bool
	if err := e.pool.QueryRow(context.Background(), "SELECT pg_terminate_backend($1)", pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate the listener: %v %v", ok, err)
	}
	// The listener has seen the loss once it tries to connect again. From
	// then on, held down (at least three refused reconnections and a
	// second), the cache is bypassed: the cached principal, which nothing
	// invalidates now, is never served.
	waitFor(t, "the listener to try to connect again", func() bool { return proxy.refusedCount() > 0 })
	held := time.Now()
	for i := int64(1); proxy.refusedCount() < 3 || time.Since(held) < time.Second; i++ {
		name := "Bypassed " + itoa(i)
		e.outsideWrite("UPDATE users SET first_name = $2 WHERE id = $1", id, name)
		r := e.do("GET", "/api/v1/users/me", tok, nil)
		expect(t, r, http.StatusOK, "")
		if got := r.json(t)["first_name"]; got != name {
			t.Fatalf("%v into the listener's loss: got first_name %v, want %s: the cache answered, with nothing to invalidate it",
				time.Since(held).Round(time.Millisecond), got, name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if e.db.PrincipalCacheOnline() {
		t.Fatal("the cache came back while the listener could not connect")
	}

	proxy.refuse(false)
	waitFor(t, "the listener to listen again", e.db.PrincipalCacheOnline)
	if proxy.listenerPID(e) == pid {
		t.Fatal("the listener has its old backend, want a new connection")
	}
	expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")
	// Cached again, and invalidated again by the listener.
	e.outsideWrite("UPDATE users SET is_active = false WHERE id = $1", id)
	deadline := time.Now().Add(time.Second)
	for {
		r := e.do("GET", "/api/v1/users/me", tok, nil)
		if r.status == http.StatusForbidden {
			expect(t, r, http.StatusForbidden, "account_disabled")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("1 s after an outside deactivation: got %d, want 403", r.status)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStalledListenerBypassesCache: with the change listener's connection
// stalled (nothing forwarded either way, its socket open), an instance
// stops trusting its principal cache within ListenerStale (2 s) of the
// listener's last heartbeat: a user deactivated by another process is
// refused within 3 s of the stall, where an unguarded cache would accept
// the user for as long as the stall lasts. Once the network forwards
// again the listener reconnects and the cache works again.
func TestStalledListenerBypassesCache(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	proxy := newPGProxy(t, a.pool.Config().ConnString())
	e := a.proxiedInstance(proxy, service.DefaultCacheConfig())
	tok, id := e.signIn("stalled-listener", nil)
	for range 2 { // the second is answered from the cache
		expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")
	}
	proxy.stall(true)
	stalled := time.Now()
	e.outsideWrite("UPDATE users SET is_active = false WHERE id = $1", id)
	for {
		r := e.do("GET", "/api/v1/users/me", tok, nil)
		if r.status == http.StatusForbidden {
			expect(t, r, http.StatusForbidden, "account_disabled")
			break
		}
		expect(t, r, http.StatusOK, "")
		if since := time.Since(stalled); since > 3*time.Second {
			t.Fatalf("%v after the listener stalled: a deactivated user is still accepted (the cache trusts a silent listener)", since.Round(time.Millisecond))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("refused %v after the stall", time.Since(stalled).Round(time.Millisecond))
	if e.db.PrincipalCacheOnline() {
		t.Fatal("the stalled listener's cache says it is online")
	}

	proxy.stall(false)
	waitFor(t, "the listener to listen again", e.db.PrincipalCacheOnline)
	e.outsideWrite("UPDATE users SET is_active = true WHERE id = $1", id)
	expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")
	expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")
	e.outsideWrite("UPDATE users SET is_active = false WHERE id = $1", id)
	deadline := time.Now().Add(time.Second)
	for {
		r := e.do("GET", "/api/v1/users/me", tok, nil)
		if r.status == http.StatusForbidden {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("1 s after an outside deactivation with the listener back: got %d, want 403", r.status)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestMeETag: /users/me carries a strong ETag; If-None-Match with it is
// 304 without a body, and a change to the account changes it.
func TestMeETag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("etag", nil)
	r := e.do("GET", "/api/v1/users/me", tok, nil)
	expect(t, r, http.StatusOK, "")
	tag := r.header.Get("ETag")
	if len(tag) != 34 || r.header.Get("Cache-Control") != "private, no-cache" {
		t.Fatalf("got ETag %q, Cache-Control %q; want a quoted hash and private, no-cache", tag, r.header.Get("Cache-Control"))
	}
	for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*"} {
		r := e.do("GET", "/api/v1/users/me", tok, nil, "If-None-Match", inm)
		if r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != tag {
			t.Fatalf("If-None-Match %s: got %d %q ETag %q, want 304, no body, the same ETag", inm, r.status, r.body, r.header.Get("ETag"))
		}
	}
	expect(t, e.do("GET", "/api/v1/users/me", tok, nil, "If-None-Match", `"other"`), http.StatusOK, "")
	expect(t, e.do("PATCH", "/api/v1/users/me", tok, map[string]any{"bio": "changed"}), http.StatusOK, "")
	r = e.do("GET", "/api/v1/users/me", tok, nil, "If-None-Match", tag)
	expect(t, r, http.StatusOK, "")
	if r.json(t)["bio"] != "changed" || r.header.Get("ETag") == tag {
		t.Fatalf("after a profile change: got %s ETag %s, want the new bio and another ETag", r.body, r.header.Get("ETag"))
	}
	// A refused token is refused whatever If-None-Match says.
	expect(t, e.do("GET", "/api/v1/users/me", "not-a-token", nil, "If-None-Match", "*"), http.StatusUnauthorized, "invalid_token")
}

// TestCachedPrincipalReadsNothing: once a principal is cached, its
// requests do not touch the database, for IdP tokens and userd's own; a
// write through the instance drops it before the write's answer.
func TestCachedPrincipalReadsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	idpTok, _ := e.signIn("cached", nil)
	e.register(map[string]any{"username": "cachedlocal"})
	r := e.login("cachedlocal", testPassword)
	expect(t, r, http.StatusOK, "")
	own, _ := tokens(r.json(t))
	for i, tok := range []string{idpTok, own} {
		expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")
		before := e.db.Stats().AcquireCount
		for range 5 {
			expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")
		}
		if got := e.db.Stats().AcquireCount - before; got != 0 {
			t.Fatalf("token %d: got %d pool acquires for 5 cached requests, want 0", i, got)
		}
		expect(t, e.do("PATCH", "/api/v1/users/me", tok, map[string]any{"city": "Pune " + tok[len(tok)-4:]}), http.StatusOK, "")
		r := e.do("GET", "/api/v1/users/me", tok, nil)
		expect(t, r, http.StatusOK, "")
		if got := r.json(t)["city"]; got != "Pune "+tok[len(tok)-4:] {
			t.Fatalf("right after a profile change: got city %v", got)
		}
	}
}
