package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/mail"
	"github.com/userd/userd/mail/smtptest"
	"github.com/userd/userd/pglocal"
	"github.com/userd/userd/pgtest"
)

// TestMailWatch: an SMTP server that does not answer at start is a
// warning until it comes up; one that refuses the credentials is an error.
func TestMailWatch(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	smtp, err := mail.NewSMTP("smtp://mailer:s3cret@"+addr, "no-reply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	smtp.ConnectTimeout, smtp.Timeout = time.Second, 2*time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := newMailWatch(smtp, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.interval = 50 * time.Millisecond
	if err := w.start(ctx); err != nil {
		t.Fatalf("start with nothing listening: got %v, want a warning, not an error", err)
	}
	if got := w.warnings(); len(got) != 1 || got[0] != mailUnreachable {
		t.Fatalf("warnings with nothing listening: got %q, want %q", got, mailUnreachable)
	}
	// The server comes up where userd looks: the warning goes.
	smtptest.NewServer(t, smtptest.WithAddr(addr), smtptest.WithAuth("mailer", "s3cret"))
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the warning stayed 10 s after the server came up")
	}
	if got := w.warnings(); len(got) != 0 {
		t.Fatalf("warnings once the server answers: got %q, want none", got)
	}

	wrong, err := mail.NewSMTP("smtp://mailer:nope@"+addr, "no-reply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	err = newMailWatch(wrong, slog.New(slog.NewTextHandler(io.Discard, nil))).start(ctx)
	if err == nil || !strings.Contains(err.Error(), "USERD_SMTP_URL") || strings.Contains(err.Error(), "nope") {
		t.Fatalf("start with a wrong password: got %v, want a USERD_SMTP_URL error without the password", err)
	}
}

// prodEnv is what a prod serve needs, with a signing key made in dir and
// mail to smtpURL; extra settings follow ("KEY=value").
func prodEnv(t *testing.T, dir, smtpURL string, extra ...string) []string {
	t.Helper()
	key := filepath.Join(dir, "signing.json")
	if r := runUserd(t, "keygen", "-o", key); r.code != 0 {
		t.Fatal(r.msg)
	}
	return append([]string{"USERD_ENV=prod", "USERD_SIGNING_KEY_FILE=" + key, "USERD_SMTP_URL=" + smtpURL,
		"USERD_MAIL_FROM=Example <no-reply@example.com>", "USERD_PUBLIC_URL=https://id.example.com"}, extra...)
}

// TestProdStartChecks: in prod an SMTP server refusing the credentials
// stops serve at start; one that does not answer leaves it serving, with
// a warning in /readyz; /metrics is not on the public listener, only on
// USERD_METRICS_ADDR.
func TestProdStartChecks(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.WithAuth("mailer", "s3cret"))
	_, port, _ := net.SplitHostPort(srv.Addr)
	dir := t.TempDir()
	for _, kv := range prodEnv(t, dir, "smtp://mailer:wrong-pw@127.0.0.1:"+port, "DATABASE_URL="+pgtest.NewURL(t), "USERD_ADDR=127.0.0.1:0") {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	r := runUserd(t, "serve")
	if r.code != 1 || !strings.Contains(r.msg, "USERD_SMTP_URL") || !strings.Contains(r.msg, "535") || strings.Contains(r.msg+r.stderr, "wrong-pw") {
		t.Fatalf("prod serve with a wrong SMTP password: got exit %d %q, want a refusal quoting the server's 535, without the password", r.code, r.msg)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	mport, err := pglocal.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(mport))
	p := startUserd(t, pgtest.NewURL(t), t.TempDir(), prodEnv(t, t.TempDir(), "smtp://"+closed, "USERD_METRICS_ADDR="+metricsAddr)...)
	status, body := httpGet(t, p.base+"/readyz")
	if status != http.StatusOK || !strings.Contains(body, `"warnings":["mail: the SMTP server did not answer`) {
		t.Fatalf("/readyz in prod with the SMTP server down: got %d %s, want 200 with the mail warning", status, body)
	}
	if !strings.Contains(p.logs.String(), mailUnreachable) {
		t.Fatalf("the log does not warn that the SMTP server did not answer:\n%s", p.logs)
	}
	if status, _ := httpGet(t, p.base+"/metrics"); status != http.StatusNotFound {
		t.Fatalf("/metrics on the public listener in prod: got %d, want 404", status)
	}
	if status, body := httpGet(t, "http://"+metricsAddr+"/metrics"); status != http.StatusOK || !strings.Contains(body, "userd_http_requests_total") {
		t.Fatalf("/metrics on USERD_METRICS_ADDR: got %d, want 200 with userd's metrics", status)
	}

	// Without USERD_METRICS_ADDR, prod serves /metrics nowhere.
	q := startUserd(t, pgtest.NewURL(t), t.TempDir(), prodEnv(t, t.TempDir(), "smtp://"+closed)...)
	if status, _ := httpGet(t, q.base+"/metrics"); status != http.StatusNotFound {
		t.Fatalf("/metrics in prod without USERD_METRICS_ADDR: got %d, want 404", status)
	}
}

// httpGet returns the status and body of a GET.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode, string(b)
}
