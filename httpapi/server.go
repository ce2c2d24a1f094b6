// Package httpapi is userd's HTTP layer: routes, handlers, middleware and
// problem+json errors. It knows nothing of SQL; every rule lives in service.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/userd/userd/service"
)

// Deps are the services the HTTP layer calls; New copies them into the
// Server, which keeps them unexported.
type Deps struct {
	Log      *slog.Logger
	Auth     *service.Auth
	Users    *service.Users
	Accounts *service.Accounts // local accounts, sessions, JWKS
	Admin    *service.Admin
	Orgs     *service.Orgs
	Social   *service.Social
	Avatars  *service.Avatars
	Webhooks *service.Webhooks // nil: no webhook metrics
	OAuth    *service.OAuth    // the OpenID provider; nil: none
	// NoPasswordGrant refuses the password grant (USERD_PASSWORD_GRANT
	// off: the prod default).
	NoPasswordGrant bool
	Ready           func(ctx context.Context) error // readiness: DB up and migrated
	PoolStats       func() service.PoolStats
	PublicURL       string // base of absolute links (avatars)
	// Warnings, when set, are conditions that leave the server ready but
	// need an operator (the SMTP server unreachable): /readyz lists them.
	Warnings func() []string
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// (for login limits and session addresses); none by default.
	TrustedProxies []netip.Prefix
	// DBTimeout bounds each request's waits on the database (pool acquire
	// and statements, USERD_DB_TIMEOUT): the request's context ends then,
	// which cancels the statement in PostgreSQL and answers 503
	// db_unavailable. 0: no bound.
	DBTimeout time.Duration
	// RefusedTokenLevel is the level at which the reason a bearer token
	// was refused is logged: info (the zero value) in dev, where a
	// developer needs it, debug in prod, where a client can cause any
	// number of them.
	RefusedTokenLevel slog.Level
	// CORSOrigins are the browser origins allowed to call across origins
	// (USERD_CORS_ORIGINS); none: no CORS headers at all.
	CORSOrigins []string
	// MetricsElsewhere leaves GET /metrics off this handler: the caller
	// serves Server.Metrics on its own address (USERD_METRICS_ADDR).
	MetricsElsewhere bool
	// Pages, when set, registers the hosted pages (package web) beside the
	// API: each pattern it hands to the function it is given is served
	// with the API's request ids, logs, metrics, client addresses and
	// database timeout, and without an OpenAPI entry (pages are not API).
	Pages func(handle func(pattern string, h http.Handler))
	// TracerProvider, when set, traces each request (OTLP through the
	// caller's provider), continuing the trace of an incoming traceparent
	// and named by its route pattern. nil: no tracing code runs at all.
	TracerProvider trace.TracerProvider
}

// Server routes userd's API.
type Server struct {
	log      *slog.Logger
	auth     *service.Auth
	users    *service.Users
	accounts *service.Accounts
	admin    *service.Admin
	orgs     *service.Orgs
	social   *service.Social
	avatars  *service.Avatars
	webhooks *service.Webhooks
	oauth    *service.OAuth
	// noPasswordGrant refuses the password grant at the token endpoints.
	noPasswordGrant bool
	ready           func(ctx context.Context) error
	warnings        func() []string
	publicURL       string
	refusedAt       slog.Level
	mux             *http.ServeMux
	metrics         *metrics
	docs            documents
	handler         http.Handler
	clientIPs       clientIPs
	dbTimeout       time.Duration
	tracing         bool // requests are traced (Deps.TracerProvider)
	draining        atomic.Bool
	// patterns are the patterns registered through handle, in order;
	// openapi_test.go checks the OpenAPI document against them.
	patterns []string
}

// New returns the HTTP handler of userd.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	s := &Server{
		log: d.Log, auth: d.Auth, users: d.Users, accounts: d.Accounts, admin: d.Admin, orgs: d.Orgs, social: d.Social, avatars: d.Avatars, ready: d.Ready, warnings: d.Warnings, publicURL: d.PublicURL,
		refusedAt: d.RefusedTokenLevel, mux: http.NewServeMux(), metrics: newMetrics(d.PoolStats), clientIPs: newClientIPs(d.TrustedProxies), dbTimeout: d.DBTimeout,
		tracing: d.TracerProvider != nil, webhooks: d.Webhooks, oauth: d.OAuth, noPasswordGrant: d.NoPasswordGrant,
	}
	if d.Webhooks != nil {
		s.metrics.registry.MustRegister(webhookCollector{w: d.Webhooks})
	}
	if !d.MetricsElsewhere {
		s.handle("GET /metrics", plain(s.Metrics()))
	}
	s.docs = s.newDocuments()
	s.routes()
	if d.Pages != nil {
		d.Pages(s.handlePage)
	}
	s.handler = s.observe(withCORS(d.CORSOrigins, s.mux))
	if s.tracing {
		s.handler = traced(s.handler, d.TracerProvider)
	}
	return s
}

// Metrics serves the Prometheus metrics of this server.
func (s *Server) Metrics() http.Handler {
	return promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
}

// Drain makes /readyz answer 503 from now on, so that load balancers stop
// sending requests while the ones in flight finish (a graceful stop).
func (s *Server) Drain() { s.draining.Store(true) }

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routes registers every route of the API: those below, and through the
// three calls in their midst those of admin.go (adminRoutes), orgs.go
// (orgRoutes) and webhooks.go (webhookRoutes). The hosted pages register
// theirs through Deps.Pages.
func (s *Server) routes() {
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)
	s.handle("GET /openapi.json", served(s.docs.openAPI))

	s.handle("GET /api/v1/users/me", s.authed(s.getMe))
	s.handle("PATCH /api/v1/users/me", s.authed(body(http.StatusOK, s.patchMe, mergeTypes...)))
	s.handle("DELETE /api/v1/users/me", s.authed(act(http.StatusOK, s.deleteMe)))
	s.handle("POST /api/v1/auth/delete-account", s.authed(act(http.StatusNoContent, s.deleteAccount)))
	s.handle("PATCH /api/v1/users/me/preferences", s.authed(body(http.StatusOK, s.patchPreferences, mergeTypes...)))
	s.handle("PUT /api/v1/users/me/location", s.authed(body(http.StatusOK, s.putLocation)))
	s.handle("DELETE /api/v1/users/me/location", s.authed(act(http.StatusNoContent, s.deleteLocation)))
	s.handle("GET /api/v1/users/me/identities", s.authed(get(s.listIdentities)))
	s.handle("POST /api/v1/users/me/identities", s.authed(body(http.StatusCreated, s.linkIdentity)))
	s.handle("DELETE /api/v1/users/me/identities/{provider}", s.authed(act(http.StatusNoContent, s.deleteIdentity)))
	s.handle("GET /api/v1/users/me/sessions", s.authed(list(s.listSessions)))
	s.handle("GET /api/v1/users/me/export", s.authed(s.exportMe))
	s.handle("DELETE /api/v1/users/me/sessions/{id}", s.authed(act(http.StatusNoContent, s.deleteSession)))
	s.handle("PUT /api/v1/users/me/avatar", s.authed(s.putAvatar))
	s.handle("DELETE /api/v1/users/me/avatar", s.authed(act(http.StatusNoContent, s.deleteAvatar)))
	s.handle("GET /api/v1/users/{id}/avatar", s.maybeAuthed(s.getAvatar))

	s.handle("GET /.well-known/jwks.json", served(s.docs.jwks))
	s.handle("GET /.well-known/openid-configuration", served(s.docs.discovery))
	s.handle("GET /.well-known/oauth-authorization-server", served(s.docs.discovery))
	s.handle("POST /api/v1/auth/register", body(http.StatusCreated, s.register))
	s.handle("POST /api/v1/auth/login", body(http.StatusOK, s.login))
	s.handle("POST /api/v1/auth/refresh", body(http.StatusOK, s.refresh))
	s.handle("POST /api/v1/auth/logout", body(http.StatusNoContent, s.logout))
	s.handle("POST /api/v1/auth/token", s.token)
	s.handle("POST /api/v1/auth/password/change", s.authed(body(http.StatusNoContent, s.changePassword)))
	s.handle("POST /api/v1/auth/password/forgot", body(http.StatusAccepted, s.forgotPassword))
	s.handle("POST /api/v1/auth/password/reset", body(http.StatusNoContent, s.resetPassword))
	s.handle("POST /api/v1/auth/email/verify", body(http.StatusNoContent, s.verifyEmail))
	s.handle("POST /api/v1/auth/email/verify/resend", s.authed(act(http.StatusAccepted, s.resendVerification)))
	s.adminRoutes()
	s.orgRoutes()
	s.webhookRoutes()
	s.oidcRoutes()

	// The social graph.
	s.handle("PUT /api/v1/users/{id}/follow", s.authed(act(http.StatusNoContent, pairAction(s.social.Follow))))
	s.handle("DELETE /api/v1/users/{id}/follow", s.authed(act(http.StatusNoContent, pairAction(s.social.Unfollow))))
	s.handle("GET /api/v1/users/{id}/followers", s.authed(list(s.socialList(s.social.Followers))))
	s.handle("GET /api/v1/users/{id}/following", s.authed(list(s.socialList(s.social.Following))))
	s.handle("GET /api/v1/users/{id}/follow-stats", s.authed(get(s.followStats)))
	s.handle("PUT /api/v1/users/{id}/block", s.authed(act(http.StatusNoContent, pairAction(s.social.Block))))
	s.handle("DELETE /api/v1/users/{id}/block", s.authed(act(http.StatusNoContent, pairAction(s.social.Unblock))))
	s.handle("GET /api/v1/users/me/blocks", s.authed(list(s.listBlocks)))

	s.handle("/", s.unmatched)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	return reply(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 503 problem+json while the server drains for a graceful
// stop (shutting_down) or the database is down or behind (db_unavailable);
// ready, it lists the warnings that need an operator without making the
// server unready.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.draining.Load() {
		return errShuttingDown
	}
	if s.ready != nil {
		if err := s.ready(r.Context()); err != nil {
			return err
		}
	}
	if s.warnings != nil {
		if ws := s.warnings(); len(ws) > 0 {
			return reply(w, http.StatusOK, map[string]any{"status": "ok", "warnings": ws})
		}
	}
	return reply(w, http.StatusOK, map[string]string{"status": "ok"})
}

// unmatched answers requests no route takes: 405 with Allow when the path
// exists under other methods, else 404.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) error {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return errMethodNotAllowed
	}
	return errNotFound
}
