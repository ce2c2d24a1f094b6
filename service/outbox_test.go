package service_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/userd/userd/mail"
	"github.com/userd/userd/mail/smtptest"
	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
)

// Two workers (two instances) drain one outbox: every mail is sent exactly
// once, and no job is left behind.
func TestOutboxWorkersShareTheWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	srv := smtptest.NewServer(t)
	const jobs = 60
	for i := range jobs {
		payload := fmt.Sprintf(`{"to": "user%d@example.com", "subject": "hello", "text": "mail %d"}`, i, i)
		if _, err := pool.Exec(ctx, `INSERT INTO outbox (kind, payload) VALUES ('mail', $1)`, payload); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var wg sync.WaitGroup
	for range 2 {
		m, err := mail.NewSMTP("smtp://"+srv.Addr, "userd <no-reply@userd.test>")
		if err != nil {
			t.Fatal(err)
		}
		w := service.NewOutbox(service.NewDB(pool), nil, m, log)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := w.RunOnce(ctx, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for _, m := range srv.Messages() {
		seen[m.To[0]]++
	}
	for i := range jobs {
		if got := seen[fmt.Sprintf("user%d@example.com", i)]; got != 1 {
			t.Fatalf("user%d: got %d mails, want 1", i, got)
		}
	}
	var pending, payloads int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE done_at IS NULL), count(*) FILTER (WHERE payload <> '{}') FROM outbox`).Scan(&pending, &payloads); err != nil {
		t.Fatal(err)
	}
	if pending != 0 || payloads != 0 {
		t.Fatalf("got %d jobs pending and %d payloads kept, want 0 and 0", pending, payloads)
	}
}

// A job that keeps failing is retried later each time, the delay doubling
// from BaseBackoff, and is marked failed for good after MaxAttempts.
func TestOutboxBacksOffThenGivesUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	// A mail server that refuses every connection.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	m, err := mail.NewSMTP("smtp://"+addr, "userd <no-reply@userd.test>")
	if err != nil {
		t.Fatal(err)
	}
	w := service.NewOutbox(service.NewDB(pool), nil, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.BaseBackoff, w.MaxBackoff, w.MaxAttempts = time.Minute, time.Hour, 3
	if _, err := pool.Exec(ctx, `INSERT INTO outbox (kind, payload) VALUES ('mail', '{"to": "a@example.com", "subject": "s", "text": "t"}')`); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 3; attempt++ {
		before := time.Now()
		if n, err := w.RunOnce(ctx, 5); err != nil || n != 1 {
			t.Fatalf("attempt %d: got %d jobs, %v; want 1 job worked", attempt, n, err)
		}
		after := time.Now()
		var attempts int
		var runAfter time.Time
		var failed bool
		var lastError *string
		if err := pool.QueryRow(ctx, `SELECT attempts, run_after, failed_at IS NOT NULL, last_error FROM outbox`).Scan(&attempts, &runAfter, &failed, &lastError); err != nil {
			t.Fatal(err)
		}
		if attempts != attempt || lastError == nil || *lastError == "" {
			t.Fatalf("attempt %d: got %d attempts, last error %v; want %d and an error", attempt, attempts, lastError, attempt)
		}
		if attempt == 3 {
			if !failed {
				t.Fatalf("after %d attempts: got the job still pending, want it failed", attempts)
			}
			break
		}
		if failed {
			t.Fatalf("attempt %d: got the job failed, want it retried", attempt)
		}
		delay := time.Minute << (attempt - 1)
		if runAfter.Before(before.Add(delay)) || runAfter.After(after.Add(delay+delay/5)) {
			t.Fatalf("attempt %d: got a retry %v from now, want %v plus at most 20 %%", attempt, runAfter.Sub(before), delay)
		}
		// Not due yet: nothing is worked.
		if n, err := w.RunOnce(ctx, 5); err != nil || n != 0 {
			t.Fatalf("attempt %d, before its retry time: got %d jobs, %v; want 0", attempt, n, err)
		}
		if _, err := pool.Exec(ctx, `UPDATE outbox SET run_after = now()`); err != nil {
			t.Fatal(err)
		}
	}
	// Failed for good: never worked again.
	if _, err := pool.Exec(ctx, `UPDATE outbox SET run_after = now()`); err != nil {
		t.Fatal(err)
	}
	if n, err := w.RunOnce(ctx, 5); err != nil || n != 0 {
		t.Fatalf("after failing for good: got %d jobs, %v; want 0", n, err)
	}
}

// blockingMailer holds every Send until its context ends.
type blockingMailer struct{ sending chan struct{} }

func (m blockingMailer) Send(ctx context.Context, _ service.Mail) error {
	m.sending <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// A worker stopped in the middle of a job (a shutdown) gives the job's
// lease back: the job is due again at once, not after the lease.
func TestOutboxStopReleasesTheLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if _, err := pool.Exec(ctx, `INSERT INTO outbox (kind, payload) VALUES ('mail', '{"to": "a@example.com", "subject": "s", "text": "t"}')`); err != nil {
		t.Fatal(err)
	}
	m := blockingMailer{sending: make(chan struct{})}
	w := service.NewOutbox(service.NewDB(pool), nil, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(runCtx, time.Hour); close(done) }()
	<-m.sending // the job is leased and being worked
	var leased bool
	if err := pool.QueryRow(ctx, `SELECT run_after > now() + interval '1 minute' FROM outbox`).Scan(&leased); err != nil || !leased {
		t.Fatalf("while worked: got leased %v (%v), want the job leased", leased, err)
	}
	stop()
	<-done
	var due, finished bool
	if err := pool.QueryRow(ctx, `SELECT run_after <= now(), done_at IS NOT NULL OR failed_at IS NOT NULL FROM outbox`).Scan(&due, &finished); err != nil {
		t.Fatal(err)
	}
	if !due || finished {
		t.Fatalf("after the stop: got due %v, finished %v, want the job due again and not finished", due, finished)
	}
}
