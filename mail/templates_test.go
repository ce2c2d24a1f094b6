package mail_test

import (
	"context"
	"errors"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/userd/userd/mail"
	"github.com/userd/userd/mail/smtptest"
)

// TestRenderedMailThroughSMTP renders every kind of mail, sends it through
// the SMTP test server and reads what arrived: multipart/alternative with
// a text and an HTML part, both carrying the link, and the subject the
// template gives.
func TestRenderedMailThroughSMTP(t *testing.T) {
	t.Parallel()
	srv := smtptest.NewServer(t)
	s := newSender(t, "smtp://"+srv.Addr)
	tmpl := mail.DefaultTemplates()
	link := "https://id.example.com/verify-email?token=abc_DEF-123"
	cases := []struct {
		kind    mail.Kind
		data    mail.Data
		subject string
		want    []string // in both parts
	}{
		{mail.Verify, mail.Data{Link: link, Expires: "24 hours"}, "Confirm your email address", []string{link, "24 hours"}},
		{mail.EmailChange, mail.Data{Link: link, Expires: "24 hours"}, "Confirm your new email address", []string{link}},
		{mail.PasswordReset, mail.Data{Link: link, Expires: "1 hour"}, "Reset your password", []string{link, "1 hour"}},
		{mail.Invitation, mail.Data{Link: link, Expires: "7 days", Org: "Acme <Labs> & Co"}, "You are invited to Acme <Labs> & Co", []string{link}},
		{mail.EmailChangeNotice, mail.Data{Email: "old@example.com", NewEmail: "new@example.com"}, "Your email address is being changed",
			[]string{"old@example.com", "new@example.com"}},
		{mail.EmailChangeNotice, mail.Data{Email: "old@example.com"}, "Your email address is being changed",
			[]string{"old@example.com", "removed from your account"}},
		{mail.PasswordChanged, mail.Data{Email: "ann@example.com", How: "change"}, "Your password was changed", []string{"ann@example.com", "other session"}},
		{mail.PasswordChanged, mail.Data{Email: "ann@example.com", How: "reset"}, "Your password was changed", []string{"ann@example.com", "reset with a link"}},
	}
	for i, c := range cases {
		m, err := tmpl.Render(c.kind, "ann@example.com", c.data)
		if err != nil {
			t.Fatalf("%s: %v", c.kind, err)
		}
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatalf("%s: Send: %v", c.kind, err)
		}
		msgs := srv.Messages()
		if len(msgs) != i+1 {
			t.Fatalf("%s: got %d messages, want %d", c.kind, len(msgs), i+1)
		}
		h, parts, err := msgs[i].Parts()
		if err != nil {
			t.Fatalf("%s: %v", c.kind, err)
		}
		if ct, _, _ := mime.ParseMediaType(h.Get("Content-Type")); ct != "multipart/alternative" || len(parts) != 2 {
			t.Errorf("%s: got %s with parts %v, want multipart/alternative with two", c.kind, ct, keys(parts))
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
		if err != nil || subject != c.subject {
			t.Errorf("%s: subject: got %q (%v), want %q", c.kind, subject, err, c.subject)
		}
		text, html := parts["text/plain"], parts["text/html"]
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: text part lacks %q:\n%s", c.kind, w, text)
			}
			if !strings.Contains(html, w) {
				t.Errorf("%s: HTML part lacks %q:\n%s", c.kind, w, html)
			}
		}
		if strings.Contains(text, "<") && c.kind != mail.Invitation {
			t.Errorf("%s: text part holds markup:\n%s", c.kind, text)
		}
		if c.data.Link != "" && !strings.Contains(html, `href="`+c.data.Link+`"`) {
			t.Errorf("%s: HTML part has no anchor to the link:\n%s", c.kind, html)
		}
	}
	// The organization's name is text in the HTML part, not markup.
	inv, err := tmpl.Render(mail.Invitation, "ann@example.com", cases[3].data)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(inv.HTML, "<Labs>") || !strings.Contains(inv.HTML, "Acme &lt;Labs&gt; &amp; Co") {
		t.Errorf("invitation HTML does not escape the organization's name:\n%s", inv.HTML)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestTemplatesOverride: a file in the directory replaces the embedded
// template of that name; the others stay.
func TestTemplatesOverride(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "password_reset.txt", "{{define \"subject\"}}Acme: new password{{end}}Go to {{.Link}} within {{.Expires}}.\n")
	write(t, dir, "layout.html", `{{define "layout"}}<main>{{template "content" .}}</main>{{end}}{{define "button"}}<a href="{{.Link}}">{{.Label}}</a>{{end}}`)
	tmpl, err := mail.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tmpl.Render(mail.PasswordReset, "ann@example.com", mail.Data{Link: "https://x.test/r?token=t", Expires: "1 hour"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Acme: new password" || m.Text != "Go to https://x.test/r?token=t within 1 hour.\n" {
		t.Errorf("overridden text template: got subject %q text %q", m.Subject, m.Text)
	}
	if !strings.HasPrefix(m.HTML, "<main>") || !strings.Contains(m.HTML, "choose a new password") {
		t.Errorf("HTML: got %q, want the embedded body in the overriding layout", m.HTML)
	}
	v, err := tmpl.Render(mail.Verify, "ann@example.com", mail.Data{Link: "https://x.test/v?token=t", Expires: "1 hour"})
	if err != nil || v.Subject != "Confirm your email address" {
		t.Errorf("a kind not overridden: got %q, %v; want the embedded subject", v.Subject, err)
	}
}

// TestTemplatesBrokenFailAtLoad: each way an override can be wrong is
// refused by LoadTemplates, before any mail is rendered.
func TestTemplatesBrokenFailAtLoad(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct{ file, src, want string }{
		"does not parse":        {"verify.txt", `{{define "subject"}}Hi{{end}}{{.Link`, "unclosed action"},
		"no subject":            {"verify.txt", "Open {{.Link}}\n", `no {{define "subject"}}`},
		"empty subject":         {"verify.txt", `{{define "subject"}}  {{end}}Open {{.Link}}`, "want one line"},
		"two-line subject":      {"verify.txt", "{{define \"subject\"}}Hi\nBcc: x@example.com{{end}}Open {{.Link}}", "want one line"},
		"unknown field":         {"invitation.txt", `{{define "subject"}}Join {{.Organisation}}{{end}}{{.Link}}`, "can't evaluate field Organisation"},
		"text without the link": {"password_reset.txt", `{{define "subject"}}Reset{{end}}Ask us for a link.`, "text does not carry the link"},
		"HTML without the link": {"email_change.html", `{{template "layout" .}}{{define "content"}}<p>Check your mail.</p>{{end}}`, "HTML does not carry the link"},
		"HTML does not parse":   {"verify.html", `{{template "layout" .}}{{define "content"}}<a href="{{.Link}}>{{end}}`, "non-text context"},
		"broken layout":         {"layout.html", `{{define "layout"}}{{template "nothing" .}}{{end}}`, `no such template "nothing"`},
		"unknown file":          {"verfy.txt", `{{define "subject"}}Hi{{end}}{{.Link}}`, "verfy.txt: not a mail template"},
	} {
		dir := t.TempDir()
		write(t, dir, c.file, c.src)
		_, err := mail.LoadTemplates(dir)
		if !errors.Is(err, mail.ErrTemplate) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want ErrTemplate saying %q", name, err, c.want)
		}
	}
	if _, err := mail.LoadTemplates(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, mail.ErrTemplate) {
		t.Errorf("a missing directory: got %v, want ErrTemplate", err)
	}
}

func write(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}
