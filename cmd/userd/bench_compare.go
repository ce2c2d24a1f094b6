package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/dburl"
)

// The bars of bench me --compare, for each token kind with caches on.
const (
	barPgbench = 1.0                   // userd (c32) / pgbench -S at its best of c8 and c32
	barTrivial = 0.5                   // userd / a trivial handler, same load client
	barP99     = 10 * time.Millisecond // userd's p99
)

// trivialLabel names the trivial handler's figures.
const trivialLabel = "trivial net/http handler, same bytes"

// checkBars prints, for each token kind with caches on, userd's figures
// against pgbench -S (a bare primary-key select, best of c8 and c32) and
// the trivial handler answering the same bytes to the same load client,
// and fails below a bar.
func checkBars(userd map[string]loadResult, trivial loadResult, pgbench float64, bodyLen int, stdout io.Writer) error {
	fmt.Fprintf(stdout, "trivial handler (%d bytes): %.0f req/s; pgbench -S -j 2 -T 10, best of c8 and c32: %.0f TPS\n",
		bodyLen, trivial.rate(), pgbench)
	var failed []string
	for name, r := range userd {
		vsPg, vsTrivial := r.rate()/pgbench, r.rate()/trivial.rate()
		fmt.Fprintf(stdout, "%s, caches on: %.0f req/s = %.2fx pgbench -S (bar %.1f), %.2fx the trivial handler (bar %.1f), p99 %s (bar %s), errors %d\n",
			name, r.rate(), vsPg, barPgbench, vsTrivial, barTrivial, r.p99.Round(time.Microsecond), barP99, r.errors)
		if vsPg < barPgbench {
			failed = append(failed, fmt.Sprintf("%s: %.2fx pgbench", name, vsPg))
		}
		if vsTrivial < barTrivial {
			failed = append(failed, fmt.Sprintf("%s: %.2fx the trivial handler", name, vsTrivial))
		}
		if r.p99 > barP99 {
			failed = append(failed, fmt.Sprintf("%s: p99 %s", name, r.p99.Round(time.Microsecond)))
		}
		if r.errors > 0 {
			failed = append(failed, fmt.Sprintf("%s: %d errors", name, r.errors))
		}
	}
	if len(failed) > 0 {
		slices.Sort(failed)
		return fmt.Errorf("bench me --compare: below the bars: %s", strings.Join(failed, "; "))
	}
	fmt.Fprintln(stdout, "every bar met")
	return nil
}

// trivialServe serves body from a trivial handler on a loopback port.
func trivialServe(body []byte) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// findPgbench finds pgbench on PATH, else among the installed PostgreSQL
// binaries.
func findPgbench() (string, error) {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(matches) > 0 {
		return matches[len(matches)-1], nil
	}
	return "", errors.New("bench me --compare: pgbench is neither on PATH nor under /usr/lib/postgresql/*/bin (install postgresql-client)")
}

var tpsLine = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)

// pgbenchSetup finds pgbench, recreates the scratch database
// userd_pgbench next to the configured one and initialises it at scale 10;
// the function it returns runs one round, the select-only script for 10 s
// at 8 and at 32 clients on 2 threads, and returns the better TPS. Every
// pgbench run is bounded in time.
func pgbenchSetup(ctx context.Context, cfg config.Config, stdout io.Writer) (func() (float64, error), error) {
	pgbench, err := findPgbench()
	if err != nil {
		return nil, err
	}
	dbURL, err := recreateDatabase(ctx, cfg, "userd_pgbench")
	if err != nil {
		return nil, err
	}
	conn, err := dburl.WithoutPoolParams(dbURL)
	if err != nil {
		return nil, err
	}
	if u, err := url.Parse(conn); err == nil && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("bench me --compare: the database is on %s; pgbench runs against loopback only", u.Hostname())
	}
	run := func(timeout time.Duration, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, pgbench, append(args, conn)...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("pgbench %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	start := time.Now()
	if _, err := run(5*time.Minute, "-i", "-s", "10", "-q"); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "pgbench -i -s 10 (%s): %s\n", pgbench, time.Since(start).Round(time.Millisecond))
	return func() (float64, error) {
		best := 0.0
		for _, c := range []string{"8", "32"} {
			out, err := run(time.Minute, "-n", "-S", "-j", "2", "-T", "10", "-c", c)
			if err != nil {
				return 0, err
			}
			m := tpsLine.FindStringSubmatch(out)
			if m == nil {
				return 0, fmt.Errorf("pgbench -c %s: no tps line in\n%s", c, out)
			}
			tps, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				return 0, fmt.Errorf("pgbench -c %s: %w", c, err)
			}
			fmt.Fprintf(stdout, "pgbench -S -j 2 -T 10 -c %s: %.0f TPS\n", c, tps)
			best = max(best, tps)
		}
		return best, nil
	}, nil
}

// isLoopback reports whether host is localhost, a loopback address or a
// Unix socket directory.
func isLoopback(host string) bool {
	if host == "localhost" || host == "" || strings.HasPrefix(host, "/") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
