package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/pglocal"
)

// The bars of the flood benchmark.
const (
	floodMaxRSS      = 150 << 20 // the server's peak resident memory
	floodMaxP99Ratio = 5.0       // GET /users/me p99 during the flood over before it
)

// floodFlags are the flags of bench flood.
type floodFlags struct {
	flood, concurrency, maxRequests int
	duration                        time.Duration
}

func benchFloodFlags(fs *flag.FlagSet) *floodFlags {
	f := new(floodFlags)
	fs.IntVar(&f.flood, "flood", 500, "failed logins fired at once, wave after wave")
	fs.IntVar(&f.concurrency, "concurrency", 8, "concurrent GET /users/me clients")
	fs.DurationVar(&f.duration, "duration", 5*time.Second, "how long to measure before the flood, and during it (each, at most)")
	fs.IntVar(&f.maxRequests, "requests", 200_000, "requests to send per phase, GET /users/me and failed logins each (at most)")
	return f
}

// benchFlood runs `userd serve` as a process of its own on a fresh bench
// database and measures GET /users/me at a fixed concurrency, first alone,
// then while waves of flood failed logins are fired at once (each a
// password check, for an unknown address, so that no per-identifier limit
// turns it away; the per-address login limit is off in that server for
// the same reason). It prints the p50 and p99 of both phases, what the
// failed logins were answered, and the server's peak resident memory
// (VmHWM), and fails past the bars: peak RSS over floodMaxRSS, the p99
// during the flood over floodMaxP99Ratio times the p99 before, or any
// /users/me answer but 200.
func benchFlood(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := newFlagSet("bench flood")
	f := benchFloodFlags(fs)
	if err := parseAll(fs, args); err != nil {
		return err
	}
	if f.flood < 1 || f.concurrency < 1 || f.duration <= 0 || f.maxRequests < 1 {
		return fmt.Errorf("bench flood: --flood, --concurrency, --duration and --requests must be positive")
	}
	db, dbURL, err := benchDB(ctx, cfg, stdout, nil)
	if err != nil {
		return err
	}
	db.Pool.Close() // the server under test has its own
	srv, err := spawnServer(ctx, dbURL, "USERD_LOGIN_LIMIT_PER_IP=0")
	if err != nil {
		return err
	}
	defer srv.stop()

	status, in, err := post(&http.Client{Timeout: 30 * time.Second}, srv.base+"/api/v1/auth/register", map[string]any{"username": "flood_me", "password": "correct horse battery"})
	if err != nil || status != http.StatusCreated {
		return fmt.Errorf("register the /users/me user: got %d %v, %v (server log: %s)", status, in["code"], err, srv.logPath)
	}
	token, _ := in["access_token"].(string)
	bearer := func(req *http.Request, _ int) { req.Header.Set("Authorization", "Bearer "+token) }
	me := func(int) string { return srv.base + "/api/v1/users/me" }
	idle, err := srv.memory("VmRSS")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "server: pid %d, hashing concurrency %d, RSS %s before the flood\n", srv.cmd.Process.Pid, cfg.Limits.HashConcurrency, mib(idle))

	before, err := drive(ctx, me, bearer, http.StatusOK, f.concurrency, f.duration, f.maxRequests)
	if err != nil {
		return err
	}
	report := func(phase string, r loadResult) {
		fmt.Fprintf(stdout, "GET /api/v1/users/me %s: %d requests, concurrency %d, %s: %.0f req/s, p50 %s, p99 %s, errors %d\n",
			phase, r.n, f.concurrency, r.elapsed.Round(time.Millisecond), float64(r.n)/r.elapsed.Seconds(),
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.errors)
	}
	report("before the flood", before)

	floodCtx, stopFlood := context.WithCancel(ctx)
	logins := make(chan floodTally, 1)
	go func() { logins <- failedLogins(floodCtx, srv.base, f.flood, f.maxRequests) }()
	during, err := drive(ctx, me, bearer, http.StatusOK, f.concurrency, f.duration, f.maxRequests)
	stopFlood()
	tally := <-logins
	if err != nil {
		return err
	}
	report(fmt.Sprintf("during waves of %d concurrent failed logins", f.flood), during)
	fmt.Fprintf(stdout, "failed logins: %d waves of %d, %d sent, 401 invalid_credentials %d, 503 overloaded %d, 429 rate_limited %d, other %d %v, transport errors %d\n",
		tally.waves, f.flood, tally.sent, tally.rejected, tally.overloaded, tally.limited, tally.otherCount(), tally.other, tally.transport)
	peak, err := srv.memory("VmHWM")
	if err != nil {
		return err
	}
	ratio := float64(during.p99) / float64(max(before.p99, time.Microsecond))
	fmt.Fprintf(stdout, "server peak RSS (VmHWM) %s (bar %s); /users/me p99 during/before %.2fx (bar %.0fx)\n",
		mib(peak), mib(floodMaxRSS), ratio, floodMaxP99Ratio)

	var fails []string
	if peak > floodMaxRSS {
		fails = append(fails, fmt.Sprintf("peak RSS %s is over %s", mib(peak), mib(floodMaxRSS)))
	}
	if ratio > floodMaxP99Ratio {
		fails = append(fails, fmt.Sprintf("/users/me p99 during the flood is %.2fx the p99 before, over %.0fx", ratio, floodMaxP99Ratio))
	}
	if before.errors+during.errors > 0 {
		fails = append(fails, fmt.Sprintf("%d GET /users/me answers were not 200", before.errors+during.errors))
	}
	if n := tally.otherCount() + tally.transport; n > 0 {
		fails = append(fails, fmt.Sprintf("%d failed logins were answered neither 401, 503 overloaded nor 429", n))
	}
	if len(fails) > 0 {
		srv.keepLog = true
		return fmt.Errorf("bench flood: past the bars: %s (server log: %s)", strings.Join(fails, "; "), srv.logPath)
	}
	return nil
}

// floodTally counts what failed logins were answered.
type floodTally struct {
	waves, sent, rejected, overloaded, limited, transport int
	other                                                 map[string]int // any other answer, by status and code
}

func (t floodTally) otherCount() int {
	n := 0
	for _, c := range t.other {
		n += c
	}
	return n
}

// failedLogins fires waves of size failed logins at once (a wrong
// password for an address no account has, a new one each time), the next
// wave when the last one is all answered, until ctx ends or maxRequests
// were sent.
func failedLogins(ctx context.Context, base string, size, maxRequests int) floodTally {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: size, MaxConnsPerHost: size}, Timeout: 30 * time.Second}
	var (
		mu    sync.Mutex
		tally = floodTally{other: map[string]int{}}
	)
	for sent := 0; sent+size <= maxRequests && ctx.Err() == nil; sent += size {
		tally.waves++
		fire := make(chan struct{})
		var wg sync.WaitGroup
		for i := range size {
			wg.Go(func() {
				body := map[string]any{"identifier": fmt.Sprintf("flood%d@example.com", sent+i), "password": "not the password"}
				<-fire
				status, b, err := post(client, base+"/api/v1/auth/login", body)
				mu.Lock()
				defer mu.Unlock()
				tally.sent++
				switch {
				case err != nil:
					tally.transport++
				case status == http.StatusUnauthorized && b["code"] == "invalid_credentials":
					tally.rejected++
				case status == http.StatusServiceUnavailable && b["code"] == "overloaded":
					tally.overloaded++
				case status == http.StatusTooManyRequests:
					tally.limited++
				default:
					tally.other[fmt.Sprintf("%d %v", status, b["code"])]++
				}
			})
		}
		close(fire)
		wg.Wait()
	}
	return tally
}

// spawnedServer is `userd serve` (dev) running as a child process, so that
// its memory is measured apart from the client's.
type spawnedServer struct {
	cmd     *exec.Cmd
	base    string
	logPath string
	done    chan error
	dir     string
	keepLog bool // stop leaves the log (and the directory) in place
}

// spawnServer starts this executable's `serve` in dev on dbURL, on a free
// loopback port, with its data directory (signing key) and log in a
// temporary directory and env added ("KEY=value"), and waits until
// /healthz answers (at most a minute).
func spawnServer(ctx context.Context, dbURL string, env ...string) (*spawnedServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the userd executable: %w", err)
	}
	port, err := pglocal.FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "userd-bench-")
	if err != nil {
		return nil, err
	}
	s := &spawnedServer{base: fmt.Sprintf("http://127.0.0.1:%d", port), logPath: filepath.Join(dir, "serve.log"), done: make(chan error, 1), dir: dir}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close()
	s.cmd = exec.Command(exe, "serve")
	s.cmd.Env = append(os.Environ(), "USERD_ENV=dev", "DATABASE_URL="+dbURL, "USERD_DATA_DIR="+dir,
		fmt.Sprintf("USERD_ADDR=127.0.0.1:%d", port))
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// Should the bench die without stopping it, the server goes too.
	s.cmd.SysProcAttr = benchServerProcAttr()
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start userd serve: %w", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	for deadline := time.Now().Add(time.Minute); ; {
		res, err := http.Get(s.base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			s.done <- err
			return nil, fmt.Errorf("userd serve exited (%v); its log: %s", err, s.logPath)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("userd serve did not answer /healthz within a minute; its log: %s", s.logPath)
		}
	}
}

// stop sends the server SIGTERM, kills it if it has not exited within
// 25 s, and removes its directory unless keepLog.
func (s *spawnedServer) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(25 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	if !s.keepLog {
		os.RemoveAll(s.dir)
	}
}

// memory reads one of the server's memory figures (VmRSS, VmHWM) from
// /proc, in bytes.
func (s *spawnedServer) memory(field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read the server's memory (Linux /proc only): %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse %s %q: %w", field, v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no " + field + " in /proc/<pid>/status")
}

// mib formats bytes in MiB.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
