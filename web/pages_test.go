package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/service"
	"github.com/userd/userd/web"
)

// userID is the id of the account with this email.
func (s *site) userID(email string) int64 {
	s.t.Helper()
	var id int64
	if err := s.db.Pool.QueryRow(context.Background(), "SELECT id FROM users WHERE email = $1", email).Scan(&id); err != nil {
		s.t.Fatal(err)
	}
	return id
}

// as is the principal of the user with address email, signed in.
func (s *site) as(email string) service.Principal {
	return service.Principal{User: service.User{ID: s.userID(email)}}
}

// row reads one value of SQL about the test's database.
func (s *site) row(sql string, dst any, args ...any) {
	s.t.Helper()
	if err := s.db.Pool.QueryRow(context.Background(), sql, args...).Scan(dst); err != nil {
		s.t.Fatal(err)
	}
}

func TestSignUpSignInSignOut(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	expectRedirect(t, b.get("/account"), "/signin?redirect_to=%2Faccount")
	expectPage(t, b.get("/signup"), http.StatusOK, `name="email"`, `name="password"`, `name="username"`, `name="phone"`, `<label for="email">`)

	p := b.post("/signup", url.Values{"email": {"ann@example.com"}, "password": {testPassword}})
	expectRedirect(t, p, "/account?welcome=1")
	set := p.header.Get("Set-Cookie")
	for _, want := range []string{web.SessionCookie + "=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(set, want) {
			t.Fatalf("Set-Cookie %q lacks %q", set, want)
		}
	}
	if strings.Contains(strings.ToLower(set), "domain=") {
		t.Fatalf("Set-Cookie %q has a Domain: a __Host- cookie must not", set)
	}
	first := b.cookie()
	var kind string
	s.row("SELECT kind FROM sessions WHERE user_id = $1", &kind, s.userID("ann@example.com"))
	if kind != "web" {
		t.Fatalf("the browser's session: got kind %q, want web", kind)
	}
	expectPage(t, b.get("/account?welcome=1"), http.StatusOK, "ann@example.com", "Welcome!")

	// Sign out: the cookie goes, and its value names nothing any more.
	expectPage(t, b.get("/signout"), http.StatusOK, `action="/signout"`)
	expectRedirect(t, b.post("/signout", nil), "/signin?signed_out=1")
	if b.cookie() != "" {
		t.Fatal("the cookie survived sign-out")
	}
	replay := s.browser()
	replay.jar.SetCookies(mustURL(t, s.url), []*http.Cookie{{Name: web.SessionCookie, Value: first, Path: "/"}})
	expectRedirect(t, replay.get("/account"), "/signin?redirect_to=%2Faccount")

	// Wrong passwords and unknown identifiers get the same words.
	wrong := b.signIn("ann@example.com", "not the password at all")
	unknown := b.signIn("nobody@example.com", "not the password at all")
	expectPage(t, wrong, http.StatusUnauthorized, "The sign-in details are not correct.", `value="ann@example.com"`)
	expectPage(t, unknown, http.StatusUnauthorized, "The sign-in details are not correct.")
	if strings.ReplaceAll(wrong.body, "ann@example.com", "X") != strings.ReplaceAll(unknown.body, "nobody@example.com", "X") {
		t.Fatal("the sign-in page answers a wrong password and an unknown identifier differently")
	}
	if strings.Contains(wrong.body, testPassword) || strings.Contains(wrong.body, "not the password at all") {
		t.Fatal("the sign-in page shows the password back")
	}

	// Signing in rotates: a cookie set before (planted, say) is revoked.
	b.jar.SetCookies(mustURL(t, s.url), []*http.Cookie{{Name: web.SessionCookie, Value: first, Path: "/"}})
	expectRedirect(t, b.signIn("ann@example.com", testPassword), "/account")
	second := b.cookie()
	if second == "" || second == first {
		t.Fatalf("sign-in: got cookie %q, want a new one", second)
	}
	expectPage(t, b.get("/account"), http.StatusOK, "ann@example.com")
	// Signed in, the sign-in page sends on.
	expectRedirect(t, b.get("/signin"), "/account")
}

func mustURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Every page: a Content-Security-Policy without inline script, framing
// refused, no inline script or style in the markup, no referrer.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	check := func(path string, p page) {
		t.Helper()
		csp := p.header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "style-src 'self'", "form-action 'self'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
			t.Errorf("%s: CSP %q allows script", path, csp)
		}
		if p.header.Get("X-Frame-Options") != "DENY" || p.header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: X-Frame-Options %q, Referrer-Policy %q", path, p.header.Get("X-Frame-Options"), p.header.Get("Referrer-Policy"))
		}
		for _, bad := range []string{"<script", " style=", "<style", "javascript:", " onclick="} {
			if strings.Contains(strings.ToLower(p.body), bad) {
				t.Errorf("%s: the markup holds %q", path, bad)
			}
		}
	}
	for _, path := range []string{"/signin", "/signup", "/forgot-password", "/reset-password?token=x", "/verify-email?token=x", "/accept-invitation?token=x"} {
		check(path, b.get(path))
	}
	b.signUp("headers@example.com")
	for _, path := range []string{"/account", "/account/password", "/account/email", "/account/identities", "/account/sessions", "/account/delete", "/signout"} {
		p := b.get(path)
		expectPage(t, p, http.StatusOK)
		check(path, p)
	}
	css := b.get("/assets/style.css")
	if css.status != http.StatusOK || !strings.Contains(css.header.Get("Content-Type"), "text/css") || !strings.Contains(css.body, "--brand: #1a4fb5") {
		t.Fatalf("style.css: got %d %q", css.status, css.header.Get("Content-Type"))
	}
}

// A POST from another site is refused before it does anything.
func TestCrossOriginPostsRefused(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.signUp("csrf@example.com")
	// A forged sign-out, a forged password change, a forged sign-in.
	for _, headers := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "", "Origin", "https://evil.example"}} {
		p := b.post("/signout", nil, headers...)
		if p.status != http.StatusForbidden {
			t.Fatalf("cross-origin sign-out %v: got %d, want 403", headers, p.status)
		}
		p = b.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {"a forged new password"}}, headers...)
		if p.status != http.StatusForbidden {
			t.Fatalf("cross-origin password change %v: got %d, want 403", headers, p.status)
		}
		other := s.browser()
		if p := other.post("/signin", url.Values{"identifier": {"csrf@example.com"}, "password": {testPassword}}, headers...); p.status != http.StatusForbidden || other.cookie() != "" {
			t.Fatalf("cross-origin sign-in %v: got %d, cookie %q", headers, p.status, other.cookie())
		}
	}
	expectPage(t, b.get("/account"), http.StatusOK, "csrf@example.com")
	expectRedirect(t, b.signIn("csrf@example.com", testPassword), "/account")
}

// The verification link followed on a second device, signed out, asks for
// the account's password; without it nothing changes and the link still
// works. With it, the account stays whole.
func TestVerifyEmailOnSecondDevice(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	first := s.browser()
	first.signUp("dev2@example.com")
	link := s.link("dev2@example.com", "/verify-email")
	token := strings.TrimPrefix(link, "/verify-email?token=")

	second := s.browser()
	expectPage(t, second.get(link), http.StatusOK, "Confirm your email address", `name="password"`, "reset the password to take the account")
	verified := func() bool {
		var v bool
		s.row("SELECT email_verified FROM users WHERE email = 'dev2@example.com'", &v)
		return v
	}
	for _, pw := range []string{"", "a wrong password here"} {
		p := second.post("/verify-email", url.Values{"token": {token}, "password": {pw}})
		expectPage(t, p, http.StatusUnprocessableEntity, `aria-invalid="true"`, `id="password-error"`)
		if verified() {
			t.Fatalf("password %q: the address got verified", pw)
		}
	}
	expectPage(t, second.get(link), http.StatusOK, `name="password"`) // the link still works
	expectPage(t, second.post("/verify-email", url.Values{"token": {token}, "password": {testPassword}}), http.StatusOK, "dev2@example.com is confirmed")
	if !verified() {
		t.Fatal("the address is not verified")
	}
	if second.cookie() != "" {
		t.Fatal("confirming signed out signed the second device in")
	}
	// The first device is still signed in; the password still works.
	expectPage(t, first.get("/account"), http.StatusOK, "dev2@example.com")
	expectRedirect(t, s.browser().signIn("dev2@example.com", testPassword), "/account")
	// Used: a clear page.
	expectPage(t, second.get(link), http.StatusBadRequest, "This link does not work")
	expectPage(t, second.post("/verify-email", url.Values{"token": {token}, "password": {testPassword}}), http.StatusBadRequest, "This link does not work")
}

// Signed in to the account, the link is one click.
func TestVerifyEmailSignedInOneClick(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.signUp("oneclick@example.com")
	link := s.link("oneclick@example.com", "/verify-email")
	p := b.get(link)
	expectPage(t, p, http.StatusOK, "Confirm <strong>oneclick@example.com</strong>")
	if strings.Contains(p.body, `name="password"`) {
		t.Fatal("signed in, the page asks for the password")
	}
	expectRedirect(t, b.post("/verify-email", url.Values{"token": {strings.TrimPrefix(link, "/verify-email?token=")}}), "/account?confirmed=1")
	expectPage(t, b.get("/account/email"), http.StatusOK, "(confirmed)")
}

func TestForgotAndResetPassword(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	owner := s.browser()
	owner.signUp("forgot@example.com")
	b := s.browser()
	expectPage(t, b.get("/forgot-password"), http.StatusOK, `name="email"`)
	sent := b.post("/forgot-password", url.Values{"email": {"forgot@example.com"}})
	none := b.post("/forgot-password", url.Values{"email": {"nobody@example.com"}})
	expectPage(t, sent, http.StatusOK, "If an account uses this email address")
	if sent.body != none.body {
		t.Fatal("forgot-password answers differently for an unknown address")
	}
	link := s.link("forgot@example.com", "/reset-password")
	token := strings.TrimPrefix(link, "/reset-password?token=")
	mails := s.mails("forgot@example.com")
	if last := mails[len(mails)-1]; !strings.Contains(last, "nothing changes unless the link is used") || strings.Contains(last, "stays as it is") {
		t.Fatalf("the reset mail's notice:\n%s", last)
	}
	expectPage(t, b.get(link), http.StatusOK, `name="password"`, `type="hidden" name="token"`)
	expectPage(t, b.post("/reset-password", url.Values{"token": {token}, "password": {"short"}}), http.StatusUnprocessableEntity, "Must be at least 8 characters")
	expectPage(t, b.post("/reset-password", url.Values{"token": {token}, "password": {"a brand new passphrase"}}), http.StatusOK, "Password changed")
	// The reset signed every session out, the owner's browser too.
	expectRedirect(t, owner.get("/account"), "/signin?redirect_to=%2Faccount")
	expectPage(t, b.signIn("forgot@example.com", testPassword), http.StatusUnauthorized)
	expectRedirect(t, b.signIn("forgot@example.com", "a brand new passphrase"), "/account")
	expectPage(t, s.browser().get(link), http.StatusBadRequest, "This link does not work")
}

func TestInvitationFromSignUp(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin := s.browser()
	admin.signUp("boss@example.com")
	ctx := context.Background()
	org, err := s.orgs.Create(ctx, s.as("boss@example.com"), "Acme Studio")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.orgs.Invite(ctx, s.as("boss@example.com"), org.ID, "new.hire@example.com", nil); err != nil {
		t.Fatal(err)
	}
	link := s.link("new.hire@example.com", "/accept-invitation")
	b := s.browser()
	p := b.get(link)
	expectPage(t, p, http.StatusOK, "Join Acme Studio", "new.hire@example.com", "Create an account")
	signup := "/signup?email=new.hire%40example.com&redirect_to=" + url.QueryEscape(link)
	if !strings.Contains(p.body, strings.ReplaceAll(signup, "&", "&amp;")) {
		t.Fatalf("the invitation page has no sign-up link %q:\n%s", signup, p.body)
	}
	expectPage(t, b.get(signup), http.StatusOK, `value="new.hire@example.com"`, `name="redirect_to" value="`+strings.ReplaceAll(link, "&", "&amp;")+`"`)
	expectRedirect(t, b.post("/signup", url.Values{"email": {"new.hire@example.com"}, "password": {testPassword}, "redirect_to": {link}}), link)
	expectPage(t, b.get(link), http.StatusOK, "Accept the invitation")
	expectRedirect(t, b.post("/accept-invitation", url.Values{"token": {strings.TrimPrefix(link, "/accept-invitation?token=")}}), "/account?joined=1")
	expectPage(t, b.get("/account?joined=1"), http.StatusOK, "member of <strong>Acme Studio</strong>", "You joined the organization.")
	expectPage(t, s.browser().get(link), http.StatusBadRequest, "This link does not work")
}

// redirect_to is followed only to this site's paths and the allowed URLs.
func TestRedirectAfterSignIn(t *testing.T) {
	t.Parallel()
	redirects, err := web.ParseRedirects([]string{"https://app.example.com/done"})
	if err != nil {
		t.Fatal(err)
	}
	s := newSite(t, func(c *web.Config) { c.Redirects = redirects })
	s.browser().signUp("redirect@example.com")
	for to, want := range map[string]string{
		"https://app.example.com/done/x":            "https://app.example.com/done/x",
		"/account/sessions":                         "/account/sessions",
		"https://evil.example/done":                 "/account",
		"//evil.example/done":                       "/account",
		`https://evil\@app.example.com/`:            "/account",
		"https://app.example.com:444/done":          "/account",
		"https://app.example.com/done/%2e%2e/admin": "/account",
	} {
		p := s.browser().post("/signin", url.Values{"identifier": {"redirect@example.com"}, "password": {testPassword}, "redirect_to": {to}})
		expectRedirect(t, p, want)
	}
	// The policy allows the form's redirect to the allowed origin.
	if csp := s.browser().get("/signin").header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example.com;") {
		t.Fatalf("CSP %q: form-action lacks the allowed origin", csp)
	}
}

func TestSessionTimeouts(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.accounts.WebIdleTTL = 2 * time.Second
	idle := s.browser()
	idle.signUp("idle@example.com")
	expectPage(t, idle.get("/account"), http.StatusOK)
	time.Sleep(2500 * time.Millisecond)
	expectRedirect(t, idle.get("/account"), "/signin?redirect_to=%2Faccount")

	// Used all along, a session still ends WebAbsoluteTTL after sign-in.
	s = newSite(t)
	s.browser().signUp("idle@example.com")
	b := s.browser()
	expectRedirect(t, b.signIn("idle@example.com", testPassword), "/account")
	expectPage(t, b.get("/account"), http.StatusOK)
	if _, err := s.db.Pool.Exec(context.Background(), `UPDATE sessions SET created_at = now() - interval '15 days', last_used_at = now() - interval '2 minutes'
		WHERE user_id = $1 AND revoked_at IS NULL`, s.userID("idle@example.com")); err != nil {
		t.Fatal(err)
	}
	expectPage(t, b.get("/account"), http.StatusOK) // this use finds the session ended by now
	expectRedirect(t, b.get("/account"), "/signin?redirect_to=%2Faccount")
}

func TestAccountPages(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.signUp("acct@example.com")
	other := s.browser()
	expectRedirect(t, other.signIn("acct@example.com", testPassword), "/account")

	// Profile.
	expectRedirect(t, b.post("/account", url.Values{"first_name": {"Ada"}, "last_name": {"Lovelace"}, "username": {"ada_l"}, "bio": {"hi"}}), "/account?saved=1")
	expectPage(t, b.get("/account"), http.StatusOK, `value="Ada"`, `value="ada_l"`)
	expectPage(t, b.post("/account", url.Values{"username": {"no spaces allowed"}}), http.StatusUnprocessableEntity, `id="username-error"`)

	// Password: the other sessions end, this browser gets a new cookie.
	before := b.cookie()
	expectPage(t, b.post("/account/password", url.Values{"current_password": {"wrong one here"}, "new_password": {"next passphrase 2"}}), http.StatusUnprocessableEntity, `id="current_password-error"`)
	expectRedirect(t, b.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {"next passphrase 2"}}), "/account/password?changed=1")
	if b.cookie() == before || b.cookie() == "" {
		t.Fatal("a password change kept the cookie")
	}
	expectPage(t, b.get("/account/password?changed=1"), http.StatusOK, "Your password is changed")
	expectRedirect(t, other.get("/account"), "/signin?redirect_to=%2Faccount")

	// Email change: pending until confirmed.
	expectPage(t, b.post("/account/email", url.Values{"email": {"acct.new@example.com"}}), http.StatusUnprocessableEntity, `id="current_password-error"`)
	expectRedirect(t, b.post("/account/email", url.Values{"email": {"acct.new@example.com"}, "current_password": {"next passphrase 2"}}), "/account/email?pending=1")
	expectPage(t, b.get("/account/email"), http.StatusOK, "Waiting for confirmation: <strong>acct.new@example.com</strong>")
	confirm := s.link("acct.new@example.com", "/verify-email")
	expectPage(t, s.browser().get(strings.Replace(confirm, "/verify-email", "/confirm-email", 1)), http.StatusOK, "Confirm your new email address", `name="password"`)
	expectRedirect(t, b.post("/confirm-email", url.Values{"token": {strings.TrimPrefix(confirm, "/verify-email?token=")}}), "/account?confirmed=1")
	expectPage(t, b.get("/account/email"), http.StatusOK, "<strong>acct.new@example.com</strong> (confirmed)")

	// Identities: none linked.
	expectPage(t, b.get("/account/identities"), http.StatusOK, "No external login")

	// Sessions: an API session too; sign out everywhere ends both.
	api := s.browser()
	login := api.postJSON(t, "/api/v1/auth/login", `{"identifier":"acct.new@example.com","password":"next passphrase 2"}`)
	expectPage(t, login, http.StatusOK, "refresh_token")
	expectPage(t, b.get("/account/sessions"), http.StatusOK, "(this browser)", "Go-http-client", "Sign out everywhere")

	// Export.
	exp := b.get("/account/export")
	if exp.status != http.StatusOK || !strings.Contains(exp.header.Get("Content-Disposition"), "attachment") || !strings.Contains(exp.body, `"acct.new@example.com"`) {
		t.Fatalf("export: got %d %q %s", exp.status, exp.header.Get("Content-Disposition"), exp.body)
	}

	expectRedirect(t, b.post("/account/sessions/revoke-all", nil), "/signin?signed_out=1")
	expectRedirect(t, b.get("/account"), "/signin?redirect_to=%2Faccount")
	var live int
	s.row("SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL", &live, s.userID("acct.new@example.com"))
	if live != 0 {
		t.Fatalf("after signing out everywhere: got %d live sessions, want 0", live)
	}

	// Delete: only with the words typed.
	expectRedirect(t, b.signIn("acct.new@example.com", "next passphrase 2"), "/account")
	expectPage(t, b.post("/account/delete", url.Values{"confirm": {"yes"}}), http.StatusUnprocessableEntity, `id="confirm-error"`)
	expectPage(t, b.post("/account/delete", url.Values{"confirm": {"delete my account"}}), http.StatusOK, "Account deleted")
	expectPage(t, s.browser().signIn("acct.new@example.com", "next passphrase 2"), http.StatusUnauthorized)
}

func (b *browser) postJSON(t testing.TB, path, body string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return b.do(req)
}
