package web_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/userd/userd/dburl"
	"github.com/userd/userd/httpapi"
	"github.com/userd/userd/mail"
	"github.com/userd/userd/mail/smtptest"
	"github.com/userd/userd/password"
	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
	"github.com/userd/userd/signing"
	"github.com/userd/userd/web"
)

const testPassword = "correct horse battery"

// site is a whole userd (API and pages) over a fresh database, served
// over TLS (so the session cookie is the real, Secure, __Host- one), its
// mail delivered through the outbox to a real SMTP test server. Mailed
// links point at the site itself.
type site struct {
	t        testing.TB
	srv      *httptest.Server
	url      string
	db       *service.DB
	accounts *service.Accounts
	orgs     *service.Orgs
	outbox   *service.Outbox
	oauth    *service.OAuth
	hooks    *service.Webhooks
	mail     *smtptest.Server
}

// siteOption changes the pages' configuration before the site starts.
type siteOption func(*web.Config)

func newSite(t testing.TB, opts ...siteOption) *site {
	t.Helper()
	s := &site{t: t, mail: smtptest.NewServer(t)}
	cfg, err := dburl.PoolConfig(pgtest.NewURL(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	s.db, err = service.OpenDB(context.Background(), cfg, service.DefaultCacheConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.db.Close)
	s.srv = httptest.NewUnstartedServer(nil)
	s.url = "https://" + s.srv.Listener.Addr().String()

	keys, err := signing.Generate()
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.NewHasher(password.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	cursorKey := make([]byte, 32)
	_, _ = rand.Read(cursorKey)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s.accounts = service.NewAccounts(s.db, service.AccountsConfig{Keys: keys, Hasher: hasher, Issuer: s.url, Audience: "userd", PublicURL: s.url, DefaultRegion: "IN"})
	s.oauth = service.NewOAuth(s.db, s.accounts)
	local := service.NewLocalVerifier(keys, s.url, "userd")
	users := service.NewUsers(s.db, "IN", "")
	users.UseAccounts(s.accounts)
	s.orgs = service.NewOrgs(s.db, s.url, cursorKey)
	mailer, err := mail.NewSMTP("smtp://"+s.mail.Addr, "userd <no-reply@userd.test>")
	if err != nil {
		t.Fatal(err)
	}
	s.outbox = service.NewOutbox(s.db, nil, mailer, log)
	s.outbox.Resets = s.accounts

	var api *httpapi.Server
	admin, social := service.NewAdmin(s.db, "IN", cursorKey), service.NewSocial(s.db, cursorKey)
	s.hooks = service.NewWebhooks(s.db, service.WebhookConfig{AllowPrivate: true}, cursorKey, log)
	wc := web.Config{
		Log: log, Accounts: s.accounts, Users: users, Orgs: s.orgs, Client: httpapi.ClientOf, OAuth: s.oauth,
		Export: func(ctx context.Context, by service.Principal) ([]byte, error) { return api.ExportDocument(ctx, by) },
		Admin:  admin, Social: social, Webhooks: s.hooks,
	}
	for _, o := range opts {
		o(&wc)
	}
	pages := web.New(wc)
	api = httpapi.New(httpapi.Deps{
		Log: log, Auth: service.NewAuth(s.db, service.AuthConfig{DefaultRegion: "IN", Local: local, LocalIssuer: s.url}),
		Users: users, Accounts: s.accounts, Admin: admin, Orgs: s.orgs,
		Social: social, Avatars: service.NewAvatars(s.db), PublicURL: s.url, Pages: pages.Register,
		OAuth: s.oauth,
	})
	s.srv.Config.Handler = api
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

// browser is one browser profile: its own cookie jar. It does not follow
// redirects, so that tests see them.
type browser struct {
	t      testing.TB
	s      *site
	client *http.Client
	jar    *cookiejar.Jar
}

func (s *site) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	// A client of its own (the server's Client is shared), with the
	// server's TLS transport.
	c := &http.Client{Transport: s.srv.Client().Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{t: s.t, s: s, client: c, jar: jar}
}

// page is an answer to a browser.
type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.s.url+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post submits a form as a browser on the same site does; headers are
// name, value pairs.
func (b *browser) post(path string, form url.Values, headers ...string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.s.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// cookie is the browser's session cookie value; "" when none.
func (b *browser) cookie() string {
	u, _ := url.Parse(b.s.url)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == web.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// expectPage fails unless p has status and its body holds each of want.
func expectPage(t testing.TB, p page, status int, want ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("got status %d, want %d:\n%s", p.status, status, p.body)
	}
	for _, w := range want {
		if !strings.Contains(p.body, w) {
			t.Fatalf("page lacks %q:\n%s", w, p.body)
		}
	}
}

// expectRedirect fails unless p is a 303 to location.
func expectRedirect(t testing.TB, p page, location string) {
	t.Helper()
	if p.status != http.StatusSeeOther || p.header.Get("Location") != location {
		t.Fatalf("got %d to %q, want 303 to %q:\n%s", p.status, p.header.Get("Location"), location, p.body)
	}
}

// signUp creates an account through the sign-up page in b.
func (b *browser) signUp(email string) {
	b.t.Helper()
	p := b.post("/signup", url.Values{"email": {email}, "password": {testPassword}})
	expectRedirect(b.t, p, "/account?welcome=1")
}

// signIn signs b in through the sign-in page.
func (b *browser) signIn(identifier, pw string) page {
	b.t.Helper()
	return b.post("/signin", url.Values{"identifier": {identifier}, "password": {pw}})
}

// mails works the outbox and returns the text of every mail to address.
func (s *site) mails(address string) []string {
	s.t.Helper()
	if _, err := s.outbox.RunOnce(context.Background(), 50); err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, m := range s.mail.Messages() {
		if len(m.To) == 1 && m.To[0] == address {
			_, body, err := m.Text()
			if err != nil {
				s.t.Fatal(err)
			}
			out = append(out, body)
		}
	}
	return out
}

var linkRE = regexp.MustCompile(`https://[0-9.:]+(/[a-z-]+\?token=[A-Za-z0-9_-]+)`)

// link returns the path and query of the newest link to page mailed to
// address, which must exist and point at this site.
func (s *site) link(address, page string) string {
	s.t.Helper()
	mails := s.mails(address)
	for i := len(mails) - 1; i >= 0; i-- {
		for _, m := range linkRE.FindAllStringSubmatch(mails[i], -1) {
			if strings.HasPrefix(m[0], s.url+page+"?") {
				return m[1]
			}
		}
	}
	s.t.Fatalf("no %s link of %s mailed to %s (%d mails)", page, s.url, address, len(mails))
	return ""
}

func mustValues(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}
