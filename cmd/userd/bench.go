package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/userd/userd/config"
	"github.com/userd/userd/idp"
	"github.com/userd/userd/service"
)

var benchCommand = &command{
	name:    "bench",
	args:    "[me|directory|follows|avatar|import] [flags]",
	summary: "seed a userd_bench database and measure GET /users/me (me), the directory, follows, avatars or an import (dev only)",
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
hash must become argon2id. It uses a database of its own, userd_bench_import.`,
	flags: []flagSection{
		{title: "bench me", declare: func(fs *flag.FlagSet) { benchMeFlags(fs) }},
		{title: "bench directory", declare: func(fs *flag.FlagSet) { benchDirectoryFlags(fs) }},
		{title: "bench follows", declare: func(fs *flag.FlagSet) { benchFollowsFlags(fs) }},
		{title: "bench avatar", declare: func(fs *flag.FlagSet) { benchAvatarFlags(fs) }},
		{title: "bench import", declare: func(fs *flag.FlagSet) { benchImportFlags(fs) }},
	},
	env: []string{"USERD_ENV", "DATABASE_URL", "USERD_DATA_DIR", "OTEL_EXPORTER_OTLP_ENDPOINT"},
	example: `USERD_ENV=dev userd bench --users 100000 --duration 10s     # make bench
USERD_ENV=dev userd bench directory --users 1000000
USERD_ENV=dev userd bench follows                         # make bench
USERD_ENV=dev userd bench import --users 100000`,
	devOnly: true,
	run:     bench,
}

// bench runs one benchmark: "me" (the default, also when the arguments
// start with a flag), "directory", "follows" or "avatar".
func bench(ctx context.Context, e cmdEnv, args []string) error {
	cfg, stdout := e.cfg, e.stdout
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return benchMe(ctx, cfg, args, stdout)
	}
	switch args[0] {
	case "me":
		return benchMe(ctx, cfg, args[1:], stdout)
	case "directory":
		return benchDirectory(ctx, cfg, args[1:], stdout)
	case "follows":
		return benchFollows(ctx, cfg, args[1:], stdout)
	case "avatar":
		return benchAvatar(ctx, cfg, args[1:], stdout)
	case "import":
		return benchImport(ctx, cfg, args[1:], stdout)
	}
	return usageErrorf("bench: unknown benchmark %q (me, directory, follows, avatar, import)", args[0])
}

// benchMeFlags declares the flags of bench me.
func benchMeFlags(fs *flag.FlagSet) (users, concurrency *int, duration *time.Duration, maxRequests *int) {
	return fs.Int("users", 100_000, "users to seed"),
		fs.Int("concurrency", 32, "concurrent clients"),
		fs.Duration("duration", 10*time.Second, "how long to send requests (at most)"),
		fs.Int("requests", 500_000, "requests to send (at most)")
}

// benchMe seeds a dedicated database with COPY, serves userd on a loopback
// port with an ES256 IdP publishing its JWKS on another, and drives
// GET /api/v1/users/me with real HTTP at a fixed concurrency for a bounded
// time and request count. It then measures JWT verification and the
// user query on their own, to split the per-request cost.
func benchMe(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := newFlagSet("bench me")
	users, concurrency, duration, maxRequests := benchMeFlags(fs)
	rest, err := parse(fs, args)
	if err == nil {
		err = noArgs("bench me", rest)
	}
	if err != nil {
		return err
	}
	// With OTEL_EXPORTER_OTLP_ENDPOINT set, requests and queries are
	// traced as serve traces them: the cost of tracing, measured.
	tel, err := startTracing(ctx, cfg)
	if err != nil {
		return err
	}
	defer tel.shutdown(context.WithoutCancel(ctx)) //nolint:errcheck // spans lost at exit cost nothing here
	db, err := benchDB(ctx, cfg, stdout, tel.queryTracer())
	if err != nil {
		return err
	}
	defer db.Pool.Close()
	fmt.Fprintf(stdout, "tracing: %v\n", cfg.Tracing)
	seed := service.NewBench(db)
	start := time.Now()
	err = seed.SeedUsers(ctx, *users,
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
	fmt.Fprintf(stdout, "seeded %d users with COPY in %s\n", *users, time.Since(start).Round(time.Millisecond))

	key, jwksURL, stopIdP, err := benchIdP()
	if err != nil {
		return err
	}
	defer stopIdP()
	cfg.IdP = config.IdP{Issuer: "https://bench-idp.invalid/auth/v1", Audience: "authenticated", JWKSURL: jwksURL, Provider: "bench"}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := build(ctx, cfg, db, tel, log, io.Discard)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	tokens := make([]string, min(*users, 10_000))
	for i := range tokens {
		if tokens[i], err = benchToken(key, cfg.IdP, i); err != nil {
			return err
		}
	}
	bearer := func(req *http.Request, i int) { req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)]) }
	res, err := drive(ctx, func(int) string { return base + "/api/v1/users/me" }, bearer, http.StatusOK, *concurrency, *duration, *maxRequests)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "GET /api/v1/users/me: %d requests, concurrency %d, %s: %.0f req/s, p50 %s, p99 %s, errors %d\n",
		res.n, *concurrency, res.elapsed.Round(time.Millisecond), float64(res.n)/res.elapsed.Seconds(),
		res.p50.Round(time.Microsecond), res.p99.Round(time.Microsecond), res.errors)

	// The cost split: each half alone, one request at a time.
	v, err := idp.NewVerifier(ctx, idp.Config{Issuer: cfg.IdP.Issuer, Audience: cfg.IdP.Audience, JWKSURL: jwksURL})
	if err != nil {
		return err
	}
	const n = 2000
	t0 := time.Now()
	for i := range n {
		if _, err := v.Verify(ctx, tokens[i%len(tokens)]); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
	}
	verify := time.Since(t0) / n
	t0 = time.Now()
	for i := range n {
		if err := seed.IdentityUser(ctx, "bench", fmt.Sprintf("bench-%d", i%len(tokens))); err != nil {
			return err
		}
	}
	query := time.Since(t0) / n
	fmt.Fprintf(stdout, "per request, alone: JWT verify (ES256) %s, user query (identity join) %s\n",
		verify.Round(time.Microsecond), query.Round(time.Microsecond))
	return nil
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

// drive sends GETs of target(i), set up by prepare, from concurrency
// workers until duration or maxRequests, whichever comes first; a response
// of another status than want counts as an error.
func drive(ctx context.Context, target func(i int) string, prepare func(req *http.Request, i int), want, concurrency int, duration time.Duration, maxRequests int) (loadResult, error) {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}, Timeout: 10 * time.Second}
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
	elapsed := time.Since(started)
	if len(lat) == 0 {
		return loadResult{}, fmt.Errorf("no requests completed")
	}
	slices.Sort(lat)
	return loadResult{
		n: len(lat), errors: errs, elapsed: elapsed,
		p50: lat[len(lat)/2], p99: lat[len(lat)*99/100],
	}, nil
}

// benchDB recreates the benchmark database, opens it (tracing queries
// with tracer, when not nil) and prints the machine line.
func benchDB(ctx context.Context, cfg config.Config, stdout io.Writer, tracer pgTracer) (*service.DB, error) {
	return benchDBNamed(ctx, cfg, stdout, tracer, "userd_bench")
}

// benchDBNamed is benchDB on the database name.
func benchDBNamed(ctx context.Context, cfg config.Config, stdout io.Writer, tracer pgTracer, name string) (*service.DB, error) {
	dbURL, err := benchDatabase(ctx, cfg, name)
	if err != nil {
		return nil, err
	}
	db, err := openPool(ctx, dbURL, 0, tracer) // seeding runs long statements
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(stdout, machineLine(ctx, service.NewBench(db)))
	return db, nil
}
