package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

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
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, r)
				if w.status != http.StatusOK || w.bytes != want {
					b.Fatalf("got status %d with %d bytes, want 200 with %d", w.status, w.bytes, want)
				}
			}
		})
	}
}
