package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func TestStringMalformedURLs(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, secret string }{
		{"postgres://u:s3cretpw@db.example.com:5432/app", "s3cretpw"},
		{"postgres://u:s3cretpw@db.example.com:port/app", "s3cretpw"},       // bad port
		{"postgres://u:s3cret%zzpw@db.example.com/app", "s3cret%zzpw"},      // bad escape
		{"postgres://u:s3c@ret/pw@db.example.com/app", "s3c@ret/pw"},        // @ and / unescaped
		{"postgres://u:s3c\"re'tpw@db.example.com/app", "s3c\"re'tpw"},      // quotes
		{"postgres://u:s3cretpw@[::1/app", "s3cretpw"},                      // bad host
		{"smtp://mailer:hunter22@smtp.example.com:587", "hunter22"},         // SMTP
		{"https://admin:tok3nvalue@idp.example.com/admin", "tok3nvalue"},    // https
		{"postgres://db.example.com/app?password=s3cretpw&x=1", "s3cretpw"}, // query
		{"host=db user=u password=s3cretpw dbname=app", "s3cretpw"},         // DSN
		{"host=db password='s3c ret pw' dbname=app", "s3c ret pw"},          // quoted DSN
		{"postgres://u:s3cretpw@db.example.com/app?sslpassword=k3ypass", "k3ypass"},
	}
	for _, c := range cases {
		var msgs []string
		if _, err := url.Parse(c.in); err != nil {
			msgs = append(msgs, err.Error())
		}
		if _, err := pgxpool.ParseConfig(c.in); err != nil {
			msgs = append(msgs, err.Error())
		}
		msgs = append(msgs, c.in, fmt.Sprintf("parse %q: failed", c.in), "open "+c.in+" now")
		for _, m := range msgs {
			got := String(m)
			if strings.Contains(got, c.secret) {
				t.Errorf("String(%q): got %q, still holding %q", m, got, c.secret)
			}
			if !strings.Contains(got, Mask) && strings.Contains(m, c.secret) {
				t.Errorf("String(%q): got %q, want %s in place of the password", m, got, Mask)
			}
		}
	}
}

func TestStringKeepsTheRest(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"postgres://u:pw@db.example.com:5432/app": "postgres://u:" + Mask + "@db.example.com:5432/app",
		"postgres://u@db.example.com/app":         "postgres://u@db.example.com/app",
		"listen tcp :8080: address in use":        "listen tcp :8080: address in use",
		"mail to alice@example.com sent":          "mail to alice@example.com sent",
		"http://localhost:8080/reset?token=abc":   "http://localhost:8080/reset?token=abc",
	}
	for in, want := range cases {
		if got := String(in); got != want {
			t.Errorf("String(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestKnownSecrets(t *testing.T) {
	t.Parallel()
	// A password with a space defeats the URL pattern; known by value it
	// is still removed, in each spelling a message may use.
	raw := "postgres://u:my s3cret\"pw@db/app"
	r := New(append(URLPassword(raw), "adminkey123", "ab")...)
	for _, m := range []string{raw, fmt.Sprintf("parse %q: bad", raw), "key adminkey123 refused"} {
		got := r.String(m)
		if strings.Contains(got, "s3cret") || strings.Contains(got, "adminkey123") {
			t.Errorf("String(%q): got %q, want the secrets gone", m, got)
		}
	}
	if got := r.String("about a cab"); got != "about a cab" {
		t.Errorf("short secret: got %q, want text left alone", got)
	}
	if got := URLPassword("postgres://u:p%40ss@h/db"); len(got) != 2 || got[0] != "p%40ss" || got[1] != "p@ss" {
		t.Errorf("URLPassword with an escape: got %q, want both spellings", got)
	}
	if got := URLPassword("postgres://u@h/db"); got != nil {
		t.Errorf("URLPassword without one: got %q, want nil", got)
	}
}

// malformed is a URL with a password that url.Parse rejects (bad port).
var malformed = strings.Join([]string{"postgres://u:s3cretpw@db", "x/app"}, ":")

func TestHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New("adminkey123")
	log := slog.New(r.Handler(slog.NewJSONHandler(&buf, nil)))
	_, perr := url.Parse(malformed)
	log.With("dsn", "postgres://u:s3cretpw@db/app").
		WithGroup("g").
		Error("connect postgres://u:s3cretpw@db/app failed", "err", perr, "url", &url.URL{Scheme: "smtp", User: url.UserPassword("u", "s3cretpw"), Host: "h"},
			"key", "adminkey123", "nested", slog.GroupValue(slog.String("dsn", "password=s3cretpw")), "raw", []byte("password=s3cretpw"))
	out := buf.String()
	if strings.Contains(out, "s3cretpw") || strings.Contains(out, "adminkey123") {
		t.Fatalf("log line: got %s, want no password", out)
	}
	if strings.Count(out, Mask) != 7 {
		t.Fatalf("log line: got %s, want 7 masks (message, dsn, err, url, key, nested, raw)", out)
	}
}

func TestErrorChainStaysRedacted(t *testing.T) {
	t.Parallel()
	_, perr := url.Parse(malformed)
	err := fmt.Errorf("open pool: %w", errors.Join(perr, errors.New("second")))
	if got := String(err.Error()); strings.Contains(got, "s3cretpw") || !strings.Contains(got, "second") {
		t.Fatalf("got %q, want the password gone and the rest kept", got)
	}
}

// FuzzString checks that the password of a URL inside any message is gone
// whatever the user, password and host hold, short of whitespace.
func FuzzString(f *testing.F) {
	f.Add("u", "s3cretpw", "db.example.com:5432/app", "parse %q: bad")
	f.Add("", "p@ss/w:rd", "[::1", "open %s")
	f.Add("user", "\"'`", "h", "%q")
	f.Fuzz(func(t *testing.T, user, pass, host, format string) {
		if strings.ContainsAny(user, " \t\n\r\v\f\u0085\u00a0/?#@:\"'`") || strings.ContainsAny(pass+host, " \t\n\r\v\f\u0085\u00a0") ||
			strings.Contains(host, "@") || pass == "" || strings.Count(format, "%") != 1 ||
			!(strings.Contains(format, "%s") || strings.Contains(format, "%q")) || strings.ContainsAny(format, "@") ||
			strings.Contains(format, "://") {
			return // outside the property
		}
		raw := "postgres://" + user + ":" + pass + "@" + host
		msg := fmt.Sprintf(format, raw)
		want := strings.Replace(msg, ":"+pass+"@", ":"+Mask+"@", 1)
		if strings.Contains(format, "%q") {
			q := fmt.Sprintf("%q", raw)
			q2 := fmt.Sprintf("%q", "postgres://"+user+":"+Mask+"@"+host)
			want = strings.Replace(msg, q, q2, 1)
		}
		if got := String(msg); got != want {
			t.Fatalf("String(%q): got %q, want %q", msg, got, want)
		}
	})
}

// TestHandlerManyAttributes: a secret is masked wherever it is among more
// attributes than a record keeps inline, in the message alone too; a
// record with nothing to mask comes out as it would without the redactor.
func TestHandlerManyAttributes(t *testing.T) {
	t.Parallel()
	noTime := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	attrs := func(last string) []any {
		var as []any
		for i := range 20 {
			as = append(as, fmt.Sprintf("k%d", i), i, fmt.Sprintf("s%d", i), "plain")
		}
		return append(as, "last", last, "at", time.Unix(0, 0).UTC(), "took", time.Second)
	}
	var redacted, plain bytes.Buffer
	r := New("adminkey123")
	slog.New(r.Handler(slog.NewJSONHandler(&redacted, noTime))).Info("request", attrs("ok")...)
	slog.New(slog.NewJSONHandler(&plain, noTime)).Info("request", attrs("ok")...)
	if redacted.String() != plain.String() {
		t.Fatalf("a line with nothing to mask: got\n%s\nwant\n%s", redacted.String(), plain.String())
	}
	redacted.Reset()
	slog.New(r.Handler(slog.NewJSONHandler(&redacted, noTime))).Info("request", attrs("postgres://u:s3cretpw@db/app adminkey123")...)
	slog.New(r.Handler(slog.NewJSONHandler(&redacted, noTime))).Info("key adminkey123", attrs("ok")...)
	out := redacted.String()
	if strings.Contains(out, "s3cretpw") || strings.Contains(out, "adminkey123") {
		t.Fatalf("log lines: got %s, want no secret", out)
	}
	if got := strings.Count(out, Mask); got != 3 {
		t.Fatalf("log lines: got %d masks in %s, want 3", got, out)
	}
	if got := strings.Count(out, `"k19":19`); got != 2 {
		t.Fatalf("log lines: got %d of 2 with every attribute, in %s", got, out)
	}
}
