package httpapi_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/redact"
)

// TestRequestLogLine: every request writes one line of the request log,
// as serve logs (JSON through the redactor): its method, path, route,
// status, body size, duration, request id and client address, at the time
// the request ended, without a source location; a password in the path
// is masked there.
func TestRequestLogLine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	logs := &logBuffer{}
	e.log = slog.New(redact.New().Handler(slog.NewJSONHandler(logs, nil)))
	e.reopen()
	token, _ := e.signIn("logged", nil)

	before := time.Now()
	r := e.do("GET", "/api/v1/users/me", token, nil, "X-Request-Id", "log-line-1")
	expect(t, r, http.StatusOK, "")
	miss := e.do("GET", "/no/such/place", "", nil, "X-Request-Id", "log-line-2")
	expect(t, miss, http.StatusNotFound, "not_found")
	secret := e.do("GET", "/x/password=hunter2", "", nil, "X-Request-Id", "log-line-3")
	expect(t, secret, http.StatusNotFound, "not_found")

	byID := map[string]map[string]any{}
	// The line is written after the answer: wait for it a while.
	for deadline := time.Now().Add(5 * time.Second); len(byID) < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, rec := range logs.lines(t, "request") {
			if id, _ := rec["request_id"].(string); strings.HasPrefix(id, "log-line-") {
				if byID[id] != nil {
					t.Fatalf("two request lines for %s", id)
				}
				byID[id] = rec
			}
		}
		if len(byID) < 3 {
			clear(byID)
		}
	}
	after := time.Now()
	for _, c := range []struct {
		id, path, route string
		status          int
		bytes           int
	}{
		{"log-line-1", "/api/v1/users/me", "GET /api/v1/users/me", 200, len(r.body)},
		{"log-line-2", "/no/such/place", "/", 404, len(miss.body)},
		{"log-line-3", "/x/password=" + redact.Mask, "/", 404, len(secret.body)},
	} {
		rec := byID[c.id]
		if rec == nil {
			t.Errorf("%s: no request line", c.id)
			continue
		}
		want := map[string]any{
			"level": "INFO", "method": "GET", "path": c.path, "route": c.route,
			"status": float64(c.status), "bytes": float64(c.bytes), "request_id": c.id, "client_ip": "127.0.0.1",
		}
		for k, v := range want {
			if rec[k] != v {
				t.Errorf("%s: got %s %v, want %v", c.id, k, rec[k], v)
			}
		}
		if d, ok := rec["duration_ms"].(float64); !ok || d < 0 || d > float64(after.Sub(before).Milliseconds()+1) {
			t.Errorf("%s: got duration_ms %v, want the request's milliseconds", c.id, rec["duration_ms"])
		}
		at, err := time.Parse(time.RFC3339Nano, rec["time"].(string))
		if err != nil || at.Before(before.Truncate(time.Millisecond)) || at.After(after) {
			t.Errorf("%s: got time %v (%v), want between %s and %s", c.id, rec["time"], err, before, after)
		}
		if len(rec) != len(want)+3 { // and msg, time, duration_ms
			t.Errorf("%s: got the fields %v, want only %v, msg, time and duration_ms", c.id, rec, want)
		}
	}
}

// TestRequestIDCharset: a client's X-Request-Id is kept when it is 1 to 64
// of A-Z, a-z, 0-9, '.', '_' and '-', and replaced by a generated one
// (24 hex digits) otherwise.
func TestRequestIDCharset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	long := strings.Repeat("a", 64)
	for _, c := range []struct {
		id   string
		kept bool
	}{
		{"A.b_c-9", true}, {long, true}, {"z", true},
		{long + "a", false}, {"a b", false}, {"a/b", false}, {"é", false}, {"a:b", false}, {"a+b", false},
	} {
		got := e.do("GET", "/healthz", "", nil, "X-Request-Id", c.id).header.Get("X-Request-Id")
		switch {
		case c.kept && got != c.id:
			t.Errorf("X-Request-Id %q: got %q, want it kept", c.id, got)
		case !c.kept && (got == c.id || len(got) != 24 || strings.Trim(got, "0123456789abcdef") != ""):
			t.Errorf("X-Request-Id %q: got %q, want a generated one", c.id, got)
		}
	}
}
