// Package mail delivers userd's mail over SMTP (net/smtp): STARTTLS
// whenever the server offers it, AUTH PLAIN when credentials are given.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// Message is one mail to send: a plain-text body. Its JSON form is how the
// outbox keeps it until it is sent.
type Message struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// ErrConfig is wrapped by NewSMTP for an unusable URL or From address.
var ErrConfig = errors.New("invalid mail configuration")

// ErrMessage is wrapped by Send for a mail that cannot be sent as it is
// (a bad recipient, a line break in the subject).
var ErrMessage = errors.New("invalid mail")

// defaultPort is the submission port, used when the URL names none.
const defaultPort = "587"

// SMTP sends mail through one SMTP server. It implements service.Mailer
// and is safe for concurrent use (one connection per mail).
type SMTP struct {
	addr     string // host:port
	host     string
	user     string
	password string
	from     *netmail.Address

	// Timeout bounds one delivery, connection included: 30 s.
	Timeout time.Duration
	// TLSConfig is used for STARTTLS; nil verifies the server's
	// certificate for its host name against the system roots.
	TLSConfig *tls.Config
}

// NewSMTP returns a sender for rawURL, smtp://[user[:password]@]host[:port]
// (port 587 when absent), with from ("Name <address>" or a bare address)
// as the sender. The password is used only over TLS (or to localhost):
// net/smtp refuses PLAIN authentication in the clear.
// It returns an error wrapping ErrConfig.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: USERD_SMTP_URL: %w", ErrConfig, err)
	}
	if u.Scheme != "smtp" {
		return nil, fmt.Errorf("%w: USERD_SMTP_URL: scheme %q, want smtp", ErrConfig, u.Scheme)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, fmt.Errorf("%w: USERD_SMTP_URL: no host", ErrConfig)
	}
	if port == "" {
		port = defaultPort
	}
	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("%w: USERD_MAIL_FROM %q: %w", ErrConfig, from, err)
	}
	s := &SMTP{addr: net.JoinHostPort(host, port), host: host, from: addr, Timeout: 30 * time.Second}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	return s, nil
}

// Send delivers m. It returns an error wrapping ErrMessage for a mail that
// cannot be sent as it is, and the network or SMTP error otherwise (the
// outbox retries those).
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("%w: recipient %q: %w", ErrMessage, m.To, err)
	}
	msg, err := s.message(to, m, time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("smtp dial: %w", err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if err := s.deliver(c, to.Address, msg); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}

func (s *SMTP) deliver(c *smtp.Client, to string, msg []byte) error {
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := s.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.user != "" {
		if err := c.Auth(smtp.PlainAuth("", s.user, s.password, s.host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// message renders m as a MIME text/plain message in UTF-8,
// quoted-printable, with CRLF line ends.
func (s *SMTP) message(to *netmail.Address, m Message, now time.Time) ([]byte, error) {
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, fmt.Errorf("%w: line break in the subject", ErrMessage)
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	var b bytes.Buffer
	for _, h := range [][2]string{
		{"From", s.from.String()},
		{"To", to.String()},
		{"Subject", mime.QEncoding.Encode("utf-8", m.Subject)},
		{"Date", now.Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(id[:]) + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
	} {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(m.Text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
