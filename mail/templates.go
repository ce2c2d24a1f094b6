package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	texttemplate "text/template"
)

// Kind names one mail userd sends; its templates are <kind>.txt (which
// defines "subject" besides the text body) and <kind>.html (which the
// layout in layout.html wraps).
type Kind string

// The mails userd sends.
const (
	Verify            Kind = "verify"              // confirm the address given at sign-up
	EmailChange       Kind = "email_change"        // confirm a new address
	PasswordReset     Kind = "password_reset"      // a password-reset link
	Invitation        Kind = "invitation"          // an invitation into an organization
	EmailChangeNotice Kind = "email_change_notice" // to the old address: the email is being changed
	PasswordChanged   Kind = "password_changed"    // the password was changed or reset
	AddressReleased   Kind = "address_released"    // an account that held this address unproven lost it to its prover
	IdentityLinked    Kind = "identity_linked"     // a login of an identity provider was linked to the account
	FactorsReset      Kind = "factors_reset"       // an admin removed the account's second factors
)

const (
	layoutFile = "layout.html" // defines "layout" (which calls "content") and "button"
	sampleLink = "https://userd.invalid/sample?token=SAMPLE-TOKEN"
)

// kinds lists every kind, each with whether its mail carries a link.
var kinds = map[Kind]bool{
	Verify: true, EmailChange: true, PasswordReset: true, Invitation: true,
	EmailChangeNotice: false, PasswordChanged: false, AddressReleased: false, IdentityLinked: false,
	FactorsReset: false,
}

//go:embed templates
var embedded embed.FS

// Data is what a template sees. Each kind uses some of the fields.
type Data struct {
	Subject  string // the rendered subject (for the HTML title)
	Link     string // the link to open (verify, email_change, password_reset, invitation)
	Expires  string // how long the link works, in words: "1 hour"
	Org      string // the organization's name (invitation)
	Email    string // the account's address (notices)
	NewEmail string // email_change_notice: the address asked for; "" when the address is removed
	How      string // password_changed: "change" or "reset"
	Provider string // identity_linked: the identity provider of the login
}

// Button is what the layout's "button" template draws: a link and its label.
type Button struct{ Link, Label string }

// Button returns the button that opens d's link, labelled label.
func (d Data) Button(label string) Button { return Button{Link: d.Link, Label: label} }

// Templates renders every mail userd sends as a subject, a text part and
// an HTML part. It is safe for concurrent use.
type Templates struct {
	text map[Kind]*texttemplate.Template
	html map[Kind]*htmltemplate.Template
}

// ErrTemplate is wrapped by LoadTemplates for a template that does not
// parse, does not render, lacks its subject or link, or is unknown.
var ErrTemplate = errors.New("invalid mail template")

// LoadTemplates returns the embedded templates, each replaced by the file
// of the same name in dir when there is one ("" : none replaced). Every
// template is rendered once with sample data, so that a broken one fails
// here, at start, rather than when a mail is sent: it must parse, render,
// give a one-line subject and, for a mail with a link, carry the link in
// both parts. A file in dir that names no template is an error too (a
// misspelt override would otherwise be ignored).
// It returns an error wrapping ErrTemplate.
func LoadTemplates(dir string) (*Templates, error) {
	base, err := fs.Sub(embedded, "templates")
	if err != nil {
		return nil, err
	}
	files := overlay{base: base}
	if dir != "" {
		files.over = os.DirFS(dir)
		if err := checkOverrides(dir); err != nil {
			return nil, err
		}
	}
	t := &Templates{text: map[Kind]*texttemplate.Template{}, html: map[Kind]*htmltemplate.Template{}}
	var errs []error
	for _, kind := range KindNames() {
		if err := t.load(files, Kind(kind)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// DefaultTemplates returns the embedded templates. It panics if they are
// broken, which their tests rule out.
func DefaultTemplates() *Templates {
	t, err := LoadTemplates("")
	if err != nil {
		panic(err)
	}
	return t
}

// checkOverrides refuses a file in dir that replaces no template.
func checkOverrides(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		kind, ext := Kind(strings.TrimSuffix(name, path.Ext(name))), path.Ext(name)
		_, known := kinds[kind]
		if name == layoutFile || (known && (ext == ".txt" || ext == ".html")) {
			continue
		}
		errs = append(errs, fmt.Errorf("%w: %s: not a mail template (want layout.html or one of %s, as .txt or .html)",
			ErrTemplate, name, strings.Join(KindNames(), ", ")))
	}
	return errors.Join(errs...)
}

// KindNames returns the names of the kinds, sorted.
func KindNames() []string {
	var names []string
	for k := range kinds {
		names = append(names, string(k))
	}
	slices.Sort(names)
	return names
}

// overlay reads a file from over when it is there, else from base.
type overlay struct{ base, over fs.FS }

func (o overlay) read(name string) (string, error) {
	if o.over != nil {
		b, err := fs.ReadFile(o.over, name)
		if err == nil {
			return string(b), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	b, err := fs.ReadFile(o.base, name)
	return string(b), err
}

// load parses kind's two templates and renders them with sample data.
func (t *Templates) load(files overlay, kind Kind) error {
	fail := func(file string, err error) error { return fmt.Errorf("%w: %s: %w", ErrTemplate, file, err) }
	txtName, htmlName := string(kind)+".txt", string(kind)+".html"
	src, err := files.read(txtName)
	if err != nil {
		return fail(txtName, err)
	}
	tt, err := texttemplate.New(txtName).Option("missingkey=error").Parse(src)
	if err != nil {
		return fail(txtName, err)
	}
	if tt.Lookup("subject") == nil {
		return fail(txtName, errors.New(`no {{define "subject"}}…{{end}}`))
	}
	layout, err := files.read(layoutFile)
	if err != nil {
		return fail(layoutFile, err)
	}
	src, err = files.read(htmlName)
	if err != nil {
		return fail(htmlName, err)
	}
	ht, err := htmltemplate.New(layoutFile).Option("missingkey=error").Parse(layout)
	if err == nil {
		_, err = ht.New(htmlName).Parse(src)
	}
	if err != nil {
		return fail(htmlName, err)
	}
	t.text[kind], t.html[kind] = tt, ht
	sample := Data{Link: sampleLink, Expires: "1 hour", Org: "Sample Org", Email: "old@example.com",
		NewEmail: "new@example.com", How: "change"}
	m, err := t.Render(kind, "someone@example.com", sample)
	if err != nil {
		return err
	}
	if kinds[kind] {
		if !strings.Contains(m.Text, sampleLink) {
			return fail(txtName, errors.New("the text does not carry the link ({{.Link}})"))
		}
		if !strings.Contains(m.HTML, sampleLink) {
			return fail(htmlName, errors.New("the HTML does not carry the link ({{.Link}})"))
		}
	}
	return nil
}

// Render renders the mail of kind to the address to with d. The subject
// must come out as one line that is not blank.
func (t *Templates) Render(kind Kind, to string, d Data) (Message, error) {
	tt, ok := t.text[kind]
	if !ok {
		return Message{}, fmt.Errorf("%w: no template %q", ErrTemplate, kind)
	}
	var subject, text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subject, "subject", d); err != nil {
		return Message{}, fmt.Errorf("%w: %s subject: %w", ErrTemplate, kind, err)
	}
	d.Subject = strings.TrimSpace(subject.String())
	if d.Subject == "" || strings.ContainsAny(d.Subject, "\r\n") {
		return Message{}, fmt.Errorf("%w: %s subject: got %q, want one line", ErrTemplate, kind, d.Subject)
	}
	if err := tt.Execute(&text, d); err != nil {
		return Message{}, fmt.Errorf("%w: %s.txt: %w", ErrTemplate, kind, err)
	}
	if err := t.html[kind].ExecuteTemplate(&html, string(kind)+".html", d); err != nil {
		return Message{}, fmt.Errorf("%w: %s.html: %w", ErrTemplate, kind, err)
	}
	return Message{To: to, Subject: d.Subject, Text: strings.TrimLeft(text.String(), "\n"), HTML: html.String()}, nil
}
