package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/userd/userd/redact"
)

// discardWriter is a ResponseWriter that keeps the status and the body's
// length and reuses its header map, so that a benchmark counts the
// handler's allocations, not its own.
type discardWriter struct {
	header http.Header
	status int
	bytes  int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.bytes += len(b)
	return len(b), nil
}

func (w *discardWriter) reset() {
	clear(w.header)
	w.status, w.bytes = 0, 0
}

// BenchmarkGetMeCached measures GET /api/v1/users/me with the caches warm,
// for an IdP token and a token of userd's own: the whole handler as serve
// runs it (request id, access log as JSON through the redactor, metrics,
// authentication, the encoded body), called directly so that only userd's
// allocations count, not the HTTP server's or a client's.
//
//	go test -run '^$' -bench GetMeCached -benchmem ./httpapi
func BenchmarkGetMeCached(b *testing.B) {
	e := newEnv(b)
	e.log = slog.New(redact.New().Handler(slog.NewJSONHandler(io.Discard, nil)))
	// A new instance with serve's logger; its own requests make the
	// cached principals and their encoded bodies.
	h, _ := e.reopen()
	idpToken, _ := e.signIn("bench", nil)
	reg := e.register(map[string]any{"email": "bench@example.com"})
	ownToken, _ := tokens(reg)
	if ownToken == "" {
		b.Fatalf("got no access token in %v", reg)
	}
	expect(b, e.do("GET", "/api/v1/users/me", ownToken, nil), http.StatusOK, "")
	for _, c := range []struct{ name, token string }{{"idp", idpToken}, {"own", ownToken}} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/api/v1/users/me", nil)
			r.Header.Set("Authorization", "Bearer "+c.token)
			w := &discardWriter{header: http.Header{}}
			h.ServeHTTP(w, r)
			want := w.bytes
			if w.status != http.StatusOK || want == 0 {
				b.Fatalf("got status %d with %d bytes, want 200 with a body", w.status, want)
			}
			b.ReportAllocs()
			start := processCPU()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, r)
				if w.status != http.StatusOK || w.bytes != want {
					b.Fatalf("got status %d with %d bytes, want 200 with %d", w.status, w.bytes, want)
				}
			}
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkGetMeCachedHTTP measures GET /api/v1/users/me with the caches
// warm over real HTTP on loopback, against a trivial handler: 32 clients
// at once (bench me's concurrency), one http.Client, the same request
// (the same Authorization header) to both and the same response back
// (userd's status, header fields and body, sent by the trivial handler as
// fixed values), both served by the same http.Server settings. Client and
// server share the process, so cpu-ns/op (the process's CPU time per
// request, from getrusage) holds both sides; the client's and net/http's
// part is the same for each target, and the difference is userd's own
// work. vs-trivial is the trivial handler's cpu-ns/op over this one's:
// the throughput ratio the two would reach on CPUs that both saturate, as
// bench me --compare's do. ns/op is wall time, which a loaded machine
// inflates; cpu-ns/op much less so.
//
//	go test -run '^$' -bench GetMeCachedHTTP -benchtime 3s ./httpapi
func BenchmarkGetMeCachedHTTP(b *testing.B) {
	e := newEnv(b)
	e.log = slog.New(redact.New().Handler(slog.NewJSONHandler(io.Discard, nil)))
	e.dbTimeout = 5 * time.Second // serve's default USERD_DB_TIMEOUT
	h, _ := e.reopen()
	idpToken, _ := e.signIn("bench", nil)
	reg := e.register(map[string]any{"email": "bench@example.com"})
	ownToken, _ := tokens(reg)
	if ownToken == "" {
		b.Fatalf("got no access token in %v", reg)
	}
	userd := serveLoopback(b, h)
	// The trivial handler answers what userd answers the IdP token.
	res := benchGet(b, http.DefaultClient, userd, idpToken)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("got status %d, %v", res.StatusCode, err)
	}
	header := maps.Clone(res.Header)
	delete(header, "Date") // net/http writes its own
	trivial := serveLoopback(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		maps.Copy(w.Header(), header)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}))
	var trivialCPU float64
	for _, c := range []struct{ name, url, token string }{
		{"trivial", trivial, idpToken}, {"idp", userd, idpToken}, {"own", userd, ownToken},
	} {
		b.Run(c.name, func(b *testing.B) {
			cpu := driveHTTP(b, c.url, c.token)
			b.ReportMetric(cpu, "cpu-ns/op")
			if c.name == "trivial" {
				trivialCPU = cpu
			} else if trivialCPU > 0 && cpu > 0 {
				b.ReportMetric(trivialCPU/cpu, "vs-trivial")
			}
		})
	}
}

// serveLoopback serves h on a loopback port, with the http.Server settings of
// bench me (serve's, but for the timeouts that only bound slow clients),
// until the benchmark ends; it returns the URL of GET /api/v1/users/me.
func serveLoopback(b *testing.B, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	b.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/api/v1/users/me"
}

// benchGet sends GET url with token as its bearer token.
func benchGet(b *testing.B, client *http.Client, url, token string) *http.Response {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// driveHTTP sends b.N requests of url with token from 32 clients at once
// over one http.Client and returns the process's CPU time per request in
// nanoseconds; every answer must be a 200 of the size of the first.
func driveHTTP(b *testing.B, url, token string) float64 {
	const clients = 32
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	// Open the connections first: the steady state is measured.
	var size int64
	for range clients {
		res := benchGet(b, client, url, token)
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK || size != 0 && n != size {
			b.Fatalf("got status %d with %d bytes (%v), want 200 with a body", res.StatusCode, n, err)
		}
		size = n
	}
	b.SetParallelism((clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	start := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			n, err := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK || n != size {
				b.Errorf("got status %d with %d bytes (%v), want 200 with %d", res.StatusCode, n, err, size)
				return
			}
		}
	})
	b.StopTimer()
	return float64(processCPU()-start) / float64(b.N)
}
