package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/dburl"
	"github.com/userd/userd/service"
)

// poolerFlags are the flags of bench pooler.
type poolerFlags struct {
	viaPooler                    *string
	users, concurrency, rounds   *int
	processes, poolSize, clients *int
	duration, fanInDuration      *time.Duration
	interval                     *time.Duration
	execModes                    *bool
}

// benchPoolerFlags declares the flags of bench pooler.
func benchPoolerFlags(fs *flag.FlagSet) poolerFlags {
	return poolerFlags{
		viaPooler:     fs.String("via-pooler", "", "URL of a PgBouncer in transaction mode in front of DATABASE_URL's server (scripts/bench-pooler.sh starts one)"),
		users:         fs.Int("users", 10_000, "users to seed"),
		concurrency:   fs.Int("concurrency", 16, "concurrent clients of the overhead runs"),
		rounds:        fs.Int("rounds", 3, "rounds of the overhead runs, interleaved; the best of each is kept"),
		duration:      fs.Duration("duration", 3*time.Second, "length of one overhead run"),
		execModes:     fs.Bool("exec-modes", true, "also measure /users/me through the pooler in each pgx query exec mode"),
		processes:     fs.Int("processes", 4, "userd serve processes of the fan-in run"),
		poolSize:      fs.Int("pool", 10, "pool_max_conns of each of those processes"),
		clients:       fs.Int("clients", 2000, "concurrent client connections of the fan-in run, spread over the processes"),
		fanInDuration: fs.Duration("fan-in-duration", 20*time.Second, "length of the fan-in run"),
		interval:      fs.Duration("interval", 4*time.Second, "each fan-in client's pause between its requests (its connection stays open)"),
	}
}

// benchPooler measures what a transaction-mode pooler costs and carries:
// GET /users/me (caches off, so every request reads its user) and the
// directory (the service's first page) directly and through the pooler,
// interleaved over rounds; /users/me through the pooler in each pgx query
// exec mode; then --processes `userd serve` processes with pools of
// --pool connections, all through the one pooler, serving --clients
// concurrent client connections for --fan-in-duration. It fails on any
// error of the fan-in run.
func benchPooler(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := newFlagSet("bench pooler")
	f := benchPoolerFlags(fs)
	if err := parseAll(fs, args); err != nil {
		return err
	}
	if *f.viaPooler == "" {
		return usageErrorf("bench pooler: --via-pooler URL is required (scripts/bench-pooler.sh starts a PgBouncer and passes it)")
	}
	const name = "userd_bench_pooler"
	db, direct, err := benchDBNamed(ctx, cfg, stdout, nil, name)
	if err != nil {
		return err
	}
	defer db.Close()
	pooled, err := dburl.WithDatabase(*f.viaPooler, name)
	if err != nil {
		return fmt.Errorf("--via-pooler: %w", err)
	}
	seed := service.NewBench(db)
	err = seed.SeedUsers(ctx, *f.users, []string{"username", "email", "first_name", "is_seed_data"}, func(i int) []any {
		return []any{fmt.Sprintf("bench_%d", i), fmt.Sprintf("bench%d@example.com", i), "Bench", true}
	})
	if err != nil {
		return err
	}
	if err := seed.SeedIdentities(ctx); err != nil {
		return err
	}
	key, jwksURL, stopIdP, err := benchIdP()
	if err != nil {
		return err
	}
	defer stopIdP()
	cfg.IdP = config.IdP{Issuer: "https://bench-idp.invalid/auth/v1", Audience: "authenticated", JWKSURL: jwksURL, Provider: "bench"}
	tokens := make([]string, min(*f.users, 5000))
	for i := range tokens {
		if tokens[i], err = benchToken(key, cfg.IdP, i); err != nil {
			return err
		}
	}
	bearer := func(req *http.Request, i int) { req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)]) }

	type target struct {
		name string
		url  string
		cfg  config.Config
	}
	viaPooler := func(mode string) target {
		c := cfg
		c.Scale.Pooler = true
		u := pooled
		if mode != "" {
			u = withParam(pooled, "default_query_exec_mode", mode)
		}
		return target{name: "through PgBouncer, " + cmpOr(mode, "cache_describe (default)"), url: u, cfg: c}
	}
	targets := []target{{name: "direct", url: direct, cfg: cfg}, viaPooler("")}
	if *f.execModes {
		targets = append(targets, viaPooler("describe_exec"), viaPooler("simple_protocol"), viaPooler("exec"))
	}
	fmt.Fprintf(stdout, "\nGET /api/v1/users/me, caches off (every request reads its user), c%d, best of %d rounds of %s:\n", *f.concurrency, *f.rounds, *f.duration)
	best := make([]loadResult, len(targets))
	for range *f.rounds {
		for i, t := range targets {
			base, stop, err := benchServe(ctx, t.cfg, t.url, &tracing{}, false, slog.LevelWarn)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			r, err := drive(ctx, func(int) string { return base + "/api/v1/users/me" }, bearer, http.StatusOK, *f.concurrency, *f.duration, 1_000_000)
			stop()
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			if best[i].n == 0 || r.rate() > best[i].rate() {
				best[i] = r
			}
		}
	}
	for i, t := range targets {
		r := best[i]
		fmt.Fprintf(stdout, "  %-48s %8.0f req/s  p50 %-9s p99 %-9s errors %d  (%+.1f%% vs direct)\n", t.name, r.rate(), r.p50, r.p99, r.errors,
			100*(best[0].rate()-r.rate())/best[0].rate()*-1)
	}

	if err := benchPoolerDirectory(ctx, cfg, direct, pooled, *f.rounds, *f.duration, *f.concurrency, stdout); err != nil {
		return err
	}
	return benchFanIn(ctx, cfg, direct, pooled, tokens, f, stdout)
}

// cmpOr is s, or def when s is empty.
func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// withParam returns rawURL with query parameter k set to v.
func withParam(rawURL, k, v string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}

// benchPoolerDirectory measures the directory's first page through the
// service, directly and through the pooler, interleaved over rounds.
func benchPoolerDirectory(ctx context.Context, cfg config.Config, direct, pooled string, rounds int, d time.Duration, concurrency int, stdout io.Writer) error {
	open := func(pooler bool, u string) (*service.DB, error) {
		c := cfg
		c.Scale.Pooler = pooler
		return openScaled(ctx, c, u, 5*time.Second, nil, service.CacheConfig{}, nil)
	}
	key := make([]byte, 32)
	var best [2]loadResult
	names := [2]string{"direct", "through PgBouncer"}
	for range rounds {
		for i, u := range []string{direct, pooled} {
			db, err := open(i == 1, u)
			if err != nil {
				return err
			}
			admin := service.NewAdmin(db, "IN", key)
			r, err := callLoop(ctx, concurrency, d, func(ctx context.Context) error {
				_, err := admin.ListUsers(ctx, service.Console(), service.UserFilter{}, service.PageRequest{})
				return err
			})
			db.Close()
			if err != nil {
				return err
			}
			if best[i].n == 0 || r.rate() > best[i].rate() {
				best[i] = r
			}
		}
	}
	fmt.Fprintf(stdout, "\nthe directory's first page (service, 20 users), c%d, best of %d rounds of %s:\n", concurrency, rounds, d)
	for i, r := range best {
		fmt.Fprintf(stdout, "  %-48s %8.0f calls/s  p50 %-9s p99 %-9s errors %d  (%+.1f%% vs direct)\n", names[i], r.rate(), r.p50, r.p99, r.errors,
			100*(r.rate()-best[0].rate())/best[0].rate())
	}
	return nil
}

// callLoop calls fn from concurrency goroutines for d.
func callLoop(ctx context.Context, concurrency int, d time.Duration, fn func(context.Context) error) (loadResult, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			var local []time.Duration
			bad := 0
			for ctx.Err() == nil {
				t0 := time.Now()
				err := fn(context.WithoutCancel(ctx))
				local = append(local, time.Since(t0))
				if err != nil {
					bad++
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	return summarize(lat, errs, time.Since(start), "calls")
}

// transportReason is the gist of a client error, to count alike ones
// together.
func transportReason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// benchFanIn runs the fan-in: processes `userd serve` through the pooler,
// clients concurrent connections, each its own, each sending GET
// /users/me every interval (its connection stays open in between) for the
// run's length.
func benchFanIn(ctx context.Context, cfg config.Config, direct, pooled string, tokens []string, f poolerFlags, stdout io.Writer) error {
	procURL := withParam(pooled, "pool_max_conns", fmt.Sprint(*f.poolSize))
	env := []string{
		"DATABASE_URL=" + procURL, "USERD_DB_POOLER=transaction",
		"USERD_LISTEN_DATABASE_URL=" + direct, "USERD_MIGRATE_DATABASE_URL=" + direct,
		"USERD_CACHE=off", "USERD_LOG_LEVEL=warn",
		"USERD_IDP_ISSUER=" + cfg.IdP.Issuer, "USERD_IDP_AUDIENCE=" + cfg.IdP.Audience,
		"USERD_IDP_JWKS_URL=" + cfg.IdP.JWKSURL, "USERD_IDP_PROVIDER=" + cfg.IdP.Provider,
	}
	var servers []*spawnedServer
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	for range *f.processes {
		s, err := spawnServer(ctx, procURL, env...)
		if err != nil {
			return err
		}
		servers = append(servers, s)
	}
	fmt.Fprintf(stdout, "\nfan-in: %d userd processes × pool %d through one PgBouncer, %d concurrent client connections, each GET /users/me (caches off) every %s, for %s:\n",
		*f.processes, *f.poolSize, *f.clients, *f.interval, *f.fanInDuration)
	runCtx, cancel := context.WithTimeout(ctx, *f.fanInDuration)
	defer cancel()
	var (
		mu       sync.Mutex
		lat      []time.Duration
		statuses = map[string]int{}
		wg       sync.WaitGroup
		ready    sync.WaitGroup
	)
	start := time.Now()
	ready.Add(*f.clients)
	for c := range *f.clients {
		base := servers[c%len(servers)].base
		wg.Go(func() {
			tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			var local []time.Duration
			seen := map[string]int{}
			first := true
			// Clients start spread over one interval, as clients do.
			pause := time.Duration(rand.Int64N(int64(*f.interval) + 1))
			for i := c; runCtx.Err() == nil; i += *f.clients {
				select {
				case <-runCtx.Done():
					continue
				case <-time.After(pause):
				}
				pause = *f.interval
				// Whether the request went out on a new connection or a
				// kept-alive one tells a refused or dropped connection
				// from a server closing an established one.
				reused := false
				trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) { reused = ci.Reused }}
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.WithoutCancel(runCtx), trace), http.MethodGet, base+"/api/v1/users/me", nil)
				req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
				t0 := time.Now()
				res, err := client.Do(req)
				local = append(local, time.Since(t0))
				switch {
				case err != nil:
					conn := "new connection"
					if reused {
						conn = "kept-alive connection"
					}
					seen["transport error ("+transportReason(err)+", "+conn+")"]++
				default:
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					seen[fmt.Sprint(res.StatusCode)]++
				}
				if first {
					ready.Done()
					first = false
				}
			}
			if first {
				ready.Done()
			}
			mu.Lock()
			lat = append(lat, local...)
			for k, v := range seen {
				statuses[k] += v
			}
			mu.Unlock()
		})
	}
	ready.Wait()
	fmt.Fprintf(stdout, "  all %d clients had an answer %s after the start\n", *f.clients, time.Since(start).Round(time.Millisecond))
	wg.Wait()
	r, err := summarize(lat, 0, time.Since(start), "requests")
	if err != nil {
		return err
	}
	bad := 0
	for k, v := range statuses {
		if k != "200" {
			bad += v
		}
	}
	fmt.Fprintf(stdout, "  %d requests, %.0f req/s, p50 %s, p99 %s, answers %v, errors %d\n", r.n, r.rate(), r.p50, r.p99, statuses, bad)
	if bad > 0 {
		for _, s := range servers {
			s.keepLog = true
			fmt.Fprintf(stdout, "  server log: %s\n", s.logPath)
		}
		return errors.New("bench pooler: the fan-in run had errors")
	}
	return nil
}
