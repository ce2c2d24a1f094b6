package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/service"
)

// benchWebhooksFlags declares the flags of bench webhooks.
func benchWebhooksFlags(fs *flag.FlagSet) (events, backlog, clients *int, timeout *time.Duration) {
	return fs.Int("events", 1000, "changes made back to back while delivery runs: the events in flight whose commit-to-delivery lag is measured"),
		fs.Int("backlog", 2000, "events queued with delivery stopped, then drained: the delivery rate"),
		fs.Int("clients", 16, "concurrent clients making the changes"),
		fs.Duration("timeout", 2*time.Minute, "longest wait for every event of a phase to arrive")
}

// benchWebhooks measures webhook delivery to a receiver on a loopback
// port (allowed for the bench, as USERD_WEBHOOK_ALLOW_PRIVATE=1 does), with
// the worker serve runs: (1) the delivery rate, draining a backlog of
// events queued while delivery was stopped; (2) the lag from a change's
// commit to its event's arrival, p50 and p99, with --events changes made
// back to back by --clients clients while delivery runs. Each change is a
// preferences update of its own user (user.updated). It fails when an
// event does not arrive within --timeout or arrives twice.
func benchWebhooks(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := newFlagSet("bench webhooks")
	events, backlog, clients, timeout := benchWebhooksFlags(fs)
	if err := parseAll(fs, args); err != nil {
		return err
	}
	if *events < 1 || *backlog < 1 || *clients < 1 || *timeout <= 0 {
		return errors.New("--events, --backlog, --clients and --timeout: must be positive")
	}
	db, seed, err := benchOpen(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	defer db.Close()
	n := *events + *backlog
	if err := seed.SeedUsers(ctx, n, []string{"username", "is_seed_data"}, func(i int) []any { return []any{fmt.Sprintf("hook_%d", i), true} }); err != nil {
		return err
	}
	ids, err := seed.SeedUserIDs(ctx)
	if err != nil {
		return err
	}

	rcv := newBenchReceiver()
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hooks := service.NewWebhooks(db, service.WebhookConfig{AllowPrivate: true}, nil, log)
	if _, _, err := hooks.AddEndpoint(ctx, service.Console(), srv.URL+"/hooks", []string{service.EventUserUpdated}); err != nil {
		return err
	}
	users := service.NewUsers(db, "IN", "")

	// (1) The backlog, queued with delivery stopped, then drained.
	if _, err := change(ctx, users, ids[:*backlog], *clients); err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	running.Add(1)
	start := time.Now()
	go func() { defer running.Done(); hooks.Run(runCtx) }()
	defer func() { stop(); running.Wait() }()
	if err := rcv.wait(ctx, *backlog, *timeout); err != nil {
		return fmt.Errorf("backlog: %w", err)
	}
	drained := time.Since(start)
	fmt.Fprintf(stdout, "webhooks backlog: %d events delivered in %s: %.0f events/s\n", *backlog, drained.Round(time.Millisecond), float64(*backlog)/drained.Seconds())

	// (2) Changes back to back while delivery runs.
	committed, err := change(ctx, users, ids[*backlog:], *clients)
	if err != nil {
		return err
	}
	if err := rcv.wait(ctx, n, *timeout); err != nil {
		return fmt.Errorf("in flight: %w", err)
	}
	var lags []time.Duration
	first, last := time.Time{}, time.Time{}
	for _, id := range ids[*backlog:] {
		at, c := rcv.arrival(id), committed[id]
		lags = append(lags, at.Sub(c))
		if first.IsZero() || c.Before(first) {
			first = c
		}
		if at.After(last) {
			last = at
		}
	}
	fmt.Fprintf(stdout, "webhooks in flight: %d changes by %d clients committed in %s (%.0f/s), all delivered %s after the first commit; commit to delivery p50 %s, p99 %s, max %s\n",
		*events, *clients, commitSpan(committed).Round(time.Millisecond), float64(*events)/commitSpan(committed).Seconds(), last.Sub(first).Round(time.Millisecond),
		percentile(lags, 50).Round(time.Millisecond), percentile(lags, 99).Round(time.Millisecond), percentile(lags, 100).Round(time.Millisecond))
	if d := rcv.duplicates.Load(); d != 0 {
		return fmt.Errorf("%d events arrived twice (no failure was caused: every one should arrive once)", d)
	}
	return nil
}

// change updates the preferences of each user in ids from clients
// concurrent clients and returns when each change committed.
func change(ctx context.Context, users *service.Users, ids []int64, clients int) (map[int64]time.Time, error) {
	var (
		mu        sync.Mutex
		committed = make(map[int64]time.Time, len(ids))
		next      atomic.Int64
		firstErr  error
		wg        sync.WaitGroup
	)
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				_, err := users.UpdatePreferences(ctx, service.Principal{User: service.User{ID: ids[i]}}, json.RawMessage(fmt.Sprintf(`{"bench":%d}`, i)))
				at := time.Now()
				mu.Lock()
				committed[ids[i]] = at
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("change user %d: %w", ids[i], err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return committed, firstErr
}

// benchReceiver records when the event of each user first arrived.
type benchReceiver struct {
	mu         sync.Mutex
	arrived    map[int64]time.Time
	duplicates atomic.Int64
	signal     chan struct{}
}

func newBenchReceiver() *benchReceiver {
	return &benchReceiver{arrived: map[int64]time.Time{}, signal: make(chan struct{}, 1)}
}

func (b *benchReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	var ev struct {
		Data struct {
			UserID int64 `json:"user_id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.Data.UserID == 0 {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	if _, seen := b.arrived[ev.Data.UserID]; seen {
		b.duplicates.Add(1)
	} else {
		b.arrived[ev.Data.UserID] = at
	}
	b.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	select {
	case b.signal <- struct{}{}:
	default:
	}
}

func (b *benchReceiver) arrival(userID int64) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.arrived[userID]
}

// wait waits until n events arrived, at most timeout.
func (b *benchReceiver) wait(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		b.mu.Lock()
		got := len(b.arrived)
		b.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-b.signal:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			return fmt.Errorf("%d of %d events arrived within %s", got, n, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// commitSpan is the time from the first commit to the last.
func commitSpan(committed map[int64]time.Time) time.Duration {
	var first, last time.Time
	for _, c := range committed {
		if first.IsZero() || c.Before(first) {
			first = c
		}
		if c.After(last) {
			last = c
		}
	}
	return max(last.Sub(first), time.Millisecond)
}
