package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
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
	barPgbench = 1.0                  // userd (c32) / pgbench -S at its best of c8 and c32, median of the rounds
	barTrivial = 0.8                  // userd / a trivial handler, same requests and answers, median of the rounds
	barP99     = 5 * time.Millisecond // userd's p99 (c32) in its best round
)

// trivialLabel names the trivial handler's figures; pgbenchLabel names
// pgbench's in a round's rates.
const (
	trivialLabel = "trivial net/http handler, same request and answer"
	pgbenchLabel = "pgbench -S"
)

// roundRates are the throughputs one round of bench me --compare
// measured, by label: each token kind's with caches on (by kind name),
// trivialLabel's and pgbenchLabel's. Ratios are taken within a round, so
// that what else loads the machine weighs on both sides of each alike.
type roundRates map[string]float64

// ratios returns, for each round that measured both, a/b.
func ratios(rounds []roundRates, a, b string) []float64 {
	var rs []float64
	for _, r := range rounds {
		if r[a] > 0 && r[b] > 0 {
			rs = append(rs, r[a]/r[b])
		}
	}
	return rs
}

// median returns the median of xs (the mean of the middle two for an
// even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// formatRatios lists ratios as "1.02 0.97 1.10".
func formatRatios(rs []float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.2f", r)
	}
	return strings.Join(parts, " ")
}

// checkBars prints, for each token kind with caches on, userd's figures
// against pgbench -S (a bare primary-key select, best of c8 and c32) and
// the trivial handler answering the same bytes to the same load client:
// the ratio of each round, their median and the best, and the best
// rounds' ratio. It fails when a median is below its bar, or the p99 of
// userd's best round over its bar.
func checkBars(userd map[string]loadResult, trivial loadResult, pgbench float64, rounds []roundRates, a meResponse, stdout io.Writer) error {
	fmt.Fprintf(stdout, "trivial handler (%d header fields, %d bytes of body): best %.0f req/s; pgbench -S -j 2, best of c8 and c32: best %.0f TPS\n",
		len(a.header), len(a.body), trivial.rate(), pgbench)
	var failed []string
	for _, name := range slices.Sorted(maps.Keys(userd)) {
		r := userd[name]
		vsPg, vsTrivial := ratios(rounds, name, pgbenchLabel), ratios(rounds, name, trivialLabel)
		medPg, medTrivial := median(vsPg), median(vsTrivial)
		fmt.Fprintf(stdout, "%s, caches on: best %.0f req/s, p99 %s (bar %s), errors %d\n", name, r.rate(), r.p99.Round(time.Microsecond), barP99, r.errors)
		fmt.Fprintf(stdout, "  / pgbench -S by round: %s; median %.2fx (bar %.1f), best %.2fx; best / best %.2fx\n",
			formatRatios(vsPg), medPg, barPgbench, slices.Max(append(vsPg, 0)), r.rate()/pgbench)
		fmt.Fprintf(stdout, "  / the trivial handler by round: %s; median %.2fx (bar %.1f), best %.2fx; best / best %.2fx\n",
			formatRatios(vsTrivial), medTrivial, barTrivial, slices.Max(append(vsTrivial, 0)), r.rate()/trivial.rate())
		if medPg < barPgbench {
			failed = append(failed, fmt.Sprintf("%s: median %.2fx pgbench", name, medPg))
		}
		if medTrivial < barTrivial {
			failed = append(failed, fmt.Sprintf("%s: median %.2fx the trivial handler", name, medTrivial))
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

// meResponse is a response of userd's to send again: its header fields (as a
// client reads them) and body.
type meResponse struct {
	header http.Header
	body   []byte
}

// trivialServe serves a on a loopback port from a trivial handler: every
// request, whatever it asks, gets a's status 200, header fields and body,
// fixed values written as they are, so that a load client receives what
// userd sends it (X-Request-Id included, the same one each time) and
// parses the same response. The server's settings are bench me's for
// userd (benchServe).
func trivialServe(a meResponse) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	header := a.header.Clone()
	header.Del("Date") // net/http writes its own, as it does for userd
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		maps.Copy(w.Header(), header)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(a.body)
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
// the function it returns runs one round, the select-only script for
// duration (whole seconds, at least 10: on a loaded machine 32 clients may
// take seconds to connect) at 8 and at 32 clients on 2 threads, and
// returns the better TPS; a client count that completed no transaction
// counts for nothing, both doing so is an error. Every pgbench run is
// bounded in time.
func pgbenchSetup(ctx context.Context, cfg config.Config, duration time.Duration, stdout io.Writer) (func() (float64, error), error) {
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
	seconds := strconv.Itoa(max(10, int(duration.Round(time.Second)/time.Second)))
	return func() (float64, error) {
		best := 0.0
		for _, c := range []string{"8", "32"} {
			out, err := run(time.Minute+2*duration, "-n", "-S", "-j", "2", "-T", seconds, "-c", c)
			if err != nil {
				return 0, err
			}
			m := tpsLine.FindStringSubmatch(out)
			if m == nil {
				fmt.Fprintf(stdout, "pgbench -S -j 2 -T %s -c %s: no transaction completed\n", seconds, c)
				continue
			}
			tps, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				return 0, fmt.Errorf("pgbench -c %s: %w", c, err)
			}
			fmt.Fprintf(stdout, "pgbench -S -j 2 -T %s -c %s: %.0f TPS\n", seconds, c, tps)
			best = max(best, tps)
		}
		if best == 0 {
			return 0, errors.New("pgbench -S: no transaction completed at c8 or c32")
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
