package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/userd/userd/config"
	"github.com/userd/userd/idp"
	"github.com/userd/userd/redact"
	"github.com/userd/userd/service"
	"github.com/userd/userd/signing"
)

var benchCommand = &command{
	name:    "bench",
	args:    "[me|directory|console|follows|avatar|import|flood|webhooks|pooler] [flags]",
	summary: "seed a userd_bench database and measure GET /users/me (me), the directory, follows, avatars, an import or a login flood (dev only)",
	about: `Drops and recreates the database userd_bench next to DATABASE_URL (dev: the
local server), seeds it with COPY, and measures; every run is bounded in
time and count.

me (the default): serves userd on a loopback port with an ES256 IdP and
drives GET /api/v1/users/me over real HTTP, then splits the cost between
JWT verification and the user query.

directory: the admin directory through the service layer, one call at a
time: first keyset page, keyset page and OFFSET at depth ~users, phone
lookup exact and by last 10 digits; fails if depth costs > 1.5x the first
page.

console: the admin console's pages through the service layer, as an admin,
one at a time, in its own database userd_bench_console: the users page
unfiltered and under each filter, first and at depth ~users, searches, a
user's and an organization's page, the overview; fails if a directory page
is over 50 ms at p50.

follows: clients follow and unfollow through the service layer, (a) all one
hot user, (b) users spread over all the seeded ones, with the counter folder
running; prints ops/s, p50, p99 and the hot/spread ratio; fails if a counter
is off the true count or hot < 0.5x spread.

avatar: uploads an avatar for each seeded user through the service, serves
userd on a loopback port and drives GET /api/v1/users/{id}/avatar?v=… over
real HTTP: the 200 path (bytes), then the 304 path (If-None-Match).

import: writes a JSON Lines file of users with real bcrypt hashes (a few
distinct ones computed once, each of its own password), imports it through
the service (as userd import does) and fails over the bar (60 s); imports
it again (every line skipped), then signs in as an imported user, whose
hash must become argon2id. It uses a database of its own, userd_bench_import.

flood: runs ` + "`userd serve`" + ` as a process of its own on the bench database
(per-address login limit off) and drives GET /api/v1/users/me at a fixed
concurrency, alone and then while --flood clients send failed logins back
to back; prints p50/p99 of both phases and the server's peak RSS (VmHWM);
fails if the peak RSS is over 150 MiB or the p99 during the flood over 5x
the p99 before.

webhooks: delivers to a receiver on a loopback port with serve's worker: the
rate of draining a backlog (--backlog events), then the lag from commit to
arrival (p50/p99) of --events changes made back to back while delivery
runs; fails if an event is late past --timeout or arrives twice.

pooler --via-pooler URL: GET /users/me (caches off) and the directory
directly and through a transaction-mode PgBouncer (URL; DATABASE_URL is the
server behind it), /users/me in each pgx query exec mode, then 4 userd serve
processes with pools of 10 through that PgBouncer serving 2,000 concurrent
client connections; fails on any error there. scripts/bench-pooler.sh starts
the PgBouncer and runs it.`,
	flags: []flagSection{
		{title: "bench me", declare: func(fs *flag.FlagSet) { benchMeFlags(fs) }},
		{title: "bench directory", declare: func(fs *flag.FlagSet) { benchDirectoryFlags(fs) }},
		{title: "bench console", declare: func(fs *flag.FlagSet) { benchConsoleFlags(fs) }},
		{title: "bench follows", declare: func(fs *flag.FlagSet) { benchFollowsFlags(fs) }},
		{title: "bench avatar", declare: func(fs *flag.FlagSet) { benchAvatarFlags(fs) }},
		{title: "bench import", declare: func(fs *flag.FlagSet) { benchImportFlags(fs) }},
		{title: "bench flood", declare: func(fs *flag.FlagSet) { benchFloodFlags(fs) }},
		{title: "bench webhooks", declare: func(fs *flag.FlagSet) { benchWebhooksFlags(fs) }},
		{title: "bench pooler", declare: func(fs *flag.FlagSet) { benchPoolerFlags(fs) }},
	},
	env: []string{"USERD_ENV", "DATABASE_URL", "USERD_DATA_DIR", "OTEL_EXPORTER_OTLP_ENDPOINT"},
	example: `USERD_ENV=dev userd bench --users 100000 --duration 10s     # make bench
USERD_ENV=dev userd bench directory --users 1000000
USERD_ENV=dev userd bench follows                         # make bench
USERD_ENV=dev userd bench import --users 100000
USERD_ENV=dev userd bench flood                           # make bench`,
	devOnly: true,
	run:     bench,
}

// bench runs one benchmark: "me" (the default, also when the arguments
// start with a flag), "directory", "follows", "avatar", "import" or
// "flood".
func bench(ctx context.Context, e cmdEnv, args []string) error {
	cfg, stdout := e.cfg, e.stdout
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return benchMe(ctx, cfg, args, stdout)
	}
	run, ok := map[string]func(context.Context, config.Config, []string, io.Writer) error{
		"me": benchMe, "directory": benchDirectory, "console": benchConsole, "follows": benchFollows, "avatar": benchAvatar,
		"import": benchImport, "flood": benchFlood, "webhooks": benchWebhooks, "pooler": benchPooler,
	}[args[0]]
	if ok {
		return run(ctx, cfg, args[1:], stdout)
	}
	return usageErrorf("bench: unknown benchmark %q (me, directory, console, follows, avatar, import, flood, webhooks, pooler)", args[0])
}

// meFlags are the flags of bench me.
type meFlags struct {
	users, concurrency, maxRequests *int
	rounds                          *int
	duration                        *time.Duration
	cpuProfile, memProfile          *string
	compare                         *bool
}

// benchMeFlags declares the flags of bench me.
func benchMeFlags(fs *flag.FlagSet) meFlags {
	return meFlags{
		users:       fs.Int("users", 100_000, "users to seed"),
		concurrency: fs.Int("concurrency", 32, "concurrent clients"),
		duration:    fs.Duration("duration", 10*time.Second, "how long to send requests (at most)"),
		maxRequests: fs.Int("requests", 500_000, "requests to send (at most)"),
		cpuProfile:  fs.String("cpuprofile", "", "write a CPU profile of the load phase (caches on, IdP tokens) to this file"),
		memProfile:  fs.String("memprofile", "", "write an allocation profile of the load phase (caches on, IdP tokens) to this file"),
		rounds:      fs.Int("rounds", 3, "rounds: each measurement once per round, interleaved; the best round of each is kept"),
		compare:     fs.Bool("compare", false, "also measure pgbench -S (scale 10, for --duration but at least 10s, at c8 and c32, at the start of each round) and a trivial handler; ratios by round, their median against the bars"),
	}
}

// benchMe seeds a dedicated database with COPY, serves userd on a loopback
// port with an ES256 IdP publishing its JWKS on another, and drives
// GET /api/v1/users/me with real HTTP at a fixed concurrency for a bounded
// time and request count: with IdP tokens and with userd's own, caches on
// and off (USERD_CACHE). It then measures JWT verification and the user
// query on their own, to split the per-request cost; with --compare, it
// also measures pgbench -S and a trivial handler and checks the bars.
func benchMe(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := newFlagSet("bench me")
	f := benchMeFlags(fs)
	if err := parseAll(fs, args); err != nil {
		return err
	}
	// With OTEL_EXPORTER_OTLP_ENDPOINT set, requests and queries are
	// traced as serve traces them: the cost of tracing, measured.
	tel, err := startTracing(ctx, cfg)
	if err != nil {
		return err
	}
	defer tel.shutdown(context.WithoutCancel(ctx)) //nolint:errcheck // spans lost at exit cost nothing here
	db, dbURL, err := benchDB(ctx, cfg, stdout, tel.queryTracer())
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(stdout, "tracing: %v\n", cfg.Tracing)
	seed := service.NewBench(db)
	start := time.Now()
	err = seed.SeedUsers(ctx, *f.users,
		[]string{"username", "email", "phone", "first_name", "last_name", "is_seed_data"},
		func(i int) []any {
			return []any{
				fmt.Sprintf("bench_%d", i), fmt.Sprintf("bench%d@example.com", i), fmt.Sprintf("+9190%08d", i),
				"Bench", fmt.Sprintf("User %d", i), true,
			}
		})
	if err != nil {
		return err
	}
	if err := seed.SeedIdentities(ctx); err != nil {
		return err
	}
	nTokens := min(*f.users, 10_000)
	sessions, err := seed.SeedSessions(ctx, nTokens)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d users with COPY, %d sessions, in %s\n", *f.users, len(sessions), time.Since(start).Round(time.Millisecond))

	key, jwksURL, stopIdP, err := benchIdP()
	if err != nil {
		return err
	}
	defer stopIdP()
	cfg.IdP = config.IdP{Issuer: "https://bench-idp.invalid/auth/v1", Audience: "authenticated", JWKSURL: jwksURL, Provider: "bench"}
	kinds, err := benchTokens(cfg, key, nTokens, sessions)
	if err != nil {
		return err
	}
	bearer := func(tokens []string) func(req *http.Request, i int) {
		return func(req *http.Request, i int) {
			if len(tokens) > 0 {
				req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
			}
		}
	}
	// The instances, all up at once so that the rounds below interleave
	// them: caches on, caches off, caches on without the request log (level
	// warn: serve logs at info and never drops a 4xx or 5xx line).
	type instance struct {
		name  string
		cache bool
		level slog.Level
		base  string
	}
	insts := []*instance{{name: "caches on", cache: true}, {name: "caches off"}, {name: "caches on, no request log", cache: true, level: slog.LevelWarn}}
	for _, in := range insts {
		base, stop, err := benchServe(ctx, cfg, dbURL, tel, in.cache, in.level)
		if err != nil {
			return err
		}
		defer stop()
		in.base = base
	}
	answer, err := meAnswer(ctx, insts[0].base, kinds[0].tokens[0])
	if err != nil {
		return err
	}
	type run struct {
		label, base string
		tokens      []string
	}
	var runs []run
	for _, in := range insts {
		for _, k := range kinds {
			if in.level == slog.LevelInfo || k.name == kinds[0].name {
				runs = append(runs, run{label: k.name + ", " + in.name, base: in.base, tokens: k.tokens})
			}
		}
	}
	var pgRound func() (float64, error)
	if *f.compare {
		base, stop, err := trivialServe(answer)
		if err != nil {
			return err
		}
		defer stop()
		// The same requests as userd's first: its tokens, one per
		// request, in the Authorization header the trivial handler
		// ignores.
		runs = append(runs, run{label: trivialLabel, base: base, tokens: kinds[0].tokens})
		if pgRound, err = pgbenchSetup(ctx, cfg, *f.duration, stdout); err != nil {
			return err
		}
	}
	// One request per token first: the steady state is measured, not the
	// first sight of each.
	for _, r := range runs {
		if len(r.tokens) == 0 {
			continue
		}
		if _, err := drive(ctx, func(int) string { return r.base + "/api/v1/users/me" }, bearer(r.tokens), http.StatusOK, *f.concurrency, time.Minute, len(r.tokens)); err != nil {
			return fmt.Errorf("%s: %w", r.label, err)
		}
	}
	best := map[string]loadResult{}
	pgBest := 0.0
	var rounds []roundRates // --compare: each round's throughputs, pgbench's measured in the same round
	for round := 1; round <= *f.rounds; round++ {
		rates := roundRates{}
		if pgRound != nil {
			tps, err := pgRound()
			if err != nil {
				return err
			}
			pgBest = max(pgBest, tps)
			rates[pgbenchLabel] = tps
		}
		for i, r := range runs {
			stopProfile := func() error { return nil }
			if round == 1 && i == 0 {
				if stopProfile, err = startProfiles(*f.cpuProfile, *f.memProfile); err != nil {
					return err
				}
			}
			res, err := drive(ctx, func(int) string { return r.base + "/api/v1/users/me" }, bearer(r.tokens), http.StatusOK, *f.concurrency, *f.duration, *f.maxRequests)
			if perr := stopProfile(); err == nil {
				err = perr
			}
			if err != nil {
				return fmt.Errorf("%s: %w", r.label, err)
			}
			fmt.Fprintf(stdout, "round %d: GET /api/v1/users/me, %s: %d requests, concurrency %d, %s: %.0f req/s, p50 %s, p99 %s, errors %d\n",
				round, r.label, res.n, *f.concurrency, res.elapsed.Round(time.Millisecond), res.rate(),
				res.p50.Round(time.Microsecond), res.p99.Round(time.Microsecond), res.errors)
			if b, ok := best[r.label]; !ok || res.rate() > b.rate() {
				best[r.label] = res
			}
			rates[r.label] = res.rate()
		}
		rounds = append(rounds, rates)
	}
	fmt.Fprintf(stdout, "best of %d rounds, load average now %s:\n", *f.rounds, loadAverage())
	for _, r := range runs {
		res := best[r.label]
		fmt.Fprintf(stdout, "  %s: %.0f req/s, p50 %s, p99 %s, errors %d\n", r.label, res.rate(),
			res.p50.Round(time.Microsecond), res.p99.Round(time.Microsecond), res.errors)
	}
	logged, quiet := best[runs[0].label], best[kinds[0].name+", "+insts[2].name]
	fmt.Fprintf(stdout, "request log: %.0f req/s with it, %.0f without (%s, caches on): %.1f µs of wall time per request\n",
		logged.rate(), quiet.rate(), kinds[0].name, (1/logged.rate()-1/quiet.rate())*1e6)

	// The cost split: each half alone, one request at a time.
	v, err := idp.NewVerifier(ctx, idp.Config{Issuer: cfg.IdP.Issuer, Audience: cfg.IdP.Audience, JWKSURL: jwksURL})
	if err != nil {
		return err
	}
	const n = 2000
	t0 := time.Now()
	for i := range n {
		if _, err := v.Verify(ctx, kinds[0].tokens[i%nTokens]); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
	}
	verify := time.Since(t0) / n
	t0 = time.Now()
	for i := range n {
		if err := seed.IdentityUser(ctx, "bench", fmt.Sprintf("bench-%d", i%nTokens)); err != nil {
			return err
		}
	}
	query := time.Since(t0) / n
	fmt.Fprintf(stdout, "per request, alone: JWT verify (ES256) %s, user query (identity join) %s\n",
		verify.Round(time.Microsecond), query.Round(time.Microsecond))
	if !*f.compare {
		return nil
	}
	userd := map[string]loadResult{}
	for _, k := range kinds {
		userd[k.name] = best[k.name+", "+insts[0].name]
		for _, rates := range rounds {
			rates[k.name] = rates[k.name+", "+insts[0].name]
		}
	}
	return checkBars(userd, best[trivialLabel], pgBest, rounds, answer, stdout)
}

// tokenKind is a set of bearer tokens of one kind.
type tokenKind struct {
	name   string
	tokens []string
}

// benchTokens makes n ES256 IdP tokens of the seeded identities and a
// token of userd's own for each seeded session.
func benchTokens(cfg config.Config, key jwk.Key, n int, sessions []service.SeededSession) ([]tokenKind, error) {
	ext := tokenKind{name: "ES256 IdP tokens", tokens: make([]string, n)}
	for i := range ext.tokens {
		var err error
		if ext.tokens[i], err = benchToken(key, cfg.IdP, i); err != nil {
			return nil, err
		}
	}
	keys, err := signingKeys(cfg)
	if err != nil {
		return nil, err
	}
	own := tokenKind{name: "userd's own tokens (" + keys.Algorithm() + ")"}
	now := time.Now()
	for _, s := range sessions {
		tok, err := keys.Sign(signing.Claims{
			Issuer: cfg.Issuer, Audience: cfg.Audience, Subject: strconv.FormatInt(s.UserID, 10), Role: "user",
			SessionID: strconv.FormatInt(s.SessionID, 10), IssuedAt: now, ExpiresAt: now.Add(time.Hour),
		})
		if err != nil {
			return nil, err
		}
		own.tokens = append(own.tokens, tok)
	}
	if len(own.tokens) == 0 {
		return nil, errors.New("bench me: no sessions were seeded")
	}
	return []tokenKind{ext, own}, nil
}

// benchServe serves userd on a loopback port over its own pool on dbURL,
// with the caches on or off, logging as serve does (JSON, redacted, at
// logLevel) to nowhere; stop ends both.
func benchServe(ctx context.Context, cfg config.Config, dbURL string, tel *tracing, cache bool, logLevel slog.Level) (string, func(), error) {
	cfg.Cache = cache
	db, err := openScaled(ctx, cfg, dbURL, cfg.Limits.DBTimeout, tel.queryTracer(), cacheConfig(cfg), nil)
	if err != nil {
		return "", nil, err
	}
	log := newLogger(io.Discard, logLevel, redact.New())
	a, err := build(ctx, cfg, db, tel, log, io.Discard)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); cache && !db.PrincipalCacheOnline(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			db.Close()
			return "", nil, errors.New("bench me: the change listener did not listen within 10 s")
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		return "", nil, err
	}
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	return "http://" + ln.Addr().String(), func() { srv.Close(); db.Close() }, nil
}

// meAnswer is one answer of GET /users/me, for the trivial handler to send.
func meAnswer(ctx context.Context, base, token string) (meResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/users/me", nil)
	if err != nil {
		return meResponse{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return meResponse{}, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return meResponse{}, err
	}
	if res.StatusCode != http.StatusOK {
		return meResponse{}, fmt.Errorf("bench me: GET /api/v1/users/me answered %s: %s", res.Status, body)
	}
	return meResponse{header: res.Header, body: body}, nil
}

// startProfiles starts a CPU profile into cpuPath and sets up an
// allocation profile into memPath (either "" for none); the function it
// returns stops them and writes the files.
func startProfiles(cpuPath, memPath string) (func() error, error) {
	var cpu *os.File
	if cpuPath != "" {
		var err error
		if cpu, err = os.Create(cpuPath); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
	}
	if memPath != "" {
		runtime.MemProfileRate = 64 << 10
	}
	return func() error {
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				return fmt.Errorf("cpu profile: %w", err)
			}
		}
		if memPath == "" {
			return nil
		}
		mem, err := os.Create(memPath)
		if err != nil {
			return fmt.Errorf("memory profile: %w", err)
		}
		defer mem.Close()
		if err := pprof.Lookup("allocs").WriteTo(mem, 0); err != nil {
			return fmt.Errorf("memory profile: %w", err)
		}
		return mem.Close()
	}, nil
}

// machineLine describes where the figures come from: OS, architecture,
// CPU model and count, Go and PostgreSQL versions.
func machineLine(ctx context.Context, b *service.Bench) string {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v) + ", "
				break
			}
		}
	}
	pg, err := b.ServerVersion(ctx)
	if err != nil {
		pg = "unknown"
	}
	return fmt.Sprintf("machine: %s/%s, %s%d CPUs, %s, PostgreSQL %s",
		runtime.GOOS, runtime.GOARCH, cpu, runtime.NumCPU(), runtime.Version(), pg)
}

// benchIdP serves a JWKS with one ES256 key on a loopback port.
func benchIdP() (jwk.Key, string, func(), error) {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", nil, err
	}
	key, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, "", nil, err
	}
	_ = key.Set(jwk.KeyIDKey, "bench")
	_ = key.Set(jwk.AlgorithmKey, jwa.ES256)
	pub, err := key.PublicKey()
	if err != nil {
		return nil, "", nil, err
	}
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	body, err := json.Marshal(set)
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		_, _ = w.Write(body)
	})}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	return key, "http://" + ln.Addr().String() + "/jwks.json", func() { srv.Close() }, nil
}

func benchToken(key jwk.Key, c config.IdP, i int) (string, error) {
	now := time.Now()
	tok, err := jwt.NewBuilder().Issuer(c.Issuer).Audience([]string{c.Audience}).Subject(fmt.Sprintf("bench-%d", i)).
		IssuedAt(now).Expiration(now.Add(time.Hour)).
		Claim("email", "").Claim("phone", "").
		Build()
	if err != nil {
		return "", err
	}
	b, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, key))
	return string(b), err
}

type loadResult struct {
	n, errors int
	elapsed   time.Duration
	p50, p99  time.Duration
}

// rate is the throughput in requests per second.
func (r loadResult) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

// drive sends GETs of target(i), set up by prepare, from concurrency
// workers until duration or maxRequests, whichever comes first; a response
// of another status than want counts as an error.
func drive(ctx context.Context, target func(i int) string, prepare func(req *http.Request, i int), want, concurrency int, duration time.Duration, maxRequests int) (loadResult, error) {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}
	// The connections end with the run: the next runs, whatever their
	// target, find no idle connections and goroutines of this one.
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var (
		mu      sync.Mutex
		lat     []time.Duration
		errs    int
		wg      sync.WaitGroup
		next    = make(chan int)
		started = time.Now()
	)
	go func() {
		defer close(next)
		for i := 0; i < maxRequests; i++ {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			bad := 0
			for i := range next {
				req, _ := http.NewRequest(http.MethodGet, target(i), nil)
				prepare(req, i)
				t0 := time.Now()
				res, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				local = append(local, time.Since(t0))
				if err != nil || res.StatusCode != want {
					bad++
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	return summarize(lat, errs, time.Since(started), "requests")
}

// summarize is a load run's result from its latencies: what, when none
// completed, names what was run.
func summarize(lat []time.Duration, errs int, elapsed time.Duration, what string) (loadResult, error) {
	if len(lat) == 0 {
		return loadResult{}, fmt.Errorf("no %s completed", what)
	}
	return loadResult{n: len(lat), errors: errs, elapsed: elapsed, p50: percentile(lat, 50), p99: percentile(lat, 99)}, nil
}

// benchOpen is benchDB without tracing, with the service's seeding side.
func benchOpen(ctx context.Context, cfg config.Config, stdout io.Writer) (*service.DB, *service.Bench, error) {
	db, _, err := benchDB(ctx, cfg, stdout, nil)
	if err != nil {
		return nil, nil, err
	}
	return db, service.NewBench(db), nil
}

// benchDB recreates the benchmark database, opens it (tracing queries
// with tracer, when not nil) and prints the machine line; it returns the
// database's URL too.
func benchDB(ctx context.Context, cfg config.Config, stdout io.Writer, tracer pgTracer) (*service.DB, string, error) {
	return benchDBNamed(ctx, cfg, stdout, tracer, "userd_bench")
}

// benchDBNamed is benchDB on the database name.
func benchDBNamed(ctx context.Context, cfg config.Config, stdout io.Writer, tracer pgTracer, name string) (*service.DB, string, error) {
	dbURL, err := benchDatabase(ctx, cfg, name)
	if err != nil {
		return nil, "", err
	}
	db, err := openPool(ctx, dbURL, 0, tracer, service.CacheConfig{}, nil) // seeding runs long statements
	if err != nil {
		return nil, "", err
	}
	fmt.Fprintf(stdout, "%s, load average %s\n", machineLine(ctx, service.NewBench(db)), loadAverage())
	return db, dbURL, nil
}

// loadAverage is the first three fields of /proc/loadavg: the figures
// are only comparable with others measured under the same load.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
