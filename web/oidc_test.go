package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/userd/userd/service"
)

// rp is a relying party: a client registered with the site, whose
// redirect URI is a callback server of its own that records what it gets.
type rp struct {
	t      *testing.T
	s      *site
	id     string
	secret string
	conf   *oauth2.Config
	cb     *httptest.Server
	mu     sync.Mutex
	got    url.Values
}

// newRP registers a client (name, first-party, public as in) whose
// redirect URI is its callback server's /callback; its post-logout
// redirect URI is /bye there.
func (s *site) newRP(t *testing.T, in service.NewOAuthClient) *rp {
	t.Helper()
	r := &rp{t: t, s: s}
	r.cb = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/favicon.ico" {
			http.NotFound(w, req)
			return
		}
		r.mu.Lock()
		r.got = req.URL.Query()
		r.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><title>App</title></head><body><main><h1>Back in the app</h1></main></body></html>`)
	}))
	t.Cleanup(r.cb.Close)
	if in.Name == "" {
		in.Name = "Example app"
	}
	in.RedirectURIs = append(in.RedirectURIs, r.cb.URL+"/callback")
	in.PostLogoutRedirectURIs = append(in.PostLogoutRedirectURIs, r.cb.URL+"/bye")
	c, secret, err := s.oauth.AddClient(context.Background(), service.Console(), in)
	if err != nil {
		t.Fatal(err)
	}
	r.id, r.secret = c.ID, secret
	r.conf = &oauth2.Config{
		ClientID: c.ID, ClientSecret: secret, RedirectURL: r.cb.URL + "/callback",
		Endpoint: oauth2.Endpoint{AuthURL: s.url + "/oauth/authorize", TokenURL: s.url + "/oauth/token"},
		Scopes:   []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess},
	}
	return r
}

// ctx carries the HTTP client that trusts the site's certificate, for
// oauth2 and go-oidc.
func (s *site) ctx() context.Context {
	return oidc.ClientContext(context.Background(), s.srv.Client())
}

// callback is the query the callback server got last.
func (r *rp) callback() url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got
}

// local is the path and query of a URL of the site.
func (s *site) local(u string) string {
	s.t.Helper()
	if !strings.HasPrefix(u, s.url+"/") {
		s.t.Fatalf("%q is not a URL of the site %s", u, s.url)
	}
	return strings.TrimPrefix(u, s.url)
}

// expectFound fails unless p redirects (302 or 303) to a URL starting with
// prefix, and returns that URL.
func expectFound(t *testing.T, p page, prefix string) string {
	t.Helper()
	loc := p.header.Get("Location")
	if (p.status != http.StatusFound && p.status != http.StatusSeeOther) || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("got %d to %q, want a redirect to %q…:\n%s", p.status, loc, prefix, p.body)
	}
	return loc
}

// query is the query of a redirect's location.
func query(t *testing.T, loc string) url.Values {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// authorize runs the browser part of the code flow with a plain HTTP
// client: the authorization request, the sign-in form when there is no
// session (identifier, password), the consent form when asked (allow or
// deny), and returns where it ends: the redirect to the client.
func (r *rp) authorize(b *browser, authURL, identifier string, allow bool) url.Values {
	t := r.t
	t.Helper()
	p := b.get(r.s.local(authURL))
	if loc := p.header.Get("Location"); strings.HasPrefix(loc, "/signin?") {
		back := query(t, loc).Get("redirect_to")
		expectPage(t, b.get(loc), http.StatusOK, `name="identifier"`, `name="redirect_to"`)
		p = b.post("/signin", url.Values{"identifier": {identifier}, "password": {testPassword}, "redirect_to": {back}})
		expectRedirect(t, p, back)
		p = b.get(back)
	}
	if p.status == http.StatusOK && strings.Contains(p.body, `action="/oauth/authorize"`) {
		form := url.Values{}
		for _, m := range hiddenRE.FindAllStringSubmatch(p.body, -1) {
			form.Set(m[1], htmlUnescape(m[2]))
		}
		form.Set("decision", map[bool]string{true: "allow", false: "deny"}[allow])
		p = b.post("/oauth/authorize", form)
	}
	loc := expectFound(t, p, r.cb.URL+"/callback?")
	return query(t, loc)
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// token posts a form to the token endpoint (or another OAuth endpoint)
// with optional Basic credentials and returns the status and JSON body.
func (s *site) oauthPost(path string, form url.Values, basicID, basicSecret string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	res, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			s.t.Fatalf("POST %s: %d %s: %v", path, res.StatusCode, b, err)
		}
	}
	return res.StatusCode, out
}

// userinfo calls GET /oauth/userinfo with token and returns the status.
func (s *site) userinfo(token string) int {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// verifyID checks an ID token with go-oidc against the site's discovery
// document and keys, for client and nonce, and its at_hash against the
// access token.
func (r *rp) verifyID(tok *oauth2.Token, nonce string) *oidc.IDToken {
	t := r.t
	t.Helper()
	provider, err := oidc.NewProvider(r.s.ctx(), r.s.url)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("the token response has no id_token")
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: r.id}).Verify(r.s.ctx(), raw)
	if err != nil {
		t.Fatalf("go-oidc refuses the ID token: %v", err)
	}
	if idt.Nonce != nonce {
		t.Fatalf("got nonce %q, want %q", idt.Nonce, nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	return idt
}

// The authorization code flow of a server-side app (confidential,
// first-party) with golang.org/x/oauth2 and go-oidc as they are, the
// browser part done by a plain HTTP client posting the sign-in form; then
// userinfo, refresh, introspection, revocation and logout.
func TestOIDCCodeFlowHTTP(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.browser().signUp("rp.user@example.com")
	app := s.newRP(t, service.NewOAuthClient{Name: "Server app", FirstParty: true})
	ctx := s.ctx()

	verifier := oauth2.GenerateVerifier()
	state, nonce := "st-"+oauth2.GenerateVerifier()[:10], "n-"+oauth2.GenerateVerifier()[:10]
	b := s.browser()
	got := app.authorize(b, app.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), "rp.user@example.com", true)
	if got.Get("state") != state || got.Get("iss") != s.url || got.Get("code") == "" {
		t.Fatalf("callback: got %v, want code, state %q and iss %q", got, state, s.url)
	}
	tok, err := app.conf.Exchange(ctx, got.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	idt := app.verifyID(tok, nonce)
	var claims struct {
		AMR      []string `json:"amr"`
		ACR      string   `json:"acr"`
		AuthTime int64    `json:"auth_time"`
		Email    *string  `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if len(claims.AMR) != 1 || claims.AMR[0] != "pwd" || claims.ACR != "aal1" || time.Since(time.Unix(claims.AuthTime, 0)) > time.Minute {
		t.Fatalf("got amr %v, acr %q, auth_time %d; want [pwd], aal1 and a recent sign-in", claims.AMR, claims.ACR, claims.AuthTime)
	}
	if claims.Email != nil {
		t.Fatalf("the ID token carries the unverified address %q", *claims.Email)
	}
	if idt.Subject != fmt.Sprint(s.userID("rp.user@example.com")) {
		t.Fatalf("got sub %q, want the user's id", idt.Subject)
	}

	provider, err := oidc.NewProvider(ctx, s.url)
	if err != nil {
		t.Fatal(err)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != idt.Subject {
		t.Fatalf("userinfo: got %v, %v; want subject %s", info, err, idt.Subject)
	}
	// A first-party client's access token calls userd's own API.
	req, _ := http.NewRequest(http.MethodGet, s.url+"/api/v1/users/me", nil)
	tok.SetAuthHeader(req)
	if res, err := s.srv.Client().Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/users/me with the access token: %v %v", res.Status, err)
	}

	// Refresh: a new access token and a rotated refresh token.
	old := *tok
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := app.conf.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == old.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == old.RefreshToken {
		t.Fatal("the refresh did not give a new access token and a rotated refresh token")
	}
	app.verifyID(fresh, "")

	// Introspection of the live tokens.
	for _, tk := range []string{fresh.AccessToken, fresh.RefreshToken} {
		status, in := s.oauthPost("/oauth/introspect", url.Values{"token": {tk}}, app.id, app.secret)
		if status != http.StatusOK || in["active"] != true || in["client_id"] != app.id || in["sub"] != idt.Subject {
			t.Fatalf("introspect: got %d %v, want active for %s", status, in, app.id)
		}
	}
	// Revocation ends the session: both tokens die.
	if status, _ := s.oauthPost("/oauth/revoke", url.Values{"token": {fresh.RefreshToken}, "token_type_hint": {"refresh_token"}}, app.id, app.secret); status != http.StatusOK {
		t.Fatalf("revoke: got %d, want 200", status)
	}
	for _, tk := range []string{fresh.AccessToken, fresh.RefreshToken} {
		if _, in := s.oauthPost("/oauth/introspect", url.Values{"token": {tk}}, app.id, app.secret); in["active"] != false {
			t.Fatalf("introspect after revocation: got %v, want inactive", in)
		}
	}
	if status := s.userinfo(fresh.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("userinfo after revocation: got %d, want 401", status)
	}

	// RP-initiated logout: back to the registered URI with the state, and
	// the browser is signed out.
	p := b.get("/oauth/logout?" + url.Values{"id_token_hint": {fresh.Extra("id_token").(string)}, "post_logout_redirect_uri": {app.cb.URL + "/bye"}, "state": {"bye-1"}}.Encode())
	if loc := expectFound(t, p, app.cb.URL+"/bye?"); query(t, loc).Get("state") != "bye-1" {
		t.Fatalf("logout went to %q, want the state back", loc)
	}
	expectFound(t, b.get("/account"), "/signin")
}

// The same flow in Chromium through the hosted pages, for a single-page
// app (public client, PKCE) that is not first-party: sign in, the consent
// page, the code; then the connected apps page disconnects it.
func TestOIDCBrowserFlow(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.browser().signUp("spa.user@example.com")
	app := s.newRP(t, service.NewOAuthClient{Name: "Photo app", Public: true})
	ctx := s.ctx()
	verifier := oauth2.GenerateVerifier()
	d := s.device(t, "spa")
	d.run(chromedp.Navigate(app.conf.AuthCodeURL("spa-state", oauth2.S256ChallengeOption(verifier), oidc.Nonce("spa-nonce"))))
	d.heading("Sign in")
	d.submit(`form[action="/signin"]`, map[string]string{"identifier": "spa.user@example.com", "password": testPassword})
	d.heading("Allow Photo app?")
	d.expectText("See your email address", "Stay connected")
	d.click(`button[value="allow"]`)
	d.heading("Back in the app")
	got := app.callback()
	if got.Get("state") != "spa-state" || got.Get("iss") != s.url || got.Get("code") == "" {
		t.Fatalf("callback: got %v", got)
	}
	tok, err := app.conf.Exchange(ctx, got.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	app.verifyID(tok, "spa-nonce")
	// A third-party client's access token is for userinfo, not userd's API.
	req, _ := http.NewRequest(http.MethodGet, s.url+"/api/v1/users/me", nil)
	tok.SetAuthHeader(req)
	if res, err := s.srv.Client().Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /api/v1/users/me with a third-party token: got %v %v, want 401", res.Status, err)
	}
	if status := s.userinfo(tok.AccessToken); status != http.StatusOK {
		t.Fatalf("userinfo: got %d, want 200", status)
	}

	// Consent is remembered: the next request goes straight back.
	d.run(chromedp.Navigate(app.conf.AuthCodeURL("again", oauth2.S256ChallengeOption(verifier))))
	d.heading("Back in the app")
	if app.callback().Get("state") != "again" {
		t.Fatalf("second request: got %v", app.callback())
	}

	d.open("/account/apps")
	d.heading("Connected apps")
	d.expectText("Photo app")
	d.click(`form[action$="/revoke"] button`)
	d.heading("Connected apps")
	d.expectText("No app is connected", "disconnected")
	if status := s.userinfo(tok.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("userinfo after disconnecting: got %d, want 401", status)
	}
	if _, err := app.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Fatal("the refresh token works after disconnecting the app")
	}
}

// A verified address reaches the ID token and userinfo (POSTed, the token
// in the form); login_hint fills in the sign-in form; max_age older than
// the sign-in, like prompt=login, asks for a new one, and auth_time says
// when it was.
func TestOIDCClaimsAndFreshness(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.signUp("claims@example.com")
	link := s.link("claims@example.com", "/verify-email")
	expectRedirect(t, b.post("/verify-email", url.Values{"token": {strings.TrimPrefix(link, "/verify-email?token=")}}), "/account?confirmed=1")
	app := s.newRP(t, service.NewOAuthClient{Name: "Claims app", FirstParty: true})
	ctx := s.ctx()
	v := oauth2.GenerateVerifier()

	got := app.authorize(b, app.conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(v), oidc.Nonce("n1")), "claims@example.com", true)
	tok, err := app.conf.Exchange(ctx, got.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		AuthTime      int64  `json:"auth_time"`
	}
	if err := app.verifyID(tok, "n1").Claims(&claims); err != nil || claims.Email != "claims@example.com" || !claims.EmailVerified {
		t.Fatalf("ID token: got %+v (%v), want the verified address", claims, err)
	}
	req, _ := http.NewRequest(http.MethodPost, s.url+"/oauth/userinfo", strings.NewReader(url.Values{"access_token": {tok.AccessToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	err = json.NewDecoder(res.Body).Decode(&info)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || info["email"] != "claims@example.com" || info["email_verified"] != true {
		t.Fatalf("POST /oauth/userinfo: got %d %v (%v)", res.StatusCode, info, err)
	}

	// login_hint, signed out: the sign-in form comes filled in.
	anon := s.browser()
	p := anon.get(s.local(app.conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("login_hint", "claims@example.com"))))
	expectPage(t, anon.get(expectFound(t, p, "/signin?")), http.StatusOK, `value="claims@example.com"`)

	// max_age=1 two seconds after the sign-in: sign in again, then a code
	// whose ID token has the new auth_time.
	time.Sleep(2 * time.Second)
	p = b.get(s.local(app.conf.AuthCodeURL("s3", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("max_age", "1"))))
	back := query(t, expectFound(t, p, "/signin?")).Get("redirect_to")
	expectRedirect(t, b.post("/signin", url.Values{"identifier": {"claims@example.com"}, "password": {testPassword}, "redirect_to": {back}}), back)
	got = query(t, expectFound(t, b.get(back), app.cb.URL+"/callback?"))
	tok2, err := app.conf.Exchange(ctx, got.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	var again struct {
		AuthTime int64 `json:"auth_time"`
	}
	if err := app.verifyID(tok2, "").Claims(&again); err != nil || again.AuthTime <= claims.AuthTime {
		t.Fatalf("after max_age: auth_time %d, want later than %d (%v)", again.AuthTime, claims.AuthTime, err)
	}
}
