package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/userd/userd/mail"
)

// mailWatch checks the SMTP server when serve starts and, while it does
// not answer, again every interval, so that /readyz can say so.
type mailWatch struct {
	smtp     *mail.SMTP
	log      *slog.Logger
	interval time.Duration
	warning  atomic.Pointer[string]
	done     chan struct{} // closed when the rechecks end
}

// The warnings /readyz shows while the SMTP server is not usable.
const (
	mailUnreachable = "mail: the SMTP server did not answer; mail waits in the outbox and is retried"
	mailRefused     = "mail: the SMTP server refuses the configuration (credentials or TLS); mail waits in the outbox"
)

func newMailWatch(smtp *mail.SMTP, log *slog.Logger) *mailWatch {
	return &mailWatch{smtp: smtp, log: log, interval: 30 * time.Second, done: make(chan struct{})}
}

// warnings are what /readyz lists: none once the server answered.
func (w *mailWatch) warnings() []string {
	if p := w.warning.Load(); p != nil {
		return []string{*p}
	}
	return nil
}

// start runs the first check. A configuration the server refuses (a
// wrong password, a certificate that does not verify, no STARTTLS with
// ?tls=required) is an error: serve refuses to start. A server that does
// not answer is a warning, logged and shown by /readyz, and checked again
// until ctx ends or it answers.
func (w *mailWatch) start(ctx context.Context) error {
	err := w.smtp.Check(ctx)
	switch {
	case err == nil:
		close(w.done)
		w.log.Info("mail: the SMTP server answered")
		return nil
	case errors.Is(err, mail.ErrRejected):
		close(w.done)
		return fmt.Errorf("USERD_SMTP_URL: %w", err)
	}
	msg := mailUnreachable
	w.warning.Store(&msg)
	w.log.Warn(mailUnreachable, "err", err)
	go w.recheck(ctx)
	return nil
}

// recheck checks every interval until the server answers or ctx ends.
func (w *mailWatch) recheck(ctx context.Context) {
	defer close(w.done)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := w.smtp.Check(ctx)
		switch {
		case err == nil:
			w.warning.Store(nil)
			w.log.Info("mail: the SMTP server answers now")
			return
		case errors.Is(err, mail.ErrRejected):
			msg := mailRefused
			if p := w.warning.Swap(&msg); p == nil || *p != mailRefused {
				w.log.Error(mailRefused, "err", err)
			}
		}
	}
}
