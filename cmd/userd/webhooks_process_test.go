package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/userd/userd/pgtest"
)

// TestWebhooksSurviveSIGKILL: `userd serve` killed (SIGKILL) while
// deliveries are in flight loses none: after a restart every event arrives
// at least once, a delivery cut off by the kill arrives again under the
// same webhook-id, and every request verifies with the official library.
// The endpoint is added with `userd webhooks add`.
func TestWebhooksSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewURL(t)
	dataDir := t.TempDir()

	var (
		mu      sync.Mutex
		secret  string
		arrived = map[string]int{} // webhook-id → requests
		n       int
		bad     int
	)
	hang := make(chan struct{}) // closed: requests are answered again
	hanging := make(chan struct{}, 100)
	const answeredBeforeKill = 10
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil || wh.Verify(body, r.Header) != nil {
			bad++
			mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		arrived[r.Header.Get("webhook-id")]++
		n++
		stall := n > answeredBeforeKill
		mu.Unlock()
		if stall {
			hanging <- struct{}{}
			select {
			case <-hang:
			case <-r.Context().Done():
				return // the sender is gone: it never saw an answer
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	t.Cleanup(func() {
		select {
		case <-hang:
		default:
			close(hang)
		}
	})

	// The binary migrates the database (dev) and adds the endpoint.
	add := exec.Command(os.Args[0], "webhooks", "add", "--url", rcv.URL+"/hooks", "--events", "*")
	add.Env = append(os.Environ(), "USERD_TEST_RUN_MAIN=1", "USERD_ENV=dev", "DATABASE_URL="+dbURL, "USERD_DATA_DIR="+dataDir)
	out, err := add.Output()
	if err != nil {
		t.Fatalf("userd webhooks add: %v\n%s", err, out)
	}
	var created struct {
		ID     int64  `json:"id"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(out, &created); err != nil || created.ID == 0 || !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("userd webhooks add: got %q (%v), want {\"id\", \"secret\": \"whsec_…\"}", out, err)
	}
	mu.Lock()
	secret = created.Secret
	mu.Unlock()

	// 40 events, queued to the endpoint as a committed change queues them.
	const events = 40
	conn := connect(t, dbURL)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `
		WITH ev AS (
			INSERT INTO webhook_events (type, payload)
			SELECT 'user.created', jsonb_build_object('type', 'user.created', 'timestamp', now(), 'data', jsonb_build_object('user_id', g))
			FROM generate_series(1, $1::int) g RETURNING id)
		INSERT INTO webhook_deliveries (event_id, endpoint_id) SELECT ev.id, $2 FROM ev`, events, created.ID); err != nil {
		t.Fatal(err)
	}
	var want []string
	if err := conn.QueryRow(ctx, `SELECT array_agg(message_id) FROM webhook_events`).Scan(&want); err != nil {
		t.Fatal(err)
	}

	env := []string{"USERD_WEBHOOK_ALLOW_PRIVATE=1", "USERD_WEBHOOK_TIMEOUT=2s", "USERD_WEBHOOK_RETRY_SCHEDULE=100ms,200ms,400ms,800ms,1s,1s,1s,1s,1s,1s"}
	p := startUserd(t, dbURL, dataDir, env...)
	select {
	case <-hanging: // a delivery is in flight, its answer held back
	case <-time.After(60 * time.Second):
		t.Fatalf("no delivery in flight within 60 s\n%s", p.logs)
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	if err := <-p.done; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("first process: got exit %v, want killed", err)
	}
	p.done <- nil
	mu.Lock()
	before := len(arrived)
	mu.Unlock()
	var undelivered int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL`).Scan(&undelivered); err != nil {
		t.Fatal(err)
	}
	if undelivered == 0 || before == events {
		t.Fatalf("the kill came too late: %d of %d events arrived, %d undelivered", before, events, undelivered)
	}

	close(hang)
	q := startUserd(t, dbURL, dataDir, env...)
	deadline := time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		got := len(arrived)
		mu.Unlock()
		if got == events {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: %d of %d events arrived\n%s", got, events, q.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range want {
		if arrived[id] == 0 {
			t.Errorf("event %s never arrived", id)
		}
	}
	dups := 0
	for _, c := range arrived {
		if c > 1 {
			dups++
		}
	}
	if dups == 0 {
		t.Errorf("no event arrived twice: the deliveries cut off by the kill were not sent again under their webhook-id")
	}
	if bad != 0 {
		t.Fatalf("%d requests did not verify", bad)
	}
	t.Logf("%d events, %d arrived again after the kill under the same webhook-id", events, dups)
}
