package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/userd/userd/dburl"
	"github.com/userd/userd/pglocal"
	"github.com/userd/userd/pgtest"
)

// TestMain lets the tests run this package's main as a separate userd
// process (the test binary re-executed with USERD_TEST_RUN_MAIN=1), so
// that a test can send it SIGTERM or SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("USERD_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// lockedBuffer is a bytes.Buffer safe for a process to write while a test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// userdProcess is `userd serve` running as its own process.
type userdProcess struct {
	cmd  *exec.Cmd
	base string
	logs *lockedBuffer
	done chan error
}

// startUserd starts `userd serve` in dev mode on databaseURL with env
// added ("KEY=value"), and waits until /healthz answers.
func startUserd(t *testing.T, databaseURL, dataDir string, env ...string) *userdProcess {
	t.Helper()
	port, err := pglocal.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p := &userdProcess{base: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(os.Args[0], "serve")
	p.cmd.Env = append(os.Environ(), "USERD_TEST_RUN_MAIN=1", "USERD_ENV=dev", "DATABASE_URL="+databaseURL,
		"USERD_DATA_DIR="+dataDir, fmt.Sprintf("USERD_ADDR=127.0.0.1:%d", port))
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		p.done <- nil
	})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res, err := http.Get(p.base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("userd did not answer /healthz within 60 s: %v\n%s", err, p.logs)
		}
	}
}

// TestKillDuringRegistrations: SIGKILL while registrations are in flight
// loses nothing that was acknowledged: a new process on the same database
// logs every acknowledged registration in, and no user lacks its
// credential (a registration is one transaction).
func TestKillDuringRegistrations(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewURL(t)
	dataDir := t.TempDir()
	// The request deadline (USERD_DB_TIMEOUT) also runs while a request
	// waits for a hashing slot and hashes, which takes seconds under the
	// race detector: a long one keeps this test about the kill.
	const timeout = "USERD_DB_TIMEOUT=30s"
	p := startUserd(t, dbURL, dataDir, timeout)

	const workers, killAfter = 6, 24
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	killed := make(chan struct{})
	var once sync.Once
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				name := fmt.Sprintf("kill_%d_%d", w, i)
				status, body, err := post(client, p.base+"/api/v1/auth/register", map[string]any{"username": name, "password": "correct horse battery"})
				if err != nil {
					select {
					case <-killed:
						return // the process is gone
					default:
						t.Errorf("register %s before the kill: %v", name, err)
						return
					}
				}
				if status == http.StatusServiceUnavailable && body["code"] == "overloaded" {
					continue // not acknowledged: the hashing queue was full
				}
				if status != http.StatusCreated {
					t.Errorf("register %s: got %d %v, want 201", name, status, body)
					return
				}
				mu.Lock()
				acked = append(acked, name)
				n := len(acked)
				mu.Unlock()
				if n == killAfter {
					once.Do(func() {
						close(killed)
						_ = p.cmd.Process.Signal(syscall.SIGKILL)
					})
				}
			}
		})
	}
	wg.Wait()
	if len(acked) < killAfter {
		// Every worker stopped on an error before the kill (reported above).
		t.Fatalf("%d registrations acknowledged when the workers stopped, want %d before the kill", len(acked), killAfter)
	}
	if err := <-p.done; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("first process: got exit %v, want killed", err)
	}
	p.done <- nil

	q := startUserd(t, dbURL, dataDir, timeout)
	for _, name := range acked {
		status, _, err := post(client, q.base+"/api/v1/auth/login", map[string]any{"identifier": name, "password": "correct horse battery"})
		if err != nil || status != http.StatusOK {
			t.Errorf("login %s after the kill: got %d, %v, want 200", name, status, err)
		}
	}
	conn := connect(t, dbURL)
	var users, bare int
	err := conn.QueryRow(context.Background(), `
		SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM password_credentials c WHERE c.user_id = u.id))
		FROM users u`).Scan(&users, &bare)
	if err != nil {
		t.Fatal(err)
	}
	if bare != 0 || users < len(acked) {
		t.Fatalf("after the kill: got %d users, %d without a credential; want at least %d users, none bare", users, bare, len(acked))
	}
}

// TestSIGTERMFinishesInFlight: on SIGTERM userd stops taking connections,
// lets a request that is in flight finish, and exits 0.
func TestSIGTERMFinishesInFlight(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewURL(t)
	p := startUserd(t, dbURL, t.TempDir(), "USERD_DB_TIMEOUT=30s")
	client := &http.Client{Timeout: 30 * time.Second}
	status, in, err := post(client, p.base+"/api/v1/auth/register", map[string]any{"username": "inflight", "password": "correct horse battery"})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("register: got %d, %v", status, err)
	}
	token, _ := in["access_token"].(string)

	ctx := context.Background()
	conn := connect(t, dbURL)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	answer := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", p.base+"/api/v1/users/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err != nil {
			t.Errorf("in-flight request: %v", err)
			answer <- 0
			return
		}
		res.Body.Close()
		answer <- res.StatusCode
	}()
	waitLockWaiters(t, dbURL, 1)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused once the listener is closed.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(p.base, "http://"), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 10 s after SIGTERM")
		}
	}
	select {
	case err := <-p.done:
		t.Fatalf("exited (%v) with a request in flight", err)
	default:
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := <-answer; got != http.StatusOK {
		t.Fatalf("in-flight request: got %d, want 200", got)
	}
	select {
	case err := <-p.done:
		p.done <- nil
		if err != nil {
			t.Fatalf("exit after SIGTERM: got %v, want status 0\n%s", err, p.logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15 s after SIGTERM with nothing in flight\n%s", p.logs)
	}
	if !strings.Contains(p.logs.String(), "shutting down") {
		t.Fatalf("log: got %s, want the shutdown logged", p.logs)
	}
}

// connect opens one connection on databaseURL, closed when the test ends.
func connect(t *testing.T, databaseURL string) *pgx.Conn {
	t.Helper()
	conn, err := dburl.Connect(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// waitLockWaiters waits until at least n statements of databaseURL's
// database wait on a lock.
func waitLockWaiters(t *testing.T, databaseURL string, n int) {
	t.Helper()
	ctx := context.Background()
	conn := connect(t, databaseURL)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var got int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d statements waiting on a lock after 20 s, want %d", got, n)
		}
	}
}

// TestSlowClients: connections that stop in the middle of their headers
// (slowloris) do not slow a normal request, and the server closes them
// (ReadHeaderTimeout) well within 30 s.
func TestSlowClients(t *testing.T) {
	t.Parallel()
	p := startUserd(t, pgtest.NewURL(t), t.TempDir())
	addr := strings.TrimPrefix(p.base, "http://")
	const stuck = 100
	conns := make([]net.Conn, 0, stuck)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range stuck {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: userd\r\nX-Slow: ")); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	opened := time.Now()
	client := &http.Client{Timeout: 5 * time.Second}
	for _, path := range []string{"/healthz", "/readyz", "/.well-known/jwks.json"} {
		start := time.Now()
		res, err := client.Get(p.base + path)
		if err != nil {
			t.Fatalf("GET %s beside %d stuck connections: %v", path, stuck, err)
		}
		res.Body.Close()
		if took := time.Since(start); res.StatusCode != http.StatusOK || took > time.Second {
			t.Fatalf("GET %s beside %d stuck connections: got %d in %s, want 200 within 1 s", path, stuck, res.StatusCode, took)
		}
	}
	// Each stuck connection is closed by the server: a read ends (EOF or
	// the 408 Go writes before closing) instead of blocking.
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			_ = c.SetReadDeadline(opened.Add(30 * time.Second))
			buf := make([]byte, 512)
			for {
				if _, err := c.Read(buf); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						t.Errorf("a stuck connection is still open 30 s later")
					}
					return
				}
			}
		})
	}
	wg.Wait()
}
