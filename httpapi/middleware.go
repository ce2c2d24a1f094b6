package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/userd/userd/service"
)

type ctxKey int

// keyRequest is the key of the request context (requestContext).
const keyRequest ctxKey = 0

func requestID(ctx context.Context) string {
	if c := requestOf(ctx); c != nil {
		return c.id
	}
	return ""
}

// principal returns the authenticated caller; only on authenticated routes.
func principal(ctx context.Context) service.Principal {
	p, _ := authenticated(ctx)
	return p
}

// authenticated returns the caller that authed found, and whether there
// is one.
func authenticated(ctx context.Context) (service.Principal, bool) {
	if c := requestOf(ctx); c != nil && c.authed {
		return c.principal, true
	}
	return service.Principal{}, false
}

// clientIP is the client address observe found (see clientIPs).
func clientIP(ctx context.Context) netip.Addr {
	if c := requestOf(ctx); c != nil {
		return c.client
	}
	return netip.Addr{}
}

// validRequestID reports whether a client's X-Request-Id may be kept: 1
// to 64 of A-Z, a-z, 0-9, '.', '_' and '-'.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := range len(id) {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// headerValue is the first value of the header field key, as Header.Get
// returns it, for a key already in canonical form (net/http stores the
// fields of a request so): the map is read without canonicalizing key
// again.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe is the outermost middleware: request id, panic recovery, access
// log and metrics. It derives the request's one context (requestContext).
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := headerValue(r.Header, "X-Request-Id")
		if !validRequestID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		h := w.Header()
		// One allocation for both values; each is its own full slice, so
		// that an Add to either copies instead of writing over the other.
		vals := []string{id, "nosniff"}
		h["X-Request-Id"] = vals[0:1:1]
		h["X-Content-Type-Options"] = vals[1:2:2]
		c := &requestContext{Context: r.Context(), id: id, client: s.clientIPs.of(r)}
		// Every route's database work is bounded by USERD_DB_TIMEOUT,
		// from its first wait on the database (requestContext).
		c.budgetLen = s.dbTimeout
		defer c.end()
		r = r.WithContext(c)
		c.sw.ResponseWriter = w
		sw := &c.sw
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(c, "panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()), "request_id", id)
				if sw.status == 0 {
					s.fail(sw, r, fmt.Errorf("panic: %v", v))
				}
			}
			s.logRequest(r, c, start)
		}()
		next.ServeHTTP(sw, r)
	})
}

// logRequest counts a finished request in the metrics and writes its line
// of the request log.
func (s *Server) logRequest(r *http.Request, c *requestContext, start time.Time) {
	pattern := c.pattern()
	if pattern == "" {
		pattern = "unmatched"
	}
	elapsed := time.Since(start)
	s.metrics.observe(pattern, c.route, c.sw.status, elapsed.Seconds())
	// The line goes to the logger's handler directly, as Logger.LogAttrs
	// would pass it but for the caller's program counter (a source
	// location, which userd's logs do not carry) and a second reading of
	// the clock: its time is the end of the request, start + elapsed.
	h := s.log.Handler()
	if !h.Enabled(c, slog.LevelInfo) {
		return
	}
	attrs := [...]slog.Attr{
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", pattern),
		slog.Int("status", c.sw.status), slog.Int("bytes", c.sw.bytes),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.String("request_id", c.id), slog.String("client_ip", c.client.String()),
		{}, // trace_id, when tracing
	}
	n := len(attrs) - 1
	if s.tracing {
		attrs[n] = slog.String("trace_id", nameSpan(r, c.pattern()))
		n++
	}
	rec := slog.NewRecord(start.Add(elapsed), slog.LevelInfo, "request", 0)
	rec.AddAttrs(attrs[:n]...)
	_ = h.Handle(c, rec) // as LogAttrs, which drops a handler's error
}

// handlerFunc is the shape of every handler: it returns any error instead
// of writing it. A handler that returns an error must not have written the
// response; handle writes it with fail, the one place errors become
// problem+json. Most handlers are built by the adapters of endpoint.go.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// plain adapts an http.Handler that writes its own errors.
func plain(h http.Handler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}
}

// handle registers h under a method+path pattern, records the pattern for
// logs and metrics, and writes the error h returns with fail.
func (s *Server) handle(pattern string, h handlerFunc) {
	s.patterns = append(s.patterns, pattern)
	series := &routeSeries{pattern: pattern}
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := requestOf(r.Context()); c != nil {
			c.route = series
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}))
}

// handlePage registers a hosted page (Deps.Pages): as handle does, but
// the page writes its own errors, and its pattern is not an API route.
func (s *Server) handlePage(pattern string, h http.Handler) {
	series := &routeSeries{pattern: pattern}
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The request context already carries the database budget.
		if c := requestOf(r.Context()); c != nil {
			c.route = series
		}
		h.ServeHTTP(w, r)
	}))
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	h := headerValue(r.Header, "Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authed requires a valid bearer token of a usable account and puts the
// principal in the request context. A refused token's reason is logged at
// refusedAt: the 401 itself says only "invalid or expired".
func (s *Server) authed(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, ok := bearer(r)
		if !ok {
			s.logRefused(r, "no Authorization: Bearer header")
			return noToken{}
		}
		p, err := s.auth.Authenticate(r.Context(), token)
		if err != nil {
			if errors.Is(err, service.ErrInvalidToken) {
				s.logRefused(r, refusal(err))
			}
			return err
		}
		// The caller's own writes are then read back from the primary
		// while a replica has not replayed them: the request context
		// answers service.CallerKey once the principal is set.
		if c := requestOf(r.Context()); c != nil {
			c.principal, c.authed = p, true
		} else {
			// Served without observe (never in userd itself).
			c = &requestContext{Context: r.Context(), principal: p, authed: true}
			r = r.WithContext(c)
		}
		return h(w, r)
	}
}

// maybePrincipal is the caller of a route that works signed in or not: the
// principal of a valid bearer token, else nil (a bad token counts as none).
func (s *Server) maybePrincipal(r *http.Request) *service.Principal {
	token, ok := bearer(r)
	if !ok {
		return nil
	}
	p, err := s.auth.Authenticate(r.Context(), token)
	if err != nil {
		return nil
	}
	return &p
}

// logRefused logs why a bearer token was refused, with the request id.
func (s *Server) logRefused(r *http.Request, reason string) {
	s.log.Log(r.Context(), s.refusedAt, "token refused", "reason", reason, "request_id", requestID(r.Context()))
}

// refusal is the reason service gave for an ErrInvalidToken: its cause.
func refusal(err error) string {
	if cause := errors.Unwrap(err); cause != nil {
		return cause.Error()
	}
	return "no reason recorded"
}

// may is authed plus service's verdict on whether the caller holds
// permission p (403 forbidden when not). Rules that depend on the target
// (self, membership, blocks) are the service method's to check.
func (s *Server) may(p service.Permission, h handlerFunc) handlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request) error {
		if err := service.Authorize(principal(r.Context()).User, p); err != nil {
			return err
		}
		return h(w, r)
	})
}
