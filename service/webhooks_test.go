package service_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/userd/userd/service"
)

// received is one request a test receiver took.
type received struct {
	ID   string // webhook-id
	Type string
	Data map[string]any
	Body string
}

// receiver is a webhook endpoint inside the test: it verifies every
// request with the official Standard Webhooks library against its secrets
// and records those that verify. fail, when set, picks the status of a
// request (0: 204).
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	secrets []string
	got     []received
	bad     int // requests whose signature did not verify
	fail    func(n int) int
	n       int
	arrived chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, arrived: make(chan struct{}, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if r.fail != nil {
		if status := r.fail(r.n); status != 0 {
			w.WriteHeader(status)
			return
		}
	}
	if len(r.secrets) == 0 {
		r.t.Error("receiver: no secret to verify with")
	}
	for _, s := range r.secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			r.t.Errorf("receiver: secret %q: %v", s, err)
			continue
		}
		if err := wh.Verify(body, req.Header); err != nil {
			r.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	var p struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Timestamp.IsZero() {
		r.t.Errorf("receiver: body %s: %v (timestamp %v)", body, err, p.Timestamp)
	}
	r.got = append(r.got, received{ID: req.Header.Get("webhook-id"), Type: p.Type, Data: p.Data, Body: string(body)})
	w.WriteHeader(http.StatusNoContent)
	select {
	case r.arrived <- struct{}{}:
	default:
	}
}

func (r *receiver) setSecrets(s ...string) {
	r.mu.Lock()
	r.secrets = s
	r.mu.Unlock()
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *receiver) types() []string {
	var out []string
	for _, g := range r.received() {
		out = append(out, g.Type)
	}
	return out
}

// waitFor waits until ok holds for what arrived, failing after d.
func (r *receiver) waitFor(d time.Duration, what string, ok func([]received) bool) []received {
	r.t.Helper()
	deadline := time.After(d)
	for {
		got := r.received()
		if ok(got) {
			return got
		}
		select {
		case <-r.arrived:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			r.t.Fatalf("waiting for %s: got %d requests: %v", what, len(got), r.types())
		}
	}
}

// hookFixture is the services over a fresh database with webhook
// delivery configured for tests: loopback allowed, retries quick.
type hookFixture struct {
	*orgFixture
	db    *service.DB
	hooks *service.Webhooks
}

var quickSchedule = []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 160 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond}

func newHookFixture(t *testing.T, cfg service.WebhookConfig) *hookFixture {
	t.Helper()
	f := newOrgFixture(t)
	db := service.NewDB(f.pool)
	if cfg.Schedule == nil {
		cfg.Schedule = quickSchedule
	}
	cfg.Poll = 20 * time.Millisecond
	return &hookFixture{orgFixture: f, db: db, hooks: service.NewWebhooks(db, cfg, testKey(), quietLog())}
}

func testKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// run delivers in the background until the test ends.
func (f *hookFixture) run(w *service.Webhooks) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	f.t.Cleanup(func() { cancel(); <-done })
}

func (f *hookFixture) endpoint(url string, events ...string) (int64, string) {
	f.t.Helper()
	ep, secret, err := f.hooks.AddEndpoint(context.Background(), service.Console(), url, events)
	if err != nil {
		f.t.Fatalf("add endpoint %s %v: %v", url, events, err)
	}
	return ep.ID, secret
}

// Every change of docs/webhooks.md, "Events", sends its event, signed per Standard Webhooks
// (the official library verifies it), with ids and field names only.
func TestWebhooksEventsSignedAndDelivered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newHookFixture(t, service.WebhookConfig{AllowPrivate: true})
	rcv := newReceiver(t)
	_, secret := f.endpoint(rcv.srv.URL+"/hooks", "*")
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret: got %q, want whsec_…", secret)
	}
	rcv.setSecrets(secret)
	f.run(f.hooks)

	admin := f.mkUser(userSpec{email: "root@example.com", role: "admin"})
	target := f.mkUser(userSpec{email: "pat.doe@example.com", username: "patdoe", first: "Pat", last: "Doe"})
	if _, err := f.users.UpdateProfile(ctx, as(target), service.ProfilePatch{Bio: service.Optional[string]{Set: true, Value: ptr("hello")}, City: service.Optional[string]{Set: true, Value: ptr("Pune")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.SetRole(ctx, as(admin), target, service.RoleOperator, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.SetActive(ctx, as(admin), target, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.SetActive(ctx, as(admin), target, true); err != nil {
		t.Fatal(err)
	}
	org, err := f.orgs.Create(ctx, as(target), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.orgs.SetPlan(ctx, as(admin), org.ID, "team"); err != nil {
		t.Fatal(err)
	}
	if err := f.orgs.RemoveMember(ctx, as(target), org.ID, target); err != nil {
		t.Fatal(err)
	}
	if err := f.orgs.Delete(ctx, as(admin), org.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.users.Delete(ctx, as(admin), target); err != nil {
		t.Fatal(err)
	}

	want := []string{
		"user.updated", "user.role_changed", "session.revoked_all", "user.deactivated", "session.revoked_all", "user.reactivated",
		"organization.created", "organization.member_added", "organization.plan_changed", "organization.member_removed",
		"organization.deleted", "user.deleted",
	}
	rcv.waitFor(20*time.Second, "every event", func(g []received) bool { return len(g) >= len(want) })
	time.Sleep(100 * time.Millisecond) // nothing more comes
	got := rcv.received()
	types := rcv.types()
	slices.Sort(types)
	slices.Sort(want)
	if !slices.Equal(types, want) {
		t.Fatalf("types: got %v, want %v", types, want)
	}
	ids := map[string]bool{}
	for _, g := range got {
		if ids[g.ID] || !strings.HasPrefix(g.ID, "msg_") {
			t.Errorf("webhook-id %q: want a distinct msg_… per event", g.ID)
		}
		ids[g.ID] = true
		for _, pii := range []string{"pat.doe", "patdoe", "Pat", "Doe", "root@example.com", "Pune", "hello"} {
			if strings.Contains(g.Body, pii) {
				t.Errorf("%s carries personal data %q: %s", g.Type, pii, g.Body)
			}
		}
		switch g.Type {
		case "user.updated":
			if !reflectEqualJSON(g.Data, map[string]any{"user_id": target, "fields": []string{"bio", "city"}}) {
				t.Errorf("user.updated data: got %v, want user_id %d, fields [bio city]", g.Data, target)
			}
		case "user.deleted":
			if !reflectEqualJSON(g.Data, map[string]any{"user_id": target}) {
				t.Errorf("user.deleted data: got %v, want only user_id %d", g.Data, target)
			}
		case "user.role_changed":
			if g.Data["role"] != "operator" || g.Data["previous_role"] != "user" {
				t.Errorf("user.role_changed data: got %v, want role operator, previous_role user", g.Data)
			}
		case "organization.plan_changed":
			if g.Data["plan"] != "team" || g.Data["previous_plan"] != "free" {
				t.Errorf("organization.plan_changed data: got %v, want plan team, previous_plan free", g.Data)
			}
		}
	}
	if rcv.bad != 0 {
		t.Fatalf("got %d requests whose signature did not verify, want 0", rcv.bad)
	}
	if n := f.count(`SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL`); n != 0 {
		t.Fatalf("got %d deliveries not delivered, want 0", n)
	}
}

// reflectEqualJSON compares a decoded JSON object with want after a JSON
// round trip of want (numbers become float64).
func reflectEqualJSON(got map[string]any, want map[string]any) bool {
	b, _ := json.Marshal(want)
	var w map[string]any
	_ = json.Unmarshal(b, &w)
	g, _ := json.Marshal(got)
	w2, _ := json.Marshal(w)
	return string(g) == string(w2)
}

// A change that rolls back sends nothing; no endpoint, no event row.
func TestWebhooksOnlyCommittedChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newHookFixture(t, service.WebhookConfig{AllowPrivate: true})
	admin := f.mkUser(userSpec{email: "root@example.com", role: "admin"})
	target := f.mkUser(userSpec{email: "t@example.com"})
	if _, err := f.admin.SetActive(ctx, as(admin), target, false); err != nil {
		t.Fatal(err)
	}
	if n := f.count(`SELECT count(*) FROM webhook_events`); n != 0 {
		t.Fatalf("no endpoint: got %d events recorded, want 0", n)
	}
	rcv := newReceiver(t)
	_, secret := f.endpoint(rcv.srv.URL, "*")
	rcv.setSecrets(secret)
	// Refused (the admin cannot deactivate themself): nothing is sent.
	if _, err := f.admin.SetActive(ctx, as(admin), admin, false); !errors.Is(err, service.ErrForbidden) {
		t.Fatalf("self-deactivation: got %v, want forbidden", err)
	}
	// Rolled back by the last-admin rule after the write would be made.
	if err := f.users.Delete(ctx, as(admin), admin); err == nil {
		t.Fatal("deleting the last admin: got no error")
	}
	if n := f.count(`SELECT count(*) FROM webhook_deliveries`); n != 0 {
		t.Fatalf("refused changes: got %d deliveries, want 0", n)
	}
}

// An endpoint subscribed to one type gets that type only.
func TestWebhooksTypeFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newHookFixture(t, service.WebhookConfig{AllowPrivate: true})
	only, all := newReceiver(t), newReceiver(t)
	_, s1 := f.endpoint(only.srv.URL, "user.deleted")
	_, s2 := f.endpoint(all.srv.URL, "*")
	only.setSecrets(s1)
	all.setSecrets(s2)
	f.run(f.hooks)
	admin := f.mkUser(userSpec{email: "root@example.com", role: "admin"})
	a := f.mkUser(userSpec{email: "a@example.com"})
	if _, err := f.admin.SetActive(ctx, as(admin), a, false); err != nil {
		t.Fatal(err)
	}
	if err := f.users.Delete(ctx, as(admin), a); err != nil {
		t.Fatal(err)
	}
	all.waitFor(10*time.Second, "three events", func(g []received) bool { return len(g) == 3 })
	only.waitFor(10*time.Second, "user.deleted", func(g []received) bool { return len(g) == 1 })
	time.Sleep(200 * time.Millisecond)
	if got := only.types(); !slices.Equal(got, []string{"user.deleted"}) {
		t.Fatalf("endpoint for user.deleted: got %v, want [user.deleted]", got)
	}
}

// A receiver that answers 500 and then is down for a while misses nothing
// once it is back: every event arrives, retried under its first webhook-id.
func TestWebhooksReceiverDownThenBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newHookFixture(t, service.WebhookConfig{AllowPrivate: true})
	rcv := newReceiver(t)
	rcv.fail = func(n int) int {
		if n <= 15 {
			return http.StatusInternalServerError
		}
		return 0
	}
	ep, secret := f.endpoint(rcv.srv.URL, "*")
	rcv.setSecrets(secret)
	admin := f.mkUser(userSpec{email: "root@example.com", role: "admin"})
	const users = 10
	for i := range users {
		id := f.mkUser(userSpec{email: strings.Repeat("x", i+1) + "@example.com"})
		if _, err := f.admin.SetActive(ctx, as(admin), id, false); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	if err := f.pool.QueryRow(ctx, `SELECT array_agg(message_id ORDER BY id) FROM webhook_events`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if len(want) != 2*users {
		t.Fatalf("got %d events, want %d", len(want), 2*users)
	}
	// The receiver is down (connections refused) while the 500s are
	// retried; it comes back on the same address.
	addr := rcv.srv.Listener.Addr().String()
	rcv.srv.Listener.Close()
	f.run(f.hooks)
	time.Sleep(300 * time.Millisecond)
	back := &http.Server{Handler: http.HandlerFunc(rcv.serve)}
	go back.Serve(listenOn(t, addr)) //nolint:errcheck // ends with Close
	t.Cleanup(func() { back.Close() })
	got := rcv.waitFor(30*time.Second, "every event", func(g []received) bool {
		seen := map[string]bool{}
		for _, r := range g {
			seen[r.ID] = true
		}
		return len(seen) == len(want)
	})
	for _, id := range want {
		if !slices.ContainsFunc(got, func(r received) bool { return r.ID == id }) {
			t.Errorf("event %s never arrived", id)
		}
	}
	var retried int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND attempts > 1 AND delivered_at IS NOT NULL`, ep).Scan(&retried); err != nil {
		t.Fatal(err)
	}
	if retried == 0 {
		t.Fatal("no delivery was retried: the receiver's failures were not exercised")
	}
	// Each arrival is recorded just after its answer.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n := f.count(`SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL`)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d deliveries not recorded as delivered, want 0", n)
		}
	}
}

// Two instances (two workers on one database) share the queue: every event
// is POSTed exactly once when the receiver answers at once.
func TestWebhooksTwoInstancesDoNotDoubleSend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newHookFixture(t, service.WebhookConfig{AllowPrivate: true, Workers: 4})
	rcv := newReceiver(t)
	_, secret := f.endpoint(rcv.srv.URL, "*")
	rcv.setSecrets(secret)
	const events = 150
	if _, err := f.pool.Exec(ctx, `
		WITH ev AS (
			INSERT INTO webhook_events (type, payload)
			SELECT 'user.created', jsonb_build_object('type', 'user.created', 'timestamp', now(), 'data', jsonb_build_object('user_id', g))
			FROM generate_series(1, $1) g RETURNING id)
		INSERT INTO webhook_deliveries (event_id, endpoint_id) SELECT ev.id, e.id FROM ev, webhook_endpoints e`, events); err != nil {
		t.Fatal(err)
	}
	other := service.NewWebhooks(service.NewDB(f.pool), service.WebhookConfig{AllowPrivate: true, Workers: 4, Schedule: quickSchedule, Poll: 20 * time.Millisecond}, testKey(), quietLog())
	f.run(f.hooks)
	f.run(other)
	rcv.waitFor(60*time.Second, "every event", func(g []received) bool { return len(g) >= events })
	time.Sleep(300 * time.Millisecond)
	count := map[string]int{}
	for _, r := range rcv.received() {
		count[r.ID]++
	}
	if len(count) != events {
		t.Fatalf("got %d distinct events, want %d", len(count), events)
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("event %s: sent %d times, want once", id, n)
		}
	}
	s1, s2 := f.hooks.Stats(ctx), other.Stats(ctx)
	if s1.Attempts[0] == 0 || s2.Attempts[0] == 0 {
		t.Logf("deliveries by instance: %d and %d (one instance did all)", s1.Attempts[0], s2.Attempts[0])
	}
	if s1.Attempts[0]+s2.Attempts[0] != events || s1.Pending != 0 {
		t.Fatalf("delivered counts %d + %d, pending %d: want %d in all, 0 pending", s1.Attempts[0], s2.Attempts[0], s1.Pending, events)
	}
}

// Without USERD_WEBHOOK_ALLOW_PRIVATE, deliveries to loopback, private,
// link-local and metadata addresses are refused after DNS, at dial time,
// also for a name that resolves to loopback.
func TestWebhooksRefusePrivateAddresses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// One attempt each: the retries are an hour away.
	f := newHookFixture(t, service.WebhookConfig{Schedule: []time.Duration{time.Hour}})
	rcv := newReceiver(t)
	_, port, _ := strings.Cut(rcv.srv.Listener.Addr().String(), ":")
	urls := []string{
		"http://127.0.0.1:" + port + "/hook",
		"http://localhost:" + port + "/hook",
		"http://10.1.2.3/hook",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]:" + port + "/hook",
		"http://192.168.1.1/hook",
	}
	for _, u := range urls {
		_, secret := f.endpoint(u, "*")
		rcv.setSecrets(secret)
	}
	admin := f.mkUser(userSpec{email: "root@example.com", role: "admin"})
	u := f.mkUser(userSpec{email: "u@example.com"})
	if _, err := f.admin.SetActive(ctx, as(admin), u, true); err != nil {
		t.Fatal(err)
	}
	if err := f.users.Delete(ctx, as(admin), u); err != nil {
		t.Fatal(err)
	}
	for {
		found, err := f.hooks.DeliverOne(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			break
		}
	}
	rows, err := f.pool.Query(ctx, `SELECT e.url, d.last_error FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var url string
		var lastErr *string
		if err := rows.Scan(&url, &lastErr); err != nil {
			t.Fatal(err)
		}
		n++
		if lastErr == nil || !strings.Contains(*lastErr, "address not allowed") {
			t.Errorf("%s: got last_error %q, want the address refused", url, deref(lastErr))
		}
	}
	if n != len(urls) {
		t.Fatalf("got %d deliveries, want %d", n, len(urls))
	}
	if got := rcv.received(); len(got) != 0 || rcv.n != 0 {
		t.Fatalf("the loopback receiver got %d requests, want none", rcv.n)
	}
	if st := f.hooks.Stats(ctx); st.Attempts[3] != int64(len(urls)) {
		t.Fatalf("refused attempts: got %d, want %d", st.Attempts[3], len(urls))
	}
}

// A delivery whose retries are spent fails for good; its endpoint is
// disabled with a notice in the audit log, and gets nothing more.
func TestWebhooksPersistentFailureDisablesEndpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newHookFixture(t, service.WebhookConfig{AllowPrivate: true, Schedule: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}})
	rcv := newReceiver(t)
	rcv.fail = func(int) int { return http.StatusServiceUnavailable }
	ep, secret := f.endpoint(rcv.srv.URL, "*")
	rcv.setSecrets(secret)
	admin := f.mkUser(userSpec{email: "root@example.com", role: "admin"})
	u := f.mkUser(userSpec{email: "u@example.com"})
	if _, err := f.admin.SetActive(ctx, as(admin), u, false); err != nil {
		t.Fatal(err)
	}
	f.run(f.hooks)
	deadline := time.Now().Add(15 * time.Second)
	for f.count(`SELECT count(*) FROM webhook_endpoints WHERE disabled_at IS NOT NULL`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the endpoint was never disabled")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := f.count(`SELECT count(*) FROM audit_events WHERE action = 'webhook.endpoint_disabled' AND (details->>'endpoint_id')::bigint = $1`, ep); n != 1 {
		t.Fatalf("got %d audit notices, want 1", n)
	}
	if n := f.count(`SELECT count(*) FROM webhook_deliveries WHERE failed_at IS NULL`); n != 0 {
		t.Fatalf("got %d deliveries still pending, want none", n)
	}
	if n := f.count(`SELECT max(attempts) FROM webhook_deliveries`); n != 3 {
		t.Fatalf("got %d attempts, want 3 (the first and two retries)", n)
	}
	if _, err := f.admin.SetActive(ctx, as(admin), u, true); err != nil {
		t.Fatal(err)
	}
	if n := f.count(`SELECT count(*) FROM webhook_events WHERE type = 'user.reactivated'`); n != 0 {
		t.Fatalf("a disabled endpoint: got %d new events queued, want 0", n)
	}
	eps, err := f.hooks.Endpoints(ctx, service.Console())
	if err != nil || len(eps) != 1 || eps[0].DisabledAt == nil || eps[0].DisabledReason == nil {
		t.Fatalf("endpoints: got %+v (%v), want one disabled with its reason", eps, err)
	}
}

// During a secret rotation both signatures are sent: a receiver holding
// either secret verifies. Replaying a delivery sends the same webhook-id.
func TestWebhooksRotationAndReplay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newHookFixture(t, service.WebhookConfig{AllowPrivate: true})
	oldRcv := newReceiver(t)
	ep, oldSecret := f.endpoint(oldRcv.srv.URL, "user.deleted")
	_, newSecret, err := f.hooks.RotateSecret(ctx, service.Console(), ep)
	if err != nil {
		t.Fatal(err)
	}
	if newSecret == oldSecret {
		t.Fatal("rotation kept the secret")
	}
	// The receiver checks both secrets on every request.
	oldRcv.setSecrets(oldSecret, newSecret)
	f.run(f.hooks)
	admin := f.mkUser(userSpec{email: "root@example.com", role: "admin"})
	u := f.mkUser(userSpec{email: "u@example.com"})
	if err := f.users.Delete(ctx, as(admin), u); err != nil {
		t.Fatal(err)
	}
	first := oldRcv.waitFor(10*time.Second, "user.deleted", func(g []received) bool { return len(g) == 1 })
	for deadline := time.Now().Add(10 * time.Second); f.count(`SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NOT NULL`) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	page, err := f.hooks.Deliveries(ctx, service.Console(), ep, service.PageRequest{})
	if err != nil || len(page.Items) != 1 || page.Items[0].DeliveredAt == nil || page.Items[0].MessageID != first[0].ID {
		t.Fatalf("delivery log: got %+v (%v), want the one delivered", page, err)
	}
	if _, err := f.hooks.Replay(ctx, service.Console(), ep, page.Items[0].ID); err != nil {
		t.Fatal(err)
	}
	got := oldRcv.waitFor(10*time.Second, "the replay", func(g []received) bool { return len(g) == 2 })
	if got[1].ID != got[0].ID || got[1].Body != got[0].Body {
		t.Fatalf("replay: got id %s body %s, want the first's %s %s", got[1].ID, got[1].Body, got[0].ID, got[0].Body)
	}
	if _, err := f.hooks.Replay(ctx, service.Console(), ep+1, page.Items[0].ID); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("replay under another endpoint: got %v, want not_found", err)
	}
	if oldRcv.bad != 0 {
		t.Fatalf("got %d requests not verified by both secrets", oldRcv.bad)
	}
}

// Endpoints are checked: a URL that is not http(s), unknown event types and
// none at all are refused; only platform admins manage them.
func TestWebhooksEndpointValidationAndPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newHookFixture(t, service.WebhookConfig{})
	for _, c := range []struct {
		url    string
		events []string
	}{
		{"ftp://example.com/", []string{"*"}},
		{"https://user:pw@example.com/", []string{"*"}},
		{"/relative", []string{"*"}},
		{"https://example.com/", []string{"user.exploded"}},
		{"https://example.com/", nil},
	} {
		if _, _, err := f.hooks.AddEndpoint(ctx, service.Console(), c.url, c.events); !isCode(err, service.CodeValidation) {
			t.Errorf("add %q %v: got %v, want validation_failed", c.url, c.events, err)
		}
	}
	if n := f.count(`SELECT count(*) FROM webhook_endpoints`); n != 0 {
		t.Fatalf("got %d endpoints after refusals, want 0", n)
	}
	operator := service.User{ID: f.mkUser(userSpec{email: "op@example.com", role: "operator"})}
	if _, _, err := f.hooks.AddEndpoint(ctx, asUser(operator), "https://example.com/", []string{"*"}); !errors.Is(err, service.ErrForbidden) {
		t.Fatalf("operator: got %v, want forbidden", err)
	}
	admin := service.User{ID: f.mkUser(userSpec{email: "root@example.com", role: "admin"})}
	ep, _, err := f.hooks.AddEndpoint(ctx, asUser(admin), "https://example.com/h", []string{"user.deleted", "user.created", "user.deleted"})
	if err != nil || !slices.Equal(ep.Events, []string{"user.created", "user.deleted"}) {
		t.Fatalf("admin: got %+v (%v), want events [user.created user.deleted]", ep, err)
	}
	if err := f.hooks.RemoveEndpoint(ctx, asUser(admin), ep.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.hooks.RemoveEndpoint(ctx, asUser(admin), ep.ID); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("remove twice: got %v, want not_found", err)
	}
}

func isCode(err error, want service.Code) bool {
	e, ok := service.ErrorOf(err)
	return ok && e.Code == want
}

// listenOn listens on addr again (the receiver coming back), retrying while
// the port is still being released.
func listenOn(t *testing.T, addr string) net.Listener {
	t.Helper()
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("listen %s again: %v", addr, err)
	return nil
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
