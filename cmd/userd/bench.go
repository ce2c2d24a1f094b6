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
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/userd/userd/config"
	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/idp"
	"github.com/userd/userd/migrate"
)

// bench runs one benchmark: "me" (the default, also when the arguments
// start with a flag) or "directory".
func bench(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return benchMe(ctx, cfg, args, stdout)
	}
	switch args[0] {
	case "me":
		return benchMe(ctx, cfg, args[1:], stdout)
	case "directory":
		return benchDirectory(ctx, cfg, args[1:], stdout)
	}
	return fmt.Errorf("bench: unknown benchmark %q (me, directory)", args[0])
}

// benchMe seeds a dedicated database with COPY, serves userd on a loopback
// port with an ES256 IdP publishing its JWKS on another, and drives
// GET /api/v1/users/me with real HTTP at a fixed concurrency for a bounded
// time and request count. It then measures JWT verification and the
// user query on their own, to split the per-request cost.
func benchMe(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench me", flag.ContinueOnError)
	users := fs.Int("users", 100_000, "users to seed")
	concurrency := fs.Int("concurrency", 32, "concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "how long to send requests (at most)")
	maxRequests := fs.Int("requests", 500_000, "requests to send (at most)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := benchPool(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	defer pool.Close()
	start := time.Now()
	err = seedUsers(ctx, pool, *users,
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
	if err := seedIdentities(ctx, pool); err != nil {
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
	a, err := build(ctx, cfg, pool, log)
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
	res, err := drive(ctx, base+"/api/v1/users/me", tokens, *concurrency, *duration, *maxRequests)
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
	q := dbgen.New(pool)
	t0 = time.Now()
	for i := range n {
		if _, err := q.IdentityGetUser(ctx, dbgen.IdentityGetUserParams{Provider: "bench", Subject: fmt.Sprintf("bench-%d", i%len(tokens))}); err != nil {
			return fmt.Errorf("query: %w", err)
		}
	}
	query := time.Since(t0) / n
	fmt.Fprintf(stdout, "per request, alone: JWT verify (ES256) %s, user query (identity join) %s\n",
		verify.Round(time.Microsecond), query.Round(time.Microsecond))
	return nil
}

// benchDatabase recreates the database userd_bench next to the configured
// one and migrates it.
func benchDatabase(ctx context.Context, cfg config.Config) (string, error) {
	base, err := databaseURL(ctx, cfg)
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	for _, q := range []string{"DROP DATABASE IF EXISTS userd_bench WITH (FORCE)", "CREATE DATABASE userd_bench"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return "", fmt.Errorf("%s: %w", q, err)
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/userd_bench"
	if err := migrate.Up(ctx, u.String(), nil); err != nil {
		return "", err
	}
	return u.String(), nil
}

// machineLine describes where the figures come from: OS, architecture,
// CPU model and count, Go and PostgreSQL versions.
func machineLine(ctx context.Context, pool *pgxpool.Pool) string {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v) + ", "
				break
			}
		}
	}
	pg := "unknown"
	_ = pool.QueryRow(ctx, "SHOW server_version").Scan(&pg)
	return fmt.Sprintf("machine: %s/%s, %s%d CPUs, %s, PostgreSQL %s",
		runtime.GOOS, runtime.GOARCH, cpu, runtime.NumCPU(), runtime.Version(), pg)
}

// seedUsers loads n users with COPY, streaming row(i), the values of
// columns for user i, and analyzes the table.
func seedUsers(ctx context.Context, pool *pgxpool.Pool, n int, columns []string, row func(i int) []any) error {
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		i++
		return row(i - 1), nil
	})
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"users"}, columns, src); err != nil {
		return fmt.Errorf("copy users: %w", err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE users"); err != nil {
		return fmt.Errorf("analyze users: %w", err)
	}
	return nil
}

// seedIdentities links every seeded user bench_<i> to the identity
// ("bench", "bench-<i>").
func seedIdentities(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `
		INSERT INTO user_identities (user_id, provider, subject)
		SELECT id, 'bench', 'bench-' || substr(username, 7) FROM users WHERE is_seed_data;
		ANALYZE user_identities;`)
	if err != nil {
		return fmt.Errorf("seed identities: %w", err)
	}
	return nil
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

// drive sends GETs with the tokens round-robin from concurrency workers
// until duration or maxRequests, whichever comes first.
func drive(ctx context.Context, target string, tokens []string, concurrency int, duration time.Duration, maxRequests int) (loadResult, error) {
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
				req, _ := http.NewRequest(http.MethodGet, target, nil)
				req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
				t0 := time.Now()
				res, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				local = append(local, time.Since(t0))
				if err != nil || res.StatusCode != http.StatusOK {
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

// benchPool loads the configuration, recreates the benchmark database and
// opens a pool on it, printing the machine line first.
func benchPool(ctx context.Context, cfg config.Config, stdout io.Writer) (*pgxpool.Pool, error) {
	dbURL, err := benchDatabase(ctx, cfg)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(stdout, machineLine(ctx, pool))
	return pool, nil
}
