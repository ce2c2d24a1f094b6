// Package redact keeps credentials out of messages and log lines: the
// password of any URL (parsable or not), password=… parameters of
// connection strings and query strings, and secrets known by value.
package redact

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Mask replaces every redacted part.
const Mask = "xxxxx"

// minSecret is the length under which a secret known by value is not
// replaced everywhere it appears: a two-letter password would turn every
// log line into noise. The patterns below still catch it inside a URL.
const minSecret = 4

var (
	// userinfo matches scheme://user:password@ up to the last @ before
	// whitespace, so a password holding @, /, : or quotes is covered
	// whole, and text that is not a valid URL is covered too.
	userinfo = regexp.MustCompile("(?i)([a-z][a-z0-9+.\\-]*://[^\\s/?#@:\"'`]*):[^\\s]*@")
	// param matches password=… in key=value connection strings and query
	// strings (password, sslpassword, …): a quoted value or one up to the
	// next space, & or quote.
	param = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&"'` + "`" + `]*)`)
)

// Redactor removes credentials from text. The zero Redactor removes URL
// passwords and password parameters; New adds secrets known by value.
type Redactor struct {
	secrets []string
}

// New returns a Redactor that also replaces each of secrets (the
// passwords of configured URLs, API keys) wherever it appears, in the
// forms a message may quote it in. Empty and very short secrets are left
// to the patterns.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		quoted := strconv.Quote(s)
		for _, form := range []string{s, quoted[1 : len(quoted)-1], url.QueryEscape(s), url.PathEscape(s)} {
			if !seen[form] {
				seen[form] = true
				r.secrets = append(r.secrets, form)
			}
		}
	}
	return r
}

// String returns s with every credential replaced by Mask.
func (r *Redactor) String(s string) string {
	if r != nil {
		for _, secret := range r.secrets {
			s = strings.ReplaceAll(s, secret, Mask)
		}
	}
	// Each pattern needs a character most log values lack: skipping the
	// regexp then keeps a log line cheap (the request log writes one per
	// request).
	if strings.IndexByte(s, '@') >= 0 {
		s = userinfo.ReplaceAllString(s, "${1}:"+Mask+"@")
	}
	if strings.IndexByte(s, '=') >= 0 {
		s = param.ReplaceAllString(s, "${1}"+Mask)
	}
	return s
}

// String returns s with URL passwords and password parameters replaced.
func String(s string) string { return (*Redactor)(nil).String(s) }

// URLPassword returns the password of rawURL's userinfo as written and,
// when it holds %-escapes, unescaped too. It reads rawURL as text, so a URL
// that does not parse still yields it; nil when there is none.
func URLPassword(rawURL string) []string {
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return nil
	}
	_, pw, ok := strings.Cut(rest[:at], ":")
	if !ok || pw == "" {
		return nil
	}
	if u, err := url.PathUnescape(pw); err == nil && u != pw {
		return []string{pw, u}
	}
	return []string{pw}
}

// Handler wraps h so that the message and every string, error and
// Stringer attribute of a record pass through r before h sees them.
func (r *Redactor) Handler(h slog.Handler) slog.Handler { return &handler{r: r, next: h} }

type handler struct {
	r    *Redactor
	next slog.Handler
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle passes rec on as it is when redaction changes nothing in it (a
// request log line, most often), else a copy with every part redacted.
func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	msg := h.r.String(rec.Message)
	changed := msg != rec.Message
	var buf [16]slog.Attr // the attributes of most records, without an allocation
	clean := buf[:0]
	rec.Attrs(func(a slog.Attr) bool {
		c, ok := h.clean(a)
		changed = changed || !ok
		clean = append(clean, c)
		return true
	})
	if !changed {
		return h.next.Handle(ctx, rec)
	}
	out := slog.NewRecord(rec.Time, rec.Level, msg, rec.PC)
	out.AddAttrs(clean...)
	return h.next.Handle(ctx, out)
}

// clean returns a redacted, and whether it is a unchanged: a string that
// holds no credential, or a number, bool, time or duration.
func (h *handler) clean(a slog.Attr) (slog.Attr, bool) {
	switch a.Value.Kind() {
	case slog.KindString:
		s := a.Value.String()
		if c := h.r.String(s); c != s {
			return slog.String(a.Key, c), false
		}
		return a, true
	case slog.KindGroup, slog.KindAny, slog.KindLogValuer:
		return h.attr(a), false
	}
	return a, true
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.attr(a)
	}
	return &handler{r: h.r, next: h.next.WithAttrs(clean)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{r: h.r, next: h.next.WithGroup(name)}
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = h.attr(ga)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, h.r.String(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, h.r.String(x.String()))
		case []byte:
			return slog.String(a.Key, h.r.String(string(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
