package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"mime"
	"net"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/userd/userd/mail"
	"github.com/userd/userd/mail/smtptest"
)

func newSender(t *testing.T, url string) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(url, "Userd Team <no-reply@userd.test>")
	if err != nil {
		t.Fatalf("NewSMTP(%q): %v", url, err)
	}
	return s
}

func TestMailSendPlain(t *testing.T) {
	t.Parallel()
	srv := smtptest.NewServer(t)
	s := newSender(t, "smtp://"+srv.Addr)
	text := "Hello,\n\n.this line starts with a dot\n.\nand a very long line " + strings.Repeat("é", 100) + "\nbye\n"
	m := mail.Message{To: "Ann <ann@example.com>", Subject: "Réinitialiser ✓", Text: text}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.From != "no-reply@userd.test" || len(got.To) != 1 || got.To[0] != "ann@example.com" {
		t.Errorf("envelope: got from %q to %v, want no-reply@userd.test to [ann@example.com]", got.From, got.To)
	}
	if got.TLS || got.User != "" {
		t.Errorf("got TLS %v user %q, want neither", got.TLS, got.User)
	}
	h, body, err := got.Text()
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || subject != m.Subject {
		t.Errorf("subject: got %q (%v), want %q", subject, err, m.Subject)
	}
	if !strings.Contains(h.Get("From"), "no-reply@userd.test") || h.Get("To") != `"Ann" <ann@example.com>` {
		t.Errorf("headers: got From %q To %q", h.Get("From"), h.Get("To"))
	}
	if h.Get("Message-Id") == "" || h.Get("Date") == "" {
		t.Errorf("got no Message-ID or Date header: %v", h)
	}
	if got := strings.ReplaceAll(body, "\r\n", "\n"); got != text {
		t.Errorf("body: got %q, want %q", got, text)
	}
}

func TestMailSendSTARTTLSAndAuth(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	srv := smtptest.NewServer(t, smtptest.WithSTARTTLS(&tls.Config{Certificates: []tls.Certificate{cert}}),
		smtptest.WithAuth("mailer", "s3cret"))

	s := newSender(t, "smtp://mailer:s3cret@"+srv.Addr)
	s.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if err := s.Send(context.Background(), mail.Message{To: "bob@example.com", Subject: "hi", Text: "x"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].User != "mailer" {
		t.Fatalf("got %+v, want one message sent over TLS by mailer", msgs)
	}

	// The system roots do not know this certificate: no delivery.
	strict := newSender(t, "smtp://mailer:s3cret@"+srv.Addr)
	if err := strict.Send(context.Background(), mail.Message{To: "bob@example.com", Subject: "hi", Text: "x"}); err == nil {
		t.Fatal("Send to an unverifiable server: got nil error, want a certificate error")
	}

	wrong := newSender(t, "smtp://mailer:nope@"+srv.Addr)
	wrong.TLSConfig = s.TLSConfig
	if err := wrong.Send(context.Background(), mail.Message{To: "bob@example.com", Subject: "hi", Text: "x"}); err == nil {
		t.Fatal("Send with a wrong password: got nil error, want one")
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("got %d messages after refused sends, want 1", n)
	}
}

func TestMailRejectsBadMessages(t *testing.T) {
	t.Parallel()
	srv := smtptest.NewServer(t)
	s := newSender(t, "smtp://"+srv.Addr)
	for name, m := range map[string]mail.Message{
		"header injection in subject": {To: "a@example.com", Subject: "hi\r\nBcc: evil@example.com", Text: "x"},
		"header injection in to":      {To: "a@example.com\r\nBcc: evil@example.com", Subject: "hi", Text: "x"},
		"not an address":              {To: "nobody", Subject: "hi", Text: "x"},
	} {
		if err := s.Send(context.Background(), m); !errors.Is(err, mail.ErrMessage) {
			t.Errorf("%s: got %v, want ErrMessage", name, err)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("got %d messages, want 0", n)
	}
}

func TestMailSendUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := newSender(t, "smtp://"+addr)
	s.Timeout = 2 * time.Second
	if err := s.Send(context.Background(), mail.Message{To: "a@example.com", Subject: "hi", Text: "x"}); err == nil {
		t.Fatal("Send to a closed port: got nil error, want one")
	}
}

func TestMailConfigErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ url, from string }{
		{"http://mail.example.com", "a@example.com"},
		{"smtps://mail.example.com?tls=required", "a@example.com"},
		{"smtp://mail.example.com?tls=optional", "a@example.com"},
		{"smtp://mail.example.com?tls=required&tls=required", "a@example.com"},
		{"smtp://mail.example.com?timeout=5s", "a@example.com"},
		{"smtp://mail.example.com:0", "a@example.com"},
		{"smtp://", "a@example.com"},
		{"smtp://mail.example.com:25", "not an address"},
		{"::", "a@example.com"},
	} {
		if _, err := mail.NewSMTP(c.url, c.from); !errors.Is(err, mail.ErrConfig) {
			t.Errorf("NewSMTP(%q, %q): got %v, want ErrConfig", c.url, c.from, err)
		}
	}
	for _, good := range []string{"smtp://u:p@mail.example.com", "smtp://mail.example.com:25?tls=required", "smtps://u:p@mail.example.com"} {
		if _, err := mail.NewSMTP(good, "userd <no-reply@example.com>"); err != nil {
			t.Errorf("NewSMTP(%q): got %v, want nil", good, err)
		}
	}
}

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "smtptest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestMailSMTPS: smtps:// speaks TLS from the first byte, verifies the
// certificate, and authenticates inside TLS.
func TestMailSMTPS(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	srv := smtptest.NewServer(t, smtptest.WithImplicitTLS(&tls.Config{Certificates: []tls.Certificate{cert}}),
		smtptest.WithAuth("mailer", "s3cret"))

	s := newSender(t, "smtps://mailer:s3cret@"+srv.Addr)
	s.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if err := s.Send(context.Background(), mail.Message{To: "bob@example.com", Subject: "hi", Text: "x"}); err != nil {
		t.Fatalf("Send over smtps: %v", err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || !msgs[0].TLS || msgs[0].User != "mailer" {
		t.Fatalf("got %+v, want one message sent over TLS by mailer", msgs)
	}

	// The system roots do not know this certificate: no delivery.
	strict := newSender(t, "smtps://mailer:s3cret@"+srv.Addr)
	strict.Timeout = 5 * time.Second
	if err := strict.Send(context.Background(), mail.Message{To: "bob@example.com", Subject: "hi", Text: "x"}); err == nil {
		t.Fatal("smtps to an unverifiable server: got nil error, want a certificate error")
	}
	// smtp:// to a server that speaks TLS from the start gets no greeting.
	plain := newSender(t, "smtp://"+srv.Addr)
	plain.ConnectTimeout = time.Second
	if err := plain.Send(context.Background(), mail.Message{To: "bob@example.com", Subject: "hi", Text: "x"}); err == nil {
		t.Fatal("smtp:// to an smtps server: got nil error, want one")
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("got %d messages after refused sends, want 1", n)
	}
}

// TestMailTLSRequired: ?tls=required refuses a server that does not offer
// STARTTLS, and sends over STARTTLS to one that does.
func TestMailTLSRequired(t *testing.T) {
	t.Parallel()
	bare := smtptest.NewServer(t)
	s := newSender(t, "smtp://"+bare.Addr+"?tls=required")
	err := s.Send(context.Background(), mail.Message{To: "bob@example.com", Subject: "hi", Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("tls=required to a server without STARTTLS: got %v, want a STARTTLS refusal", err)
	}
	if n := len(bare.Messages()); n != 0 {
		t.Fatalf("got %d messages in the clear, want 0", n)
	}

	cert, pool := selfSigned(t)
	secure := smtptest.NewServer(t, smtptest.WithSTARTTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
	s = newSender(t, "smtp://"+secure.Addr+"?tls=required")
	s.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if err := s.Send(context.Background(), mail.Message{To: "bob@example.com", Subject: "hi", Text: "x"}); err != nil {
		t.Fatalf("tls=required with STARTTLS offered: %v", err)
	}
	if msgs := secure.Messages(); len(msgs) != 1 || !msgs[0].TLS {
		t.Fatalf("got %+v, want one message over TLS", msgs)
	}
}

// TestMailNoAuthInTheClear: without TLS the password goes to a loopback
// server named as such, and to no other.
func TestMailNoAuthInTheClear(t *testing.T) {
	t.Parallel()
	srv := smtptest.NewServer(t, smtptest.WithAuth("mailer", "s3cret"))
	_, port, _ := net.SplitHostPort(srv.Addr)
	local := newSender(t, "smtp://mailer:s3cret@127.0.0.1:"+port)
	if err := local.Send(context.Background(), mail.Message{To: "bob@example.com", Subject: "hi", Text: "x"}); err != nil {
		t.Fatalf("AUTH to 127.0.0.1 without TLS: %v", err)
	}
	// The same server, named by an address that is not spelt as loopback:
	// the client cannot tell it is, so the password stays unsent.
	remote := newSender(t, "smtp://mailer:s3cret@[::ffff:127.0.0.1]:"+port)
	err := remote.Send(context.Background(), mail.Message{To: "bob@example.com", Subject: "hi", Text: "x"})
	if !errors.Is(err, gosmtp.ErrUnencrypted) {
		t.Fatalf("AUTH without TLS to a host not named loopback: got %v, want the unencrypted-connection refusal", err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
}

// TestMailTimeouts: a server that accepts and says nothing is given up on
// after ConnectTimeout, or after Timeout when that is shorter.
func TestMailTimeouts(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // silent: no greeting
		}
	}()
	for name, set := range map[string]func(*mail.SMTP){
		"connect": func(s *mail.SMTP) { s.ConnectTimeout = 300 * time.Millisecond },
		"send":    func(s *mail.SMTP) { s.Timeout = 300 * time.Millisecond },
	} {
		s := newSender(t, "smtp://"+ln.Addr().String())
		set(s)
		start := time.Now()
		err := s.Send(context.Background(), mail.Message{To: "a@example.com", Subject: "hi", Text: "x"})
		if took := time.Since(start); err == nil || took > 3*time.Second {
			t.Errorf("%s timeout: got %v after %v, want an error within 3 s", name, err, took)
		}
	}
}

// TestMailCheck: the start-up check goes as far as a delivery before its
// first mail and says whether the server could not be reached (retry
// later) or refused the configuration (fix it).
func TestMailCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cert, pool := selfSigned(t)
	tlsCfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	secure := smtptest.NewServer(t, smtptest.WithSTARTTLS(&tls.Config{Certificates: []tls.Certificate{cert}}),
		smtptest.WithAuth("mailer", "s3cret"))
	bare := smtptest.NewServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	// A server that accepts and never greets.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()

	for _, c := range []struct {
		name, url string
		trust     bool
		want      error
	}{
		{"STARTTLS and AUTH", "smtp://mailer:s3cret@" + secure.Addr + "?tls=required", true, nil},
		{"no TLS, no AUTH", "smtp://" + bare.Addr, false, nil},
		{"a wrong password", "smtp://mailer:nope@" + secure.Addr, true, mail.ErrRejected},
		{"an unknown user", "smtp://someone:s3cret@" + secure.Addr, true, mail.ErrRejected},
		{"a certificate that does not verify", "smtp://mailer:s3cret@" + secure.Addr, false, mail.ErrRejected},
		{"tls=required, no STARTTLS offered", "smtp://" + bare.Addr + "?tls=required", false, mail.ErrRejected},
		{"a user, no AUTH offered", "smtp://mailer:s3cret@" + bare.Addr, false, mail.ErrRejected},
		{"a closed port", "smtp://" + closed, false, mail.ErrUnreachable},
		{"no greeting", "smtp://" + silent.Addr().String(), false, mail.ErrUnreachable},
	} {
		s := newSender(t, c.url)
		s.ConnectTimeout, s.Timeout = time.Second, 2*time.Second
		if c.trust {
			s.TLSConfig = tlsCfg
		}
		err := s.Check(ctx)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("Check, %s: got %v, want %v", c.name, err, c.want)
		}
		if err != nil && (strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "nope")) {
			t.Errorf("Check, %s: the error %q shows the password", c.name, err)
		}
	}
	if n := len(secure.Messages()) + len(bare.Messages()); n != 0 {
		t.Fatalf("Check sent %d messages, want none", n)
	}
}
