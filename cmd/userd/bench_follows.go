package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/service"
)

// minHotRatio is the bar of the follows benchmark: following one hot user
// keeps at least half the throughput of following users spread out.
const minHotRatio = 0.5

// benchFollowsFlags declares the flags of bench follows.
func benchFollowsFlags(fs *flag.FlagSet) (users, clients *int, duration *time.Duration, maxOps *int) {
	return fs.Int("users", 10_000, "users to seed (the spread targets)"),
		fs.Int("clients", 64, "concurrent clients"),
		fs.Duration("duration", 10*time.Second, "how long each scenario runs (at most)"),
		fs.Int("ops", 1_000_000, "operations per scenario (at most)")
}

// benchFollows seeds users with COPY and drives follow/unfollow pairs
// through the service from many clients at once, with the counter folder
// running as serve runs it: (a) every client follows and unfollows one hot
// user, (b) every client follows and unfollows users spread over all the
// seeded ones. It prints ops/s, p50 and p99 of both and their ratio, then
// checks every counter against the true counts. It fails when a counter is
// off, an operation failed, or hot/spread is below minHotRatio.
func benchFollows(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := newFlagSet("bench follows")
	users, clients, duration, maxOps := benchFollowsFlags(fs)
	if err := parseAll(fs, args); err != nil {
		return err
	}
	switch {
	case *clients < 1:
		return fmt.Errorf("--clients: must be positive")
	case *users < *clients+2:
		return fmt.Errorf("--users: must exceed --clients by 2")
	case *duration <= 0 || *maxOps < 1:
		return fmt.Errorf("--duration and --ops: must be positive")
	}
	db, seed, err := benchOpen(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	err = seed.SeedUsers(ctx, *users, []string{"username", "first_name", "is_seed_data"},
		func(i int) []any { return []any{fmt.Sprintf("follow_%d", i), "Bench", true} })
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d users with COPY in %s\n", *users, time.Since(start).Round(time.Millisecond))
	ids, err := seed.SeedUserIDs(ctx)
	if err != nil {
		return err
	}
	conns := db.Stats().Max

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	social := service.NewSocial(db, key)
	folderCtx, stopFolder := context.WithCancel(ctx)
	var folder sync.WaitGroup
	folder.Add(1)
	go func() {
		defer folder.Done()
		social.RunFolder(folderCtx, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	defer func() { stopFolder(); folder.Wait() }()

	// Clients act as the first users; the hot user is the next one; the
	// spread targets are all the others.
	actors, hot, spread := ids[:*clients], ids[*clients], ids[*clients+1:]
	run := func(name string, target func(rng *mrand.Rand) int64) (loadResult, error) {
		res, err := followLoad(ctx, social, actors, target, *duration, *maxOps)
		if err != nil {
			return res.loadResult, fmt.Errorf("%s: %w", name, err)
		}
		if res.firstErr != nil {
			fmt.Fprintf(stdout, "follows %s: first failed operation: %v\n", name, res.firstErr)
		}
		fmt.Fprintf(stdout, "follows %-7s %d ops (follow+unfollow), %d clients, %d conns, %s: %.0f ops/s, p50 %s, p99 %s, errors %d\n",
			name, res.n, *clients, conns, res.elapsed.Round(time.Millisecond), float64(res.n)/res.elapsed.Seconds(),
			res.p50.Round(time.Microsecond), res.p99.Round(time.Microsecond), res.errors)
		return res.loadResult, nil
	}
	spreadRes, err := run("spread", func(rng *mrand.Rand) int64 { return spread[rng.IntN(len(spread))] })
	if err != nil {
		return err
	}
	hotRes, err := run("hot", func(*mrand.Rand) int64 { return hot })
	if err != nil {
		return err
	}
	ratio := (float64(hotRes.n) / hotRes.elapsed.Seconds()) / (float64(spreadRes.n) / spreadRes.elapsed.Seconds())
	fmt.Fprintf(stdout, "follows hot/spread throughput ratio: %.2f (bar %.2f)\n", ratio, minHotRatio)

	// Exact at the end, before and after folding everything.
	var errs []error
	for _, stage := range []string{"with deltas pending", "after folding them"} {
		if stage == "after folding them" {
			stopFolder()
			folder.Wait()
			for {
				n, err := social.FoldCounters(ctx, 10_000)
				if err != nil {
					return err
				}
				if n == 0 {
					break
				}
			}
		}
		off, err := social.CounterMismatches(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "follows counters %s: %d of %d users off their true counts\n", stage, off, len(ids))
		if off != 0 {
			errs = append(errs, fmt.Errorf("%d users' counters off %s", off, stage))
		}
	}
	if hotRes.errors+spreadRes.errors > 0 {
		errs = append(errs, fmt.Errorf("%d operations failed", hotRes.errors+spreadRes.errors))
	}
	if ratio < minHotRatio {
		errs = append(errs, fmt.Errorf("hot/spread ratio %.2f below the bar %.2f", ratio, minHotRatio))
	}
	return errors.Join(errs...)
}

// followResult is a load result and the first operation that failed.
type followResult struct {
	loadResult
	firstErr error
}

// followLoad runs clients (one per actor) that each follow target(rng) and
// unfollow it again, until duration or maxOps operations; each follow and
// each unfollow is one operation.
func followLoad(ctx context.Context, social *service.Social, actors []int64, target func(rng *mrand.Rand) int64, duration time.Duration, maxOps int) (followResult, error) {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var (
		mu      sync.Mutex
		lat     []time.Duration
		errs    int
		firstEr error
		wg      sync.WaitGroup
		budget  = make(chan struct{}, len(actors))
		started = time.Now()
	)
	go func() {
		defer close(budget)
		for i := 0; i < maxOps; i += 2 {
			select {
			case budget <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for c, actor := range actors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(c), uint64(actor)))
			local := make([]time.Duration, 0, 4096)
			bad := 0
			var badErr error
			for range budget {
				t := target(rng)
				for _, op := range []func(context.Context, service.Principal, int64) error{social.Follow, social.Unfollow} {
					// The operation runs to completion even past the
					// deadline: a cancelled one would count as an error.
					t0 := time.Now()
					err := op(context.WithoutCancel(ctx), service.Principal{User: service.User{ID: actor}}, t)
					local = append(local, time.Since(t0))
					if err != nil {
						bad++
						badErr = err
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += bad
			if firstEr == nil {
				firstEr = badErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res, err := summarize(lat, errs, time.Since(started), "operations")
	return followResult{loadResult: res, firstErr: firstEr}, err
}
