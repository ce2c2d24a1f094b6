package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
)

func TestDevOnlyCommandsRefuseProd(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("USERD_DATA_DIR", dir)
	t.Setenv("DATABASE_URL", pgtest.NewEmptyURL(t))
	for env, source := range map[string]string{"": "USERD_ENV is unset, which means prod", "prod": "USERD_ENV=prod"} {
		t.Setenv("USERD_ENV", env)
		for _, args := range [][]string{
			{"dev-token", "--sub", "alice"},
			{"setup-dev-users"},
			{"bench", "--users", "100", "--duration", "1s"},
			{"bench", "directory", "--users", "100"},
		} {
			r := runUserd(t, args...)
			want := args[0] + " is a development command: it runs only with USERD_ENV=dev (" + source + ")"
			if r.code != 1 || r.msg != want || r.stdout != "" {
				t.Errorf("userd %s with USERD_ENV=%q: got exit %d %q, stdout %q; want 1 and %q",
					strings.Join(args, " "), env, r.code, r.msg, r.stdout, want)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Fatalf("the refused commands left %v in the data dir, want nothing", entries)
	}
}

func TestServeDefaultsToProd(t *testing.T) {
	for _, k := range []string{"USERD_ENV", "USERD_SIGNING_KEY_FILE", "USERD_SMTP_URL", "USERD_PUBLIC_URL", "USERD_MAIL_FROM"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	t.Setenv("USERD_DATA_DIR", dir)
	t.Setenv("DATABASE_URL", pgtest.NewEmptyURL(t))
	r := runUserd(t, "serve")
	for _, want := range []string{"USERD_ENV is unset, which means prod", "USERD_SIGNING_KEY_FILE is required",
		"USERD_SMTP_URL is required", "USERD_PUBLIC_URL is required", "USERD_MAIL_FROM is required"} {
		if r.code != 1 || !strings.Contains(r.msg, want) {
			t.Errorf("serve with nothing set: got exit %d %q, want a refusal mentioning %q", r.code, r.msg, want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Fatalf("the refused serve left %v in the data dir (a dev key?), want nothing", entries)
	}
}

func TestProdSigningKeyMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "signing.json")
	if r := runUserd(t, "keygen", "-o", path); r.code != 0 {
		t.Fatal(r.msg)
	}
	cfg := config.Config{Env: "prod", SigningKeyFile: path}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := signingKeys(cfg); err != nil {
			t.Errorf("mode %04o: got %v, want the key loaded", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660, 0o602} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := signingKeys(cfg)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: got %v, want a refusal saying chmod 600", mode, err)
		}
	}
	// Dev generates and loads its own key whatever the mode rule says.
	if _, err := signingKeys(config.Config{Env: "dev", SigningKeyFile: filepath.Join(dir, "dev.json")}); err != nil {
		t.Fatalf("dev: got %v, want a generated key", err)
	}

	// Through serve, on a migrated database, with everything else set.
	t.Setenv("USERD_ENV", "prod")
	t.Setenv("DATABASE_URL", pgtest.NewURL(t))
	t.Setenv("USERD_SIGNING_KEY_FILE", path)
	t.Setenv("USERD_SMTP_URL", "smtp://127.0.0.1:1")
	t.Setenv("USERD_MAIL_FROM", "no-reply@example.com")
	t.Setenv("USERD_PUBLIC_URL", "https://id.example.com")
	r := runUserd(t, "serve")
	if r.code != 1 || !strings.Contains(r.msg, "has mode 0602") {
		t.Fatalf("serve in prod with a key file of mode 0602: got exit %d %q, want a refusal naming the mode", r.code, r.msg)
	}
}

// TestRedactsURLPasswords feeds malformed URLs holding a password to the
// commands that parse them and checks that no message shows it.
func TestRedactsURLPasswords(t *testing.T) {
	t.Setenv("USERD_DATA_DIR", t.TempDir())
	for _, bad := range []string{
		"postgres://u:s3cretpw@db.example.com:port/app",
		"postgres://u:s3cretpw@[::1/app",
		"postgres://u:s3cret%zzpw@db.example.com/app",
		"postgres://u:s3c ret pw@db.example.com/app",
		"postgres://u:s3cret\"pw@db.example.com:5432/app?sslmode=bogus",
		"host=db.example.com password=s3cretpw port=x",
	} {
		t.Setenv("DATABASE_URL", bad)
		for _, env := range []string{"", "dev"} {
			t.Setenv("USERD_ENV", env)
			for _, args := range [][]string{{"migrate", "status"}, {"migrate", "up"}, {"setup-groups"}} {
				r := runUserd(t, args...)
				if r.code == 0 || strings.Contains(r.msg+r.stderr+r.stdout, "s3c") {
					t.Errorf("DATABASE_URL=%q userd %s: got exit %d, message %q, stderr %q; want an error without the password",
						bad, strings.Join(args, " "), r.code, r.msg, r.stderr)
				}
			}
		}
	}
	t.Setenv("USERD_ENV", "dev")
	t.Setenv("DATABASE_URL", pgtest.NewURL(t))
	for _, bad := range []string{"smtp://mailer:s3cretpw@smtp.example.com:port", "smtp://mailer:s3cretpw@[::1", "smtp://mailer:s3cretpw@host?tls=sometimes"} {
		t.Setenv("USERD_SMTP_URL", bad)
		r := runUserd(t, "serve")
		if r.code == 0 || strings.Contains(r.msg+r.stderr+r.stdout, "s3c") {
			t.Errorf("USERD_SMTP_URL=%q userd serve: got exit %d, message %q, stderr %q; want an error without the password",
				bad, r.code, r.msg, r.stderr)
		}
	}
	t.Setenv("USERD_SMTP_URL", "")
	t.Setenv("USERD_PUBLIC_URL", "https://u:s3cretpw@id.example.com:port/")
	if r := runUserd(t, "serve"); r.code == 0 || strings.Contains(r.msg, "s3c") {
		t.Errorf("malformed USERD_PUBLIC_URL: got exit %d %q, want an error without the password", r.code, r.msg)
	}

	// The logger every command gets removes them from log lines too.
	var buf bytes.Buffer
	t.Setenv("DATABASE_URL", "postgres://u:s3cret pw@db/app")
	log := newLogger(&buf, slog.LevelInfo, config.Redactor(os.Getenv))
	log.Error("connect failed", "url", os.Getenv("DATABASE_URL"), "err", io.ErrUnexpectedEOF)
	if strings.Contains(buf.String(), "s3cret") || !strings.Contains(buf.String(), "connect failed") {
		t.Fatalf("log line: got %s, want it without the password", buf.String())
	}
}

// TestDevTokenWhateverPublicURL: the dev IdP's issuer does not follow
// USERD_PUBLIC_URL, so the token dev-token prints works against a dev
// server that sets it.
func TestDevTokenWhateverPublicURL(t *testing.T) {
	t.Setenv("USERD_ENV", "dev")
	t.Setenv("USERD_DATA_DIR", t.TempDir())
	t.Setenv("USERD_PUBLIC_URL", "https://id.example.com")
	tok := strings.TrimSpace(runCmd(t, "dev-token", "--sub", "alice", "--email", "alice@example.com"))

	cfg, err := config.Load(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	a, err := build(context.Background(), cfg, service.NewDB(pgtest.NewPool(t)), &tracing{}, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "alice@example.com") {
		t.Fatalf("GET /users/me with a dev token, USERD_PUBLIC_URL set: got %d %s, want 200 and alice", res.StatusCode, body)
	}
}

func TestSetupDevUsersPrintsTheListenAddress(t *testing.T) {
	t.Setenv("USERD_ENV", "dev")
	t.Setenv("USERD_DATA_DIR", t.TempDir())
	t.Setenv("DATABASE_URL", pgtest.NewURL(t))
	t.Setenv("USERD_PUBLIC_URL", "https://id.example.com")
	t.Setenv("USERD_ADDR", "127.0.0.1:9123")
	got := runCmd(t, "setup-dev-users")
	if !strings.Contains(got, "curl -s -X POST http://127.0.0.1:9123/api/v1/auth/login") || strings.Contains(got, "id.example.com") {
		t.Fatalf("setup-dev-users with USERD_ADDR=127.0.0.1:9123: got %q, want the curl to that address", got)
	}
	for addr, want := range map[string]string{
		":8080": "http://localhost:8080", "0.0.0.0:80": "http://localhost:80", "[::]:9000": "http://localhost:9000",
		"[::1]:9000": "http://[::1]:9000", "10.1.2.3:8080": "http://10.1.2.3:8080", "localhost:7000": "http://localhost:7000",
	} {
		if got := baseURL(addr); got != want {
			t.Errorf("baseURL(%q): got %q, want %q", addr, got, want)
		}
	}
}

func TestDevMailIsAReadableBlock(t *testing.T) {
	t.Parallel()
	var out, logBuf bytes.Buffer
	m := &logMailer{
		log: slog.New(slog.NewJSONHandler(&logBuf, nil)), out: &out, from: "userd <no-reply@localhost>",
		now: func() time.Time { return time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC) },
	}
	err := m.Send(context.Background(), service.Mail{
		To: "alice@example.com", Subject: "Verify your email",
		Text: "Follow this link:\n\nhttp://localhost:8080/verify-email?token=abc\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "\n----- mail (dev: printed, not sent) -----\n" +
		"From: userd <no-reply@localhost>\nTo: alice@example.com\nSubject: Verify your email\n" +
		"Date: Tue, 01 Dec 2026 22:00:00 +0000\n\n" +
		"Follow this link:\n\nhttp://localhost:8080/verify-email?token=abc\n" +
		"----- end of mail -----\n\n"
	if out.String() != want {
		t.Fatalf("mail block: got\n%s\nwant\n%s", out.String(), want)
	}
	if !strings.Contains(logBuf.String(), `"to":"alice@example.com"`) || strings.Contains(logBuf.String(), "token=abc") {
		t.Fatalf("log line: got %s, want to and subject, not the link", logBuf.String())
	}
}

// TestServeRefusesABrokenMailTemplate: a template in USERD_MAIL_TEMPLATES
// that does not render stops serve at start, naming the file.
func TestServeRefusesABrokenMailTemplate(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "signing.json")
	if r := runUserd(t, "keygen", "-o", key); r.code != 0 {
		t.Fatal(r.msg)
	}
	templates := filepath.Join(dir, "mail")
	if err := os.Mkdir(templates, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(templates, "password_reset.html"), []byte(`{{template "layout" .}}{{define "content"}}{{.Nope}}{{end}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("USERD_ENV", "prod")
	t.Setenv("DATABASE_URL", pgtest.NewURL(t))
	t.Setenv("USERD_SIGNING_KEY_FILE", key)
	t.Setenv("USERD_SMTP_URL", "smtp://127.0.0.1:1")
	t.Setenv("USERD_MAIL_FROM", "no-reply@example.com")
	t.Setenv("USERD_PUBLIC_URL", "https://id.example.com")
	t.Setenv("USERD_ADDR", "127.0.0.1:0")
	t.Setenv("USERD_MAIL_TEMPLATES", templates)
	r := runUserd(t, "serve")
	if r.code != 1 || !strings.Contains(r.msg, "USERD_MAIL_TEMPLATES") || !strings.Contains(r.msg, "password_reset.html") {
		t.Fatalf("serve with a broken mail template: got exit %d %q, want a refusal naming the template", r.code, r.msg)
	}
}
