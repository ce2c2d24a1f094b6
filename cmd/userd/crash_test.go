package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/userd/userd/dburl"
	"github.com/userd/userd/pglocal"
)

// TestDatabaseCrash: PostgreSQL crashes (pg_ctl stop -m immediate) under a
// mixed write load, stays down 4 s and comes back. Meanwhile every request
// is answered within 10 s with its success status or 503 db_unavailable
// with Retry-After, never a 500 or any other error; afterwards the same
// userd process serves again, and every acknowledged write is there: each
// key of every merge patch answered 200 (two writers per user, on keys of
// their own, so a lost update shows) and each registration answered 201
// logs in.
func TestDatabaseCrash(t *testing.T) {
	t.Parallel()
	const (
		users   = 4
		signups = 2 // registration workers
		down    = 4 * time.Second
	)
	ctx := context.Background()
	port, err := pglocal.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	pg := pglocal.NewServer(t.TempDir(), port)
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop(context.Background(), "immediate") })
	dbURL := createDatabase(t, pg.URL(), "userd") + "&pool_max_conns=10"
	p := startUserd(t, dbURL, t.TempDir()) // dev: migrates the database first

	l := &crashLoad{t: t, base: p.base, client: &http.Client{Timeout: 20 * time.Second},
		acked: map[string][]string{}, resumed: map[string]bool{}}
	tokens := make([]string, users)
	for u := range tokens {
		r, err := send(l.client, http.MethodPost, p.base+"/api/v1/auth/register", "",
			map[string]any{"username": fmt.Sprintf("writer_%d", u), "password": crashPassword})
		if err != nil || r.status != http.StatusCreated {
			t.Fatalf("register writer %d: got %d %v, %v", u, r.status, r.body, err)
		}
		tokens[u], _ = r.body["access_token"].(string)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	workers := 0
	for u, tok := range tokens {
		for _, w := range []string{"a", "b"} {
			workers++
			wg.Go(func() { l.patcher(tok, fmt.Sprintf("%s%d_", w, u), stop) })
		}
	}
	for w := range signups {
		workers++
		wg.Go(func() { l.registrar(w, stop) })
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("userd's errors other than db_unavailable:\n%s", otherErrors(p.logs.String()))
		}
	})

	time.Sleep(1500 * time.Millisecond)
	l.phase.Store(1)
	if err := pg.Stop(ctx, "immediate"); err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	time.Sleep(down)
	if err := pg.Start(ctx); err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	l.phase.Store(2)
	restarted := time.Now()
	for l.resumedCount() < workers && time.Since(restarted) < 30*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.resumed); n < workers {
		t.Fatalf("30 s after PostgreSQL came back, %d of %d clients had a write acknowledged, want all", n, workers)
	}
	if l.unavailable == 0 {
		t.Fatal("no request was answered 503 db_unavailable while PostgreSQL was down")
	}
	t.Logf("acknowledged: %d merge patches, %d registrations; 503 db_unavailable: %d", l.patches, len(l.registered), l.unavailable)

	// Every acknowledged write is there.
	for u, tok := range tokens {
		r, err := send(l.client, http.MethodGet, p.base+"/api/v1/users/me", tok, nil)
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("GET /users/me of writer %d: got %d %v, %v", u, r.status, r.body, err)
		}
		prefs, _ := r.body["preferences"].(map[string]any)
		for _, key := range l.acked[tok] {
			if _, ok := prefs[key]; !ok {
				t.Errorf("writer %d: preference %q was acknowledged (200) but is gone", u, key)
			}
		}
	}
	for _, name := range l.registered {
		r, err := send(l.client, http.MethodPost, p.base+"/api/v1/auth/login", "", map[string]any{"identifier": name, "password": crashPassword})
		if err != nil || r.status != http.StatusOK {
			t.Errorf("login %s, registered (201) around the crash: got %d %v, %v; want 200", name, r.status, r.body, err)
		}
	}
}

const crashPassword = "correct horse battery"

// crashPhases name when a request of TestDatabaseCrash was sent.
var crashPhases = []string{"sent before the crash", "sent while PostgreSQL was stopping or down", "sent after PostgreSQL came back"}

// otherErrors returns the lines of a userd log at level ERROR that are
// not about db_unavailable (at most 20).
func otherErrors(log string) string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"level":"ERROR"`) && !strings.Contains(line, "db_unavailable") && len(out) < 20 {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// crashLoad is the write load of TestDatabaseCrash and what it saw.
type crashLoad struct {
	t      *testing.T
	base   string
	client *http.Client
	phase  atomic.Int32 // an index of crashPhases

	mu          sync.Mutex
	acked       map[string][]string // access token → preference keys of acknowledged patches
	patches     int
	registered  []string        // usernames answered 201
	unavailable int             // 503 db_unavailable answers
	resumed     map[string]bool // clients with a write acknowledged after the restart
}

// patcher merge-patches one key of its own into the preferences of
// token's user, a new key each time, until stop.
func (l *crashLoad) patcher(token, prefix string, stop <-chan struct{}) {
	repeat(stop, 20*time.Millisecond, func(i int) {
		key := fmt.Sprintf("%s%d", prefix, i)
		if l.write("merge patch", http.MethodPatch, "/api/v1/users/me/preferences", token, map[string]any{key: i}, http.StatusOK, prefix) {
			l.mu.Lock()
			l.acked[token] = append(l.acked[token], key)
			l.patches++
			l.mu.Unlock()
		}
	})
}

// registrar registers a new user each time until stop.
func (l *crashLoad) registrar(w int, stop <-chan struct{}) {
	repeat(stop, 50*time.Millisecond, func(i int) {
		name := fmt.Sprintf("crash_%d_%d", w, i)
		body := map[string]any{"username": name, "password": crashPassword}
		if l.write("register "+name, http.MethodPost, "/api/v1/auth/register", "", body, http.StatusCreated, fmt.Sprintf("registrar %d", w)) {
			l.mu.Lock()
			l.registered = append(l.registered, name)
			l.mu.Unlock()
		}
	})
}

// repeat calls f(0), f(1), … with pause after each call until stop is
// closed.
func repeat(stop <-chan struct{}, pause time.Duration, f func(i int)) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		f(i)
		time.Sleep(pause)
	}
}

// write sends one write and reports whether it was acknowledged (want).
// Any answer but want or 503 db_unavailable with Retry-After, and any
// answer slower than 10 s, fails the test. An acknowledgement sent after
// the restart marks client as resumed.
func (l *crashLoad) write(what, method, path, token string, body any, want int, client string) bool {
	phase := l.phase.Load()
	start := time.Now()
	r, err := send(l.client, method, l.base+path, token, body)
	took := time.Since(start)
	if err != nil {
		l.t.Errorf("%s: %v", what, err)
		return false
	}
	if took > 10*time.Second {
		l.t.Errorf("%s: answered %d in %s, want within 10 s", what, r.status, took)
	}
	switch {
	case r.status == want:
		if phase == 2 {
			l.mu.Lock()
			l.resumed[client] = true
			l.mu.Unlock()
		}
		return true
	case r.status == http.StatusServiceUnavailable && r.body["code"] == "db_unavailable":
		if r.header.Get("Retry-After") == "" {
			l.t.Errorf("%s: 503 db_unavailable without Retry-After", what)
		}
		l.mu.Lock()
		l.unavailable++
		l.mu.Unlock()
	default:
		l.t.Errorf("%s, %s: got %d %v, want %d or 503 db_unavailable", what, crashPhases[phase], r.status, r.body, want)
	}
	return false
}

func (l *crashLoad) resumedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.resumed)
}

// createDatabase creates the database name on the server of adminURL and
// returns its URL.
func createDatabase(t *testing.T, adminURL, name string) string {
	t.Helper()
	ctx := context.Background()
	conn := connect(t, adminURL)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	u, err := dburl.WithDatabase(adminURL, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
