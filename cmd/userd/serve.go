package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/httpapi"
	"github.com/userd/userd/idp"
	"github.com/userd/userd/service"
)

func serve(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	db, err := openDB(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Pool.Close()
	app, err := build(ctx, cfg, db, log)
	if err != nil {
		return err
	}

	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           app.handler,
		ReadHeaderTimeout: 5 * time.Second,
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
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorker()
	go app.outbox.Run(workerCtx, 2*time.Second)

	log.Info("userd serving", "addr", ln.Addr().String(), "env", cfg.Env, "version", version)
	if cfg.Dev() {
		fmt.Fprintf(stdout, `
userd is serving on http://%s (dev mode)
  curl -s localhost%s/healthz
  TOKEN=$(go run ./cmd/userd dev-token --sub alice --email alice@example.com)
  curl -s -H "Authorization: Bearer $TOKEN" localhost%s/api/v1/users/me
  go run ./cmd/userd setup-dev-users    # local superuser "user", password "string"
`, ln.Addr(), portOf(ln.Addr()), portOf(ln.Addr()))
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func portOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return fmt.Sprintf(":%d", t.Port)
	}
	return ""
}

// app is the wired service.
type app struct {
	handler http.Handler
	outbox  *service.Outbox
}

// build wires configuration, database and services into the HTTP handler.
func build(ctx context.Context, cfg config.Config, db *service.DB, log *slog.Logger) (*app, error) {
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
	authCfg := service.AuthConfig{Provider: provider, DefaultRegion: cfg.DefaultRegion, Local: local, LocalIssuer: cfg.Issuer}
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
	users := service.NewUsers(db, cfg.DefaultRegion, hardDelete)
	h := httpapi.New(httpapi.Deps{
		Log:       log,
		Auth:      service.NewAuth(db, authCfg),
		Users:     users,
		Accounts:  accts,
		Admin:     service.NewAdmin(db, cfg.DefaultRegion, cursorKey),
		Ready:     db.Ready,
		PoolStats: db.Stats,
		PublicURL: cfg.PublicURL,
	})
	m, err := mailer(cfg, log)
	if err != nil {
		return nil, err
	}
	outbox := service.NewOutbox(db, admin, m, log)
	outbox.Resets = accts
	return &app{handler: h, outbox: outbox}, nil
}

// logMailer prints mail to the log instead of sending it (dev).
type logMailer struct{ log *slog.Logger }

func (m logMailer) Send(ctx context.Context, mail service.Mail) error {
	m.log.InfoContext(ctx, "mail", "to", mail.To, "subject", mail.Subject, "text", mail.Text)
	return nil
}
