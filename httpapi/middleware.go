package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/service"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyRoute
	keyPrincipal
	keyClientIP
)

// routeInfo is filled in by the matched route, for logs and metrics.
type routeInfo struct{ pattern string }

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// principal returns the authenticated caller; only on authenticated routes.
func principal(ctx context.Context) service.Principal {
	p, _ := ctx.Value(keyPrincipal).(service.Principal)
	return p
}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

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
// log and metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		route := &routeInfo{}
		client := s.clientIPs.of(r)
		ctx := context.WithValue(context.WithValue(r.Context(), keyRequestID, id), keyRoute, route)
		ctx = context.WithValue(ctx, keyClientIP, client)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()), "request_id", id)
				if sw.status == 0 {
					s.fail(sw, r, fmt.Errorf("panic: %v", v))
				}
			}
			pattern := route.pattern
			if pattern == "" {
				pattern = "unmatched"
			}
			elapsed := time.Since(start)
			s.metrics.requests.WithLabelValues(pattern, strconv.Itoa(sw.status)).Inc()
			s.metrics.latency.WithLabelValues(pattern).Observe(elapsed.Seconds())
			attrs := []any{"method", r.Method, "path", r.URL.Path, "route", pattern, "status", sw.status,
				"bytes", sw.bytes, "duration_ms", float64(elapsed.Microseconds()) / 1000, "request_id", id, "client_ip", client.String()}
			if s.tracing {
				attrs = append(attrs, "trace_id", nameSpan(r, route.pattern))
			}
			s.log.InfoContext(ctx, "request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
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
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri, ok := r.Context().Value(keyRoute).(*routeInfo); ok {
			ri.pattern = pattern
		}
		if s.dbTimeout > 0 {
			// Every route's database work ends with this deadline
			// (USERD_DB_TIMEOUT); a handler never outlives it waiting.
			ctx, cancel := context.WithTimeout(r.Context(), s.dbTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}))
}

// handlePage registers a hosted page (Deps.Pages): as handle does, but
// the page writes its own errors, and its pattern is not an API route.
func (s *Server) handlePage(pattern string, h http.Handler) {
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri, ok := r.Context().Value(keyRoute).(*routeInfo); ok {
			ri.pattern = pattern
		}
		if s.dbTimeout > 0 {
			ctx, cancel := context.WithTimeout(r.Context(), s.dbTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(w, r)
	}))
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
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
		// while a replica has not replayed them.
		ctx := service.WithCaller(context.WithValue(r.Context(), keyPrincipal, p), p.User.ID)
		return h(w, r.WithContext(ctx))
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
