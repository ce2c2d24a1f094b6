package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The admin routes manage endpoints end to end: add (secret shown once),
// list, get, the delivery log of a delivered event, replay with the same
// webhook-id, rotate, remove; only admins may, and bad input changes
// nothing. /metrics shows the queue.
func TestWebhookAdminRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	adminTok, _ := e.userWithRole("root", "admin")
	opTok, _ := e.userWithRole("op", "operator")

	var mu sync.Mutex
	var secret string
	var ids []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil || wh.Verify(body, r.Header) != nil {
			t.Errorf("receiver: signature of %s does not verify (%v)", body, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ids = append(ids, r.Header.Get("webhook-id"))
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rcv.Close)
	received := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), ids...) }

	expect(t, e.do("POST", "/api/v1/admin/webhooks", opTok, map[string]any{"url": rcv.URL, "events": []string{"*"}}), http.StatusForbidden, "forbidden")
	expect(t, e.do("POST", "/api/v1/admin/webhooks", adminTok, map[string]any{"url": "gopher://x", "events": []string{"*"}}), http.StatusUnprocessableEntity, "validation_failed")
	expect(t, e.do("POST", "/api/v1/admin/webhooks", adminTok, map[string]any{"url": rcv.URL, "events": []string{"user.nope"}}), http.StatusUnprocessableEntity, "validation_failed")
	expect(t, e.do("POST", "/api/v1/admin/webhooks", adminTok, map[string]any{"url": rcv.URL, "events": []string{"*"}, "extra": 1}), http.StatusBadRequest, "invalid_json")
	r := e.do("GET", "/api/v1/admin/webhooks", adminTok, nil)
	expect(t, r, http.StatusOK, "")
	if items := r.json(t)["items"].([]any); len(items) != 0 {
		t.Fatalf("after refusals: got %d endpoints, want 0", len(items))
	}

	r = e.do("POST", "/api/v1/admin/webhooks", adminTok, map[string]any{"url": rcv.URL + "/hook", "events": []string{"user.deactivated"}})
	expect(t, r, http.StatusCreated, "")
	ep := r.json(t)
	mu.Lock()
	secret = ep["secret"].(string)
	mu.Unlock()
	id := strconv.Itoa(int(ep["id"].(float64)))
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret: got %q, want whsec_…", secret)
	}
	r = e.do("GET", "/api/v1/admin/webhooks/"+id, adminTok, nil)
	expect(t, r, http.StatusOK, "")
	if _, shown := r.json(t)["secret"]; shown {
		t.Fatal("GET shows the secret again")
	}
	expect(t, e.do("GET", "/api/v1/admin/webhooks", opTok, nil), http.StatusForbidden, "forbidden")

	_, target := e.signIn("target", nil)
	expect(t, e.do("POST", "/api/v1/users/"+strconv.FormatInt(target, 10)+"/deactivate", adminTok, nil), http.StatusOK, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.hooks.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the delivery", func() bool { return len(received()) == 1 })

	// The receiver answers before the worker records the outcome: read
	// the log until the delivery is recorded.
	var d map[string]any
	waitFor(t, "the delivery to be recorded", func() bool {
		r := e.do("GET", "/api/v1/admin/webhooks/"+id+"/deliveries?limit=10", adminTok, nil)
		expect(t, r, http.StatusOK, "")
		items := r.json(t)["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("delivery log: got %d entries, want 1", len(items))
		}
		d = items[0].(map[string]any)
		return d["delivered_at"] != nil
	})
	if d["webhook_id"] != received()[0] || d["delivered_at"] == nil || d["last_status"] != float64(200) || d["type"] != "user.deactivated" {
		t.Fatalf("delivery: got %v, want delivered with status 200 under webhook-id %s", d, received()[0])
	}
	expect(t, e.do("GET", "/api/v1/admin/webhooks/"+id+"/deliveries?cursor=bogus", adminTok, nil), http.StatusBadRequest, "invalid_cursor")
	did := strconv.Itoa(int(d["id"].(float64)))
	expect(t, e.do("POST", "/api/v1/admin/webhooks/"+id+"/deliveries/"+did+"/replay", adminTok, nil), http.StatusAccepted, "")
	waitFor(t, "the replay", func() bool { return len(received()) == 2 })
	if got := received(); got[0] != got[1] {
		t.Fatalf("replay: got webhook-id %s, want %s", got[1], got[0])
	}
	expect(t, e.do("POST", "/api/v1/admin/webhooks/"+id+"/deliveries/999999/replay", adminTok, nil), http.StatusNotFound, "not_found")

	r = e.do("POST", "/api/v1/admin/webhooks/"+id+"/rotate-secret", adminTok, nil)
	expect(t, r, http.StatusOK, "")
	rotated := r.json(t)
	if rotated["secret"] == secret || rotated["previous_secret_until"] == nil {
		t.Fatalf("rotate: got %v, want a new secret and the old one's overlap", rotated)
	}

	m := e.do("GET", "/metrics", "", nil)
	for _, want := range []string{`userd_webhook_delivery_attempts_total{outcome="delivered"} 2`, "userd_webhook_queue_depth 0", "userd_webhook_oldest_undelivered_seconds 0"} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("/metrics: no %q", want)
		}
	}

	expect(t, e.do("DELETE", "/api/v1/admin/webhooks/"+id, adminTok, nil), http.StatusNoContent, "")
	expect(t, e.do("GET", "/api/v1/admin/webhooks/"+id, adminTok, nil), http.StatusNotFound, "not_found")
	expect(t, e.do("DELETE", "/api/v1/admin/webhooks/"+id, adminTok, nil), http.StatusNotFound, "not_found")
	var audited int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action LIKE 'webhook.%'`).Scan(&audited); err != nil || audited != 4 {
		t.Fatalf("audit: got %d webhook actions (%v), want 4 (added, replayed, rotated, removed)", audited, err)
	}
}
