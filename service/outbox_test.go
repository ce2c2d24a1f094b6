package service_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

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
