// Package smtptest is a small SMTP server for tests: it speaks enough of
// RFC 5321 for an SMTP client (EHLO, STARTTLS or TLS from the start, AUTH
// PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and keeps every message it
// accepts.
package smtptest

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
)

// Message is one accepted mail.
type Message struct {
	From string   // MAIL FROM address
	To   []string // RCPT TO addresses
	Data string   // the message as sent, dot-unstuffed, CRLF line ends
	User string   // the authenticated user, "" without AUTH
	TLS  bool     // sent over TLS (STARTTLS or implicit)
}

// Text returns the message's header and its text: the body, or the
// text/plain part of a multipart/alternative body, decoded.
func (m Message) Text() (netmail.Header, string, error) {
	h, parts, err := m.Parts()
	if err != nil {
		return nil, "", err
	}
	text, ok := parts["text/plain"]
	if !ok {
		return nil, "", fmt.Errorf("smtptest: no text/plain part in %v", parts)
	}
	return h, text, nil
}

// Parts returns the message's header and its decoded parts by media type:
// the body alone for a single-part message, each part of a
// multipart/alternative one. The body is decoded from quoted-printable or
// base64 when so encoded.
func (m Message) Parts() (netmail.Header, map[string]string, error) {
	msg, err := netmail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		return nil, nil, err
	}
	media, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return nil, nil, fmt.Errorf("smtptest: Content-Type: %w", err)
	}
	parts := map[string]string{}
	if !strings.HasPrefix(media, "multipart/") {
		body, err := decode(msg.Body, msg.Header.Get("Content-Transfer-Encoding"))
		parts[media] = body
		return msg.Header, parts, err
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return msg.Header, parts, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("smtptest: %s: %w", media, err)
		}
		pm, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			return nil, nil, fmt.Errorf("smtptest: part Content-Type: %w", err)
		}
		if parts[pm], err = decode(p, p.Header.Get("Content-Transfer-Encoding")); err != nil {
			return nil, nil, err
		}
	}
}

// decode reads r in the transfer encoding cte.
func decode(r io.Reader, cte string) (string, error) {
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

// Server is a listening SMTP server.
type Server struct {
	Addr string // host:port

	tls      *tls.Config // non-nil: offer STARTTLS (or, implicit, speak TLS from the start)
	implicit bool        // TLS from the first byte (smtps), no STARTTLS
	user     string      // non-empty: offer AUTH PLAIN and require it
	password string

	ln   net.Listener
	mu   sync.Mutex
	msgs []Message
	wg   sync.WaitGroup
}

// Option configures a Server before it accepts its first connection.
type Option func(*Server)

// WithSTARTTLS offers STARTTLS with cfg.
func WithSTARTTLS(cfg *tls.Config) Option {
	return func(s *Server) { s.tls, s.implicit = cfg, false }
}

// WithImplicitTLS speaks TLS with cfg from the first byte, as on port 465.
func WithImplicitTLS(cfg *tls.Config) Option {
	return func(s *Server) { s.tls, s.implicit = cfg, true }
}

// WithAuth offers AUTH PLAIN and requires it, with these credentials.
func WithAuth(user, password string) Option {
	return func(s *Server) { s.user, s.password = user, password }
}

// WithAddr listens on addr (host:port) instead of a free port of
// 127.0.0.1, as a server that comes up where a client already looks.
func WithAddr(addr string) Option {
	return func(s *Server) { s.Addr = addr }
}

// NewServer starts a server on 127.0.0.1 that stops when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{Addr: "127.0.0.1:0"}
	for _, o := range opts {
		o(s)
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.Addr, s.ln = ln.Addr().String(), ln
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.serve(c)
		}()
	}
}

// session is the state of one connection.
type session struct {
	conn   net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	tls    bool
	user   string
	from   string
	to     []string
	hasMsg bool // MAIL given
}

func (ss *session) reply(line string) bool {
	ss.w.WriteString(line + "\r\n")
	return ss.w.Flush() == nil
}

func (ss *session) readLine() (string, bool) {
	l, err := ss.r.ReadString('\n')
	if err != nil {
		return "", false
	}
	return strings.TrimRight(l, "\r\n"), true
}

func (s *Server) serve(c net.Conn) {
	implicit := s.tls != nil && s.implicit
	if implicit {
		tc := tls.Server(c, s.tls)
		if tc.Handshake() != nil {
			return
		}
		c = tc
	}
	ss := &session{conn: c, r: bufio.NewReader(c), w: bufio.NewWriter(c), tls: implicit}
	if !ss.reply("220 smtptest ready") {
		return
	}
	for {
		line, ok := ss.readLine()
		if !ok {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		if !s.command(ss, strings.ToUpper(verb), arg) {
			return
		}
	}
}

// command handles one command; false ends the connection.
func (s *Server) command(ss *session, verb, arg string) bool {
	switch verb {
	case "EHLO", "HELO":
		ss.from, ss.to, ss.hasMsg = "", nil, false
		lines := []string{"smtptest"}
		if s.tls != nil && !ss.tls {
			lines = append(lines, "STARTTLS")
		}
		if s.user != "" {
			lines = append(lines, "AUTH PLAIN")
		}
		for i, l := range lines {
			sep := "-"
			if i == len(lines)-1 {
				sep = " "
			}
			if !ss.reply("250" + sep + l) {
				return false
			}
		}
		return true
	case "STARTTLS":
		if s.tls == nil || ss.tls {
			return ss.reply("502 not offered")
		}
		if !ss.reply("220 go ahead") {
			return false
		}
		tc := tls.Server(ss.conn, s.tls)
		if tc.Handshake() != nil {
			return false
		}
		ss.conn, ss.r, ss.w, ss.tls = tc, bufio.NewReader(tc), bufio.NewWriter(tc), true
		return true
	case "AUTH":
		mech, resp, _ := strings.Cut(arg, " ")
		if s.user == "" || !strings.EqualFold(mech, "PLAIN") {
			return ss.reply("504 unsupported")
		}
		if resp == "" {
			if !ss.reply("334 ") {
				return false
			}
			var ok bool
			if resp, ok = ss.readLine(); !ok {
				return false
			}
		}
		b, err := base64.StdEncoding.DecodeString(resp)
		parts := strings.Split(string(b), "\x00")
		if err != nil || len(parts) != 3 || parts[1] != s.user || parts[2] != s.password {
			return ss.reply("535 authentication failed")
		}
		ss.user = parts[1]
		return ss.reply("235 authenticated")
	case "MAIL":
		if s.user != "" && ss.user == "" {
			return ss.reply("530 authentication required")
		}
		ss.from, ss.to, ss.hasMsg = addrArg(arg, "FROM:"), nil, true
		return ss.reply("250 ok")
	case "RCPT":
		if !ss.hasMsg {
			return ss.reply("503 MAIL first")
		}
		ss.to = append(ss.to, addrArg(arg, "TO:"))
		return ss.reply("250 ok")
	case "DATA":
		if !ss.hasMsg || len(ss.to) == 0 {
			return ss.reply("503 MAIL and RCPT first")
		}
		if !ss.reply("354 end with <CRLF>.<CRLF>") {
			return false
		}
		var data strings.Builder
		for {
			l, ok := ss.readLine()
			if !ok {
				return false
			}
			if l == "." {
				break
			}
			data.WriteString(strings.TrimPrefix(l, ".") + "\r\n")
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, Message{From: ss.from, To: ss.to, Data: data.String(), User: ss.user, TLS: ss.tls})
		s.mu.Unlock()
		ss.from, ss.to, ss.hasMsg = "", nil, false
		return ss.reply("250 queued")
	case "RSET":
		ss.from, ss.to, ss.hasMsg = "", nil, false
		return ss.reply("250 ok")
	case "NOOP":
		return ss.reply("250 ok")
	case "QUIT":
		ss.reply("221 bye")
		return false
	}
	return ss.reply("502 unknown command")
}

// addrArg reads the address of "FROM:<a@b> PARAMS".
func addrArg(arg, prefix string) string {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return ""
	}
	a := strings.TrimSpace(arg[len(prefix):])
	if i := strings.IndexByte(a, ' '); i >= 0 {
		a = a[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
}
