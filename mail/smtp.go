// Package mail renders userd's mail from templates (templates.go) and
// delivers it over SMTP with go-mail: smtp:// upgrades with STARTTLS
// whenever the server offers it (?tls=required: or refuses to send),
// smtps:// speaks TLS from the start; certificates are verified, and AUTH
// PLAIN is never sent in the clear except to a loopback server.
package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one mail to send: a plain-text body and, when HTML is set,
// an HTML alternative. Its JSON form is how the outbox keeps it until it
// is sent.
type Message struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
}

// ErrConfig is wrapped by NewSMTP for an unusable URL or From address.
var ErrConfig = errors.New("invalid mail configuration")

// ErrMessage is wrapped by Send for a mail that cannot be sent as it is
// (a bad recipient, a line break in the subject).
var ErrMessage = errors.New("invalid mail")

// ErrUnreachable is wrapped by Check when the server could not be reached
// or stopped answering: nothing was said about the configuration, and the
// outbox will retry.
var ErrUnreachable = errors.New("smtp server unreachable")

// ErrRejected is wrapped by Check when the server answered and refused
// the configuration: the credentials, TLS (a certificate that does not
// verify, no STARTTLS with ?tls=required) or AUTH itself.
var ErrRejected = errors.New("smtp server refused the configuration")

// SMTP sends mail through one SMTP server. It implements service.Mailer
// and is safe for concurrent use (one connection per mail).
type SMTP struct {
	host     string
	port     int
	implicit bool // smtps://: TLS from the start
	required bool // ?tls=required: no STARTTLS, no mail
	user     string
	password string
	from     *netmail.Address

	// ConnectTimeout bounds connecting (TCP, TLS, greeting) and then each
	// step of the conversation: 10 s.
	ConnectTimeout time.Duration
	// Timeout bounds one whole delivery, connection included: 30 s.
	Timeout time.Duration
	// TLSConfig is used for STARTTLS and smtps; nil verifies the server's
	// certificate for its host name against the system roots.
	TLSConfig *tls.Config
}

// NewSMTP returns a sender for rawURL with from ("Name <address>" or a
// bare address) as the sender. rawURL is one of
//
//	smtp://[user[:password]@]host[:port][?tls=required]   port 587 when absent
//	smtps://[user[:password]@]host[:port]                 port 465 when absent
//
// The password is sent only over TLS, or to a loopback server.
// It returns an error wrapping ErrConfig.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: USERD_SMTP_URL: %w", ErrConfig, err)
	}
	s := &SMTP{ConnectTimeout: 10 * time.Second, Timeout: 30 * time.Second}
	port := gomail.DefaultPortTLS
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.implicit, port = true, gomail.DefaultPortSSL
	default:
		return nil, fmt.Errorf("%w: USERD_SMTP_URL: scheme %q, want smtp or smtps", ErrConfig, u.Scheme)
	}
	if s.host = u.Hostname(); s.host == "" {
		return nil, fmt.Errorf("%w: USERD_SMTP_URL: no host", ErrConfig)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("%w: USERD_SMTP_URL: port %q", ErrConfig, p)
		}
	}
	s.port = port
	for k, v := range u.Query() {
		switch {
		case k == "tls" && len(v) == 1 && v[0] == "required" && !s.implicit:
			s.required = true
		case k == "tls":
			return nil, fmt.Errorf("%w: USERD_SMTP_URL: tls=%s, want tls=required (with smtp://; smtps:// is TLS already)", ErrConfig, strings.Join(v, ","))
		default:
			return nil, fmt.Errorf("%w: USERD_SMTP_URL: unknown parameter %q (want tls=required)", ErrConfig, k)
		}
	}
	if s.from, err = netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("%w: USERD_MAIL_FROM %q: %w", ErrConfig, from, err)
	}
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
	msg, err := s.message(m, time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	c, err := s.client(ctx)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return fmt.Errorf("smtp %s: %w", net.JoinHostPort(s.host, strconv.Itoa(s.port)), err)
	}
	return nil
}

// Check does what a delivery does before its first mail: connect, EHLO,
// STARTTLS (when offered, or required) or TLS, and AUTH when a user is
// configured; then QUIT. It returns nil, an error wrapping ErrUnreachable
// (no connection, no answer in time) or one wrapping ErrRejected.
func (s *SMTP) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	c, err := s.client(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	addr := net.JoinHostPort(s.host, strconv.Itoa(s.port))
	if err := c.DialWithContext(ctx); err != nil {
		if unreachable(ctx, err) {
			return fmt.Errorf("%w: %s: %w", ErrUnreachable, addr, err)
		}
		return fmt.Errorf("%w: %s: %w", ErrRejected, addr, err)
	}
	_ = c.Close() // QUIT: the check is done whatever it answers
	return nil
}

// unreachable tells a failure to reach the server or to hear from it
// (refused, reset, timed out, no such host, closed mid-conversation) from
// an answer refusing what was asked.
func unreachable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var opErr *net.OpError
	var dnsErr *net.DNSError
	var netErr net.Error
	return errors.As(err, &opErr) || errors.As(err, &dnsErr) || (errors.As(err, &netErr) && netErr.Timeout())
}

// client returns a go-mail client for one delivery within ctx: its
// connection is closed when ctx ends, whatever step it is at.
func (s *SMTP) client(ctx context.Context) (*gomail.Client, error) {
	cfg := s.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	}
	// go-mail joins host and port without brackets, wrong for IPv6: the
	// address is ours.
	addr := net.JoinHostPort(s.host, strconv.Itoa(s.port))
	dial := func(dctx context.Context, network, _ string) (net.Conn, error) {
		d := &net.Dialer{}
		var conn net.Conn
		var err error
		if s.implicit {
			conn, err = (&tls.Dialer{NetDialer: d, Config: cfg}).DialContext(dctx, network, addr)
		} else {
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { conn.Close() })
		return conn, nil
	}
	policy := gomail.TLSOpportunistic
	if s.required {
		policy = gomail.TLSMandatory
	}
	opts := []gomail.Option{
		gomail.WithPort(s.port), gomail.WithTimeout(s.ConnectTimeout), gomail.WithTLSConfig(cfg),
		gomail.WithDialContextFunc(dial), gomail.WithTLSPolicy(policy),
	}
	if s.implicit {
		// The dialer speaks TLS; go-mail must not try STARTTLS on top.
		opts = append(opts, gomail.WithSSL())
	}
	if s.user != "" {
		// PLAIN refuses to go in the clear except to a loopback host.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(s.user), gomail.WithPassword(s.password))
	}
	return gomail.NewClient(s.host, opts...)
}

// message builds m as a MIME message in UTF-8, quoted-printable: text
// alone, or multipart/alternative with the HTML part after the text one.
func (s *SMTP) message(m Message, now time.Time) (*gomail.Msg, error) {
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, fmt.Errorf("%w: line break in the subject", ErrMessage)
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("%w: recipient %q: %w", ErrMessage, m.To, err)
	}
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	var id [12]byte
	_, _ = rand.Read(id[:])
	msg.SetMessageIDWithValue(hex.EncodeToString(id[:]) + "@" + s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:])
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
