package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/userd/userd/pglocal"
	"github.com/userd/userd/pgtest"
)

// otlpReceiver is an OTLP/HTTP trace receiver: it keeps every span a
// client exports to /v1/traces (protobuf).
type otlpReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	o := &otlpReceiver{}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil && r.URL.Path == "/v1/traces" {
			err = proto.Unmarshal(body, &req)
		}
		if err != nil || r.URL.Path != "/v1/traces" {
			http.Error(w, fmt.Sprintf("%s: %v", r.URL.Path, err), http.StatusBadRequest)
			return
		}
		o.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				o.spans = append(o.spans, ss.Spans...)
			}
		}
		o.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

// waitFor returns the first span that ok accepts, waiting up to 15 s.
func (o *otlpReceiver) waitFor(t *testing.T, what string, ok func(*tracepb.Span) bool) *tracepb.Span {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		o.mu.Lock()
		for _, s := range o.spans {
			if ok(s) {
				o.mu.Unlock()
				return s
			}
		}
		o.mu.Unlock()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var names []string
	for _, s := range o.spans {
		names = append(names, fmt.Sprintf("%s (trace %x parent %x)", s.Name, s.TraceId, s.ParentSpanId))
	}
	t.Fatalf("no %s among the %d spans received: %v", what, len(o.spans), names)
	return nil
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.GetStringValue()
		}
	}
	return ""
}

// TestTracesAndMetricsAddress runs userd with OTEL_EXPORTER_OTLP_ENDPOINT
// pointing at an in-process OTLP receiver and USERD_METRICS_ADDR set: a
// request carrying a traceparent yields a span named by its route pattern
// in the caller's trace, with the request's queries as child spans named
// by their sqlc names; /metrics answers on the metrics address only.
func TestTracesAndMetricsAddress(t *testing.T) {
	t.Parallel()
	recv := newOTLPReceiver(t)
	metricsPort, err := pglocal.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", metricsPort)
	p := startUserd(t, pgtest.NewURL(t), t.TempDir(),
		"OTEL_EXPORTER_OTLP_ENDPOINT="+recv.srv.URL, "OTEL_BSP_SCHEDULE_DELAY=100", "USERD_METRICS_ADDR="+metricsAddr)

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, err := http.NewRequestWithContext(context.Background(), "POST", p.base+"/api/v1/auth/login",
		strings.NewReader(`{"identifier": "nobody@example.com", "password": "not a password at all"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login of nobody: got %d, want 401", res.StatusCode)
	}

	reqSpan := recv.waitFor(t, "request span in the caller's trace", func(s *tracepb.Span) bool {
		return hex.EncodeToString(s.TraceId) == traceID && hex.EncodeToString(s.ParentSpanId) == parentID
	})
	if reqSpan.Name != "POST /api/v1/auth/login" || reqSpan.Kind != tracepb.Span_SPAN_KIND_SERVER ||
		attr(reqSpan, "http.route") != "POST /api/v1/auth/login" {
		t.Errorf("request span: got %q kind %v route %q, want the route pattern, kind server",
			reqSpan.Name, reqSpan.Kind, attr(reqSpan, "http.route"))
	}
	query := recv.waitFor(t, "query span under the request span", func(s *tracepb.Span) bool {
		return string(s.ParentSpanId) == string(reqSpan.SpanId) && attr(s, "db.system.name") == "postgresql" &&
			strings.HasPrefix(attr(s, "db.query.text"), "-- name: ")
	})
	if stmt := attr(query, "db.query.text"); !strings.HasPrefix(stmt, "-- name: "+query.Name+" ") {
		t.Errorf("query span: got name %q for %q, want its sqlc name", query.Name, stmt)
	}
	if !strings.Contains(p.logs.String(), `"trace_id":"`+traceID+`"`) {
		t.Errorf("the request log line does not name the trace %s", traceID)
	}

	// /metrics is on the metrics address, and only there.
	res, err = http.Get(p.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the public address: got %d, want 404", res.StatusCode)
	}
	res, err = http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `userd_http_requests_total{route="POST /api/v1/auth/login",status="401"} 1`) {
		t.Errorf("/metrics on USERD_METRICS_ADDR: got %d, want 200 counting the login:\n%.2000s", res.StatusCode, body)
	}
}
