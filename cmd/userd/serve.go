package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/httpapi"
	"github.com/userd/userd/idp"
	"github.com/userd/userd/mail"
	"github.com/userd/userd/migrate"
	"github.com/userd/userd/redact"
	"github.com/userd/userd/service"
	"github.com/userd/userd/web"
)

var serveCommand = &command{
	name:    "serve",
	summary: "serve the HTTP API (dev: find or start PostgreSQL and migrate first)",
	about: `Serves the HTTP API on USERD_ADDR until interrupted, with the outbox
worker (mail, IdP hard deletes) alongside.

prod (USERD_ENV=prod or unset) refuses to start without DATABASE_URL,
USERD_PUBLIC_URL, USERD_SMTP_URL, USERD_MAIL_FROM and USERD_SIGNING_KEY_FILE,
with an http:// USERD_PUBLIC_URL whose host is not loopback, with a signing
key file that group or others may access (make one with ` + "`userd keygen`" + `),
with a database schema that is behind (run ` + "`userd migrate up`" + ` first), or
when the SMTP server refuses the configured credentials or TLS. An SMTP
server that does not answer is a warning (logged, and listed by /readyz).
In prod /metrics is served only on USERD_METRICS_ADDR.

dev (USERD_ENV=dev) needs nothing: it finds or starts a local PostgreSQL,
migrates it, generates a signing key under USERD_DATA_DIR, prints mail to
the log and trusts the built-in dev IdP (see ` + "`userd dev-token`" + `) unless
USERD_IDP_ISSUER is set.`,
	env: serveEnv,
	example: `USERD_ENV=dev userd serve          # what make run does
DATABASE_URL=postgres://userd@db/userd USERD_PUBLIC_URL=https://id.example.com \
  USERD_SMTP_URL=smtp://mailer:secret@smtp.example.com:587 \
  USERD_SIGNING_KEY_FILE=/etc/userd/signing.json userd serve`,
	run: func(ctx context.Context, e cmdEnv, args []string) error {
		if err := noArgs("serve", args); err != nil {
			return err
		}
		if err := e.cfg.CheckServe(); err != nil {
			return err
		}
		return serve(ctx, e.cfg, e.log, e.stdout, e.stderr)
	},
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger, stdout, stderr io.Writer) error {
	tel, err := startTracing(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		// The spans still queued go out before the process ends.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tel.shutdown(sctx); err != nil {
			log.Warn("tracing: spans not exported at shutdown", "err", err)
		}
	}()
	// Resolved once, so the dev banner names the database being served.
	if cfg.DatabaseURL, err = databaseURL(ctx, cfg); err != nil {
		return err
	}
	db, err := openDB(ctx, cfg, true, tel.queryTracer(), cacheConfig(cfg), log)
	if err != nil {
		return err
	}
	defer db.Close()
	app, err := build(ctx, cfg, db, tel, log, stderr)
	if err != nil {
		return err
	}

	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	if app.mail != nil {
		// Refuses to start on a configuration the server refuses; an
		// unreachable server is a warning, shown by /readyz.
		if err := app.mail.start(ctx); err != nil {
			return err
		}
	}
	if !cfg.MetricsOnAddr() && cfg.MetricsAddr == "" {
		log.Info("metrics: not served (prod serves /metrics only on USERD_METRICS_ADDR, which is unset)")
	}

	// The header timeout runs from the moment a connection's goroutine
	// starts, and a read that begins after it has passed fails even with
	// the request already received: on a CPU-starved host a 5 s bound
	// closed healthy new connections unanswered (EOF or reset at the
	// client; docs/scaling.md, fan-in). 20 s still ends slowloris
	// connections, as Apache's reqtimeout default does.
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           app.handler,
		ReadHeaderTimeout: 20 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	var metricsSrv *http.Server
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen %s (USERD_METRICS_ADDR): %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", app.metrics)
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: srv.ErrorLog}
		go metricsSrv.Serve(mln) //nolint:errcheck // ends with Close at shutdown
		defer metricsSrv.Close()
		log.Info("metrics serving", "addr", mln.Addr().String())
	}
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorker()
	// The workers: the outbox, and the folder of the follow counters.
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		var wg sync.WaitGroup
		wg.Add(3)
		go func() { defer wg.Done(); app.outbox.Run(workerCtx, 2*time.Second) }()
		go func() { defer wg.Done(); app.webhooks.Run(workerCtx) }()
		go func() { defer wg.Done(); app.social.RunFolder(workerCtx, time.Second, log) }()
		wg.Wait()
	}()

	log.Info("userd serving", "addr", ln.Addr().String(), "env", cfg.Env, "version", readBuildInfo().version, "tracing", cfg.Tracing)
	if cfg.Dev() {
		fmt.Fprint(stdout, devBanner(baseURL(ln.Addr().String()), cfg.DatabaseURL, cfg.DataDir))
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return shutdown(srv, app, stopWorker, workerDone, log)
}

// devBanner is what serve prints in dev once it listens on base: commands
// to try it, which act on the same database (dbURL, its password shown as
// xxxxx) and the same data dir (its dev IdP secret) as the server.
func devBanner(base, dbURL, dataDir string) string {
	env := "USERD_ENV=dev"
	if dataDir != ".data" {
		env += " USERD_DATA_DIR=" + shellQuote(dataDir)
	}
	shown := redact.String(dbURL)
	var b strings.Builder
	fmt.Fprintf(&b, "\nuserd is serving on %s (dev mode)\n", base)
	fmt.Fprintf(&b, "  curl -s %s/healthz\n", base)
	fmt.Fprintf(&b, "  TOKEN=$(%s go run ./cmd/userd dev-token --sub alice --email alice@example.com)\n", env)
	fmt.Fprintf(&b, "  curl -s -H \"Authorization: Bearer $TOKEN\" %s/api/v1/users/me\n", base)
	fmt.Fprintf(&b, "  %s DATABASE_URL=%s go run ./cmd/userd setup-dev-users    # local superuser \"user\", password \"string\"\n", env, shellQuote(shown))
	if shown != dbURL {
		b.WriteString("  (the password of DATABASE_URL is shown as xxxxx: put it back to run this)\n")
	}
	fmt.Fprintf(&b, "  the routes: %s/openapi.json\n", base)
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shutdownGrace bounds how long in-flight requests may take to finish
// after SIGTERM.
const shutdownGrace = 20 * time.Second

// shutdown stops gracefully: /readyz answers 503 from now on (load
// balancers stop sending), the listener closes, in-flight requests finish
// (up to shutdownGrace; after that the connections are closed), and the
// outbox worker claims nothing more and gives back the lease of a job it
// is working.
func shutdown(srv *http.Server, app *app, stopWorker func(), workerDone <-chan struct{}, log *slog.Logger) error {
	log.Info("shutting down: draining")
	app.drain()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown: requests still running after the grace period; closing their connections", "grace", shutdownGrace)
		err = srv.Close()
	}
	stopWorker()
	select {
	case <-workerDone:
	case <-time.After(10 * time.Second):
		log.Warn("shutdown: the outbox worker did not stop in time; its job runs again when its lease ends")
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// baseURL is the http URL a client on this machine reaches a server
// listening on addr at: an unspecified or empty host becomes localhost.
func baseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// app is the wired service.
type app struct {
	handler http.Handler
	metrics http.Handler // /metrics, for USERD_METRICS_ADDR
	drain   func()       // turns /readyz to 503 for good
	outbox  *service.Outbox
	social  *service.Social // its folder keeps follow-counter reads cheap
	// webhooks delivers the events of the outbox to their endpoints.
	webhooks *service.Webhooks
	mail     *mailWatch // the SMTP server's check; nil without USERD_SMTP_URL
}

// build wires configuration, database and services into the HTTP handler.
// Requests are traced through tel when it is on. Dev mail is printed to
// mailOut.
func build(ctx context.Context, cfg config.Config, db *service.DB, tel *tracing, log *slog.Logger, mailOut io.Writer) (*app, error) {
	// A broken template fails here, at start, not when a mail is sent.
	templates, err := mail.LoadTemplates(cfg.MailTemplates)
	if err != nil {
		return nil, fmt.Errorf("USERD_MAIL_TEMPLATES: %w", err)
	}
	pages, err := web.LoadTemplates(cfg.WebTemplates)
	if err != nil {
		return nil, fmt.Errorf("USERD_WEB_TEMPLATES: %w", err)
	}
	redirects, err := web.ParseRedirects(cfg.RedirectURLs)
	if err != nil {
		return nil, fmt.Errorf("USERD_REDIRECT_URLS: %w", err)
	}
	idpCfg, provider, err := idpConfig(cfg)
	if err != nil {
		return nil, err
	}
	keys, err := signingKeys(cfg)
	if err != nil {
		return nil, err
	}
	accts, local, err := accounts(db, cfg, keys)
	if err != nil {
		return nil, err
	}
	// Directory cursors are signed with a secret derived from the signing
	// key, so every instance sharing the key accepts the others' cursors.
	cursorKey, err := keys.DeriveSecret("cursor")
	if err != nil {
		return nil, err
	}
	authCfg := service.AuthConfig{Provider: provider, DefaultRegion: cfg.DefaultRegion, Local: local, LocalIssuer: cfg.Issuer, Cache: cacheConfig(cfg), Accounts: accts}
	if idpCfg != nil {
		v, err := idp.NewVerifier(ctx, *idpCfg)
		if err != nil {
			return nil, err
		}
		authCfg.External, authCfg.ExternalIssuer = v, idpCfg.Issuer
	}
	var admin service.IdPAdmin
	hardDelete := ""
	if cfg.IdP.AdminURL != "" {
		admin = idp.NewAdminClient(cfg.IdP.AdminURL, cfg.IdP.AdminKey)
		hardDelete = provider
	}
	accts.Mail = templates
	orgs := service.NewOrgs(db, cfg.LinkBase(), cursorKey)
	orgs.Mail = templates
	users := service.NewUsers(db, cfg.DefaultRegion, hardDelete)
	users.UseAccounts(accts)
	social := service.NewSocial(db, cursorKey)
	hooks := newWebhooks(db, cfg, cursorKey, log)
	// Why a token was refused: info in dev, debug in prod.
	refused := slog.LevelDebug
	if cfg.Dev() {
		refused = slog.LevelInfo
	}
	m, err := mailer(cfg, log, mailOut)
	if err != nil {
		return nil, err
	}
	var watch *mailWatch
	var warnings func() []string
	if smtp, ok := m.(*mail.SMTP); ok {
		watch = newMailWatch(smtp, log)
		warnings = watch.warnings
	}
	// The pages call the API server for the data export's document; it
	// exists by the time a page is served.
	var h *httpapi.Server
	oauth := service.NewOAuth(db, accts)
	adminSvc := service.NewAdmin(db, cfg.DefaultRegion, cursorKey)
	site := web.New(web.Config{
		Log: log, Accounts: accts, Users: users, Orgs: orgs, Templates: pages, OAuth: oauth,
		Brand:     web.Brand{Name: cfg.Brand.Name, Color: cfg.Brand.Color, LogoURL: cfg.Brand.LogoURL},
		Redirects: redirects,
		Insecure:  cfg.Dev() && strings.HasPrefix(cfg.PublicURL, "http://"),
		Client:    httpapi.ClientOf,
		Export:    func(ctx context.Context, by service.Principal) ([]byte, error) { return h.ExportDocument(ctx, by) },
		Admin:     adminSvc, Social: social, Webhooks: hooks,
	})
	h = httpapi.New(httpapi.Deps{
		Pages:             site.Register,
		Log:               log,
		Auth:              service.NewAuth(db, authCfg),
		Users:             users,
		Accounts:          accts,
		Admin:             adminSvc,
		Orgs:              orgs,
		Social:            social,
		Avatars:           service.NewAvatars(db).LimitDecoding(cfg.Limits.ImageConcurrency),
		Webhooks:          hooks,
		OAuth:             oauth,
		NoPasswordGrant:   !cfg.PasswordGrant,
		Ready:             db.Ready(migrate.Check),
		Warnings:          warnings,
		PoolStats:         db.Stats,
		PublicURL:         cfg.PublicURL,
		RefusedTokenLevel: refused,
		CORSOrigins:       cfg.CORSOrigins,

		TrustedProxies:   cfg.Limits.TrustedProxies,
		DBTimeout:        cfg.Limits.DBTimeout,
		MetricsElsewhere: !cfg.MetricsOnAddr(),
		TracerProvider:   tel.tracerProvider(),
	})
	outbox := service.NewOutbox(db, admin, m, log)
	outbox.Resets = accts
	return &app{handler: h, metrics: h.Metrics(), drain: h.Drain, outbox: outbox, social: social, webhooks: hooks, mail: watch}, nil
}

// logMailer prints each mail as a readable block (headers, a blank line,
// the text with its links on lines of their own) instead of sending it
// (dev), and logs one line saying so.
type logMailer struct {
	log  *slog.Logger
	out  io.Writer
	from string
	mu   sync.Mutex
	now  func() time.Time
}

func (m *logMailer) Send(ctx context.Context, mail service.Mail) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n----- mail (dev: printed, not sent) -----\nFrom: %s\nTo: %s\nSubject: %s\nDate: %s\n\n%s\n----- end of mail -----\n\n",
		m.from, mail.To, mail.Subject, m.now().UTC().Format(time.RFC1123Z), strings.TrimRight(mail.Text, "\n"))
	m.mu.Lock()
	_, err := io.WriteString(m.out, b.String())
	m.mu.Unlock()
	if err != nil {
		return fmt.Errorf("print mail: %w", err)
	}
	m.log.InfoContext(ctx, "mail printed (dev)", "to", mail.To, "subject", mail.Subject)
	return nil
}
