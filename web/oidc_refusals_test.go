package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/userd/userd/service"
)

// authURL is an authorization request of r with a fresh S256 challenge of
// verifier, changed by the pairs of edit ("" deletes a parameter).
func (r *rp) authURL(verifier string, edit ...string) string {
	u, err := url.Parse(r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nn")))
	if err != nil {
		r.t.Fatal(err)
	}
	q := u.Query()
	for i := 0; i+1 < len(edit); i += 2 {
		if edit[i+1] == "" {
			q.Del(edit[i])
		} else {
			q.Set(edit[i], edit[i+1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// expectShown fails unless p is the error page, never a redirect: the
// client or its redirect URI cannot be trusted with the error.
func expectShown(t *testing.T, p page, want string) {
	t.Helper()
	if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.Contains(p.body, want) {
		t.Fatalf("got %d to %q, want the 400 error page saying %q:\n%s", p.status, p.header.Get("Location"), want, p.body)
	}
}

// expectError fails unless p sends error code back to r's redirect URI,
// with iss (RFC 9207) and the state.
func (r *rp) expectError(p page, code string) {
	r.t.Helper()
	q := query(r.t, expectFound(r.t, p, r.cb.URL+"/callback?"))
	if q.Get("error") != code || q.Get("iss") != r.s.url || q.Get("state") != "st" || q.Has("code") {
		r.t.Fatalf("got %v, want error %q with iss %q and state", q, code, r.s.url)
	}
}

// expectOAuth fails unless a token endpoint answer is status with error code.
func expectOAuth(t *testing.T, status int, body map[string]any, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus || body["error"] != code {
		t.Fatalf("got %d %v, want %d %s", status, body, wantStatus, code)
	}
}

// codeFor signs b in (once) and returns a code of r for verifier.
func (r *rp) codeFor(b *browser, verifier string, edit ...string) string {
	r.t.Helper()
	return r.authorize(b, r.authURL(verifier, edit...), "refuse@example.com", true).Get("code")
}

// exchange posts an authorization_code grant as a client sends it.
func (r *rp) exchange(code, verifier string, edit ...string) (int, map[string]any) {
	r.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {r.conf.RedirectURL}, "code_verifier": {verifier}, "client_id": {r.id}}
	for i := 0; i+1 < len(edit); i += 2 {
		if edit[i+1] == "" {
			form.Del(edit[i])
		} else {
			form.Set(edit[i], edit[i+1])
		}
	}
	if r.secret != "" {
		return r.s.oauthPost("/oauth/token", form, r.id, r.secret)
	}
	return r.s.oauthPost("/oauth/token", form, "", "")
}

// The refusals of the authorization endpoint.
func TestOIDCAuthorizeRefusals(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.browser().signUp("refuse@example.com")
	spa := s.newRP(t, service.NewOAuthClient{Name: "SPA", Public: true})
	web := s.newRP(t, service.NewOAuthClient{Name: "Web", FirstParty: true})
	v := oauth2.GenerateVerifier()
	anon := s.browser()
	cb := spa.conf.RedirectURL
	port := spa.cb.Listener.Addr().String()
	other := strings.Replace(cb, port, strings.Split(port, ":")[0]+":1", 1)

	// Not sent back: an unknown client or a redirect URI not registered
	// exactly as sent.
	for name, edit := range map[string][]string{
		"unregistered redirect_uri": {"redirect_uri", "https://evil.example/callback"},
		"trailing slash":            {"redirect_uri", cb + "/"},
		"case":                      {"redirect_uri", strings.Replace(cb, "/callback", "/Callback", 1)},
		"port":                      {"redirect_uri", other},
		"query":                     {"redirect_uri", cb + "?next=/"},
		"unknown client":            {"client_id", "no-such-client-id"},
		"redirect_uri of another":   {"redirect_uri", web.conf.RedirectURL},
		"redirect_uri missing":      {"redirect_uri", ""},
	} {
		t.Run(name, func(t *testing.T) {
			expectShown(t, anon.get(s.local(spa.authURL(v, edit...))), "does not work")
		})
	}

	// Sent back with iss and state.
	spa.expectError(anon.get(s.local(spa.authURL(v, "code_challenge", "", "code_challenge_method", ""))), "invalid_request")
	spa.expectError(anon.get(s.local(spa.authURL(v, "code_challenge_method", "plain", "code_challenge", v))), "invalid_request")
	spa.expectError(anon.get(s.local(spa.authURL(v, "code_challenge_method", ""))), "invalid_request")
	spa.expectError(anon.get(s.local(spa.authURL(v, "response_type", "token"))), "unsupported_response_type")
	spa.expectError(anon.get(s.local(spa.authURL(v, "scope", "openid admin"))), "invalid_scope")
	spa.expectError(anon.get(s.local(spa.authURL(v, "request", "eyJhbGciOiJub25lIn0.e30."))), "request_not_supported")
	// prompt=none without a session: login_required, no sign-in page.
	spa.expectError(anon.get(s.local(spa.authURL(v, "prompt", "none"))), "login_required")

	// Signed in, a client that is not first-party still needs consent:
	// prompt=none cannot ask for it.
	b := s.browser()
	web.authorize(b, web.authURL(v), "refuse@example.com", true)
	spa.expectError(b.get(s.local(spa.authURL(v, "prompt", "none"))), "consent_required")
	// Consent denied.
	if got := spa.authorize(b, spa.authURL(v), "refuse@example.com", false); got.Get("error") != "access_denied" || got.Get("iss") != s.url || got.Has("code") {
		t.Fatalf("consent denied: got %v, want access_denied with iss", got)
	}
	// No state: still a code (the client's own CSRF defence is its
	// business), and iss all the same.
	got := web.authorize(b, web.authURL(v, "state", ""), "refuse@example.com", true)
	if got.Get("code") == "" || got.Has("state") || got.Get("iss") != s.url {
		t.Fatalf("without state: got %v, want a code with iss and no state", got)
	}
	// prompt=login signs in again, even with a session.
	p := b.get(s.local(web.authURL(v, "prompt", "login")))
	if loc := expectFound(t, p, "/signin?"); !strings.Contains(query(t, loc).Get("redirect_to"), "auth_after=") {
		t.Fatalf("prompt=login: got %q, want the sign-in page with a freshness demand", loc)
	}
}

// The refusals of the token endpoint.
func TestOIDCTokenRefusals(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.browser().signUp("refuse@example.com")
	spa := s.newRP(t, service.NewOAuthClient{Name: "SPA", Public: true, FirstParty: true})
	web := s.newRP(t, service.NewOAuthClient{Name: "Web", FirstParty: true})
	b := s.browser()
	v := oauth2.GenerateVerifier()

	t.Run("missing verifier", func(t *testing.T) {
		wantOAuth(t, http.StatusBadRequest, "invalid_grant")(spa.exchange(spa.codeFor(b, v), v, "code_verifier", ""))
	})
	t.Run("wrong verifier", func(t *testing.T) {
		wantOAuth(t, http.StatusBadRequest, "invalid_grant")(spa.exchange(spa.codeFor(b, v), oauth2.GenerateVerifier()))
	})
	t.Run("verifier without a challenge", func(t *testing.T) {
		code := web.codeFor(b, v, "code_challenge", "", "code_challenge_method", "")
		wantOAuth(t, http.StatusBadRequest, "invalid_grant")(web.exchange(code, v))
	})
	t.Run("code of another client", func(t *testing.T) {
		wantOAuth(t, http.StatusBadRequest, "invalid_grant")(web.exchange(spa.codeFor(b, v), v))
	})
	t.Run("redirect_uri differs", func(t *testing.T) {
		wantOAuth(t, http.StatusBadRequest, "invalid_grant")(spa.exchange(spa.codeFor(b, v), v, "redirect_uri", spa.conf.RedirectURL+"/"))
	})
	t.Run("confidential client without secret", func(t *testing.T) {
		code := web.codeFor(b, v)
		status, body := s.oauthPost("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {web.conf.RedirectURL}, "code_verifier": {v}, "client_id": {web.id}}, "", "")
		expectOAuth(t, status, body, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("confidential client with a wrong secret", func(t *testing.T) {
		code := web.codeFor(b, v)
		status, body := s.oauthPost("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {web.conf.RedirectURL}, "code_verifier": {v}}, web.id, "not-the-secret")
		expectOAuth(t, status, body, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("public client sending a secret", func(t *testing.T) {
		wantOAuth(t, http.StatusUnauthorized, "invalid_client")(spa.exchange(spa.codeFor(b, v), v, "client_secret", "made-up"))
	})
	t.Run("public client asking for client_credentials", func(t *testing.T) {
		status, body := s.oauthPost("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {spa.id}}, "", "")
		expectOAuth(t, status, body, http.StatusBadRequest, "unauthorized_client")
	})
	t.Run("unknown grant type", func(t *testing.T) {
		status, body := s.oauthPost("/oauth/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}}, web.id, web.secret)
		expectOAuth(t, status, body, http.StatusBadRequest, "unsupported_grant_type")
	})

	t.Run("code reuse revokes what it issued", func(t *testing.T) {
		code := spa.codeFor(b, v)
		status, tok := spa.exchange(code, v)
		if status != http.StatusOK {
			t.Fatalf("first exchange: got %d %v", status, tok)
		}
		wantOAuth(t, http.StatusBadRequest, "invalid_grant")(spa.exchange(code, v))
		if got := s.userinfo(tok["access_token"].(string)); got != http.StatusUnauthorized {
			t.Fatalf("the first exchange's access token after the reuse: got %d, want 401", got)
		}
		status, body := s.oauthPost("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}, "client_id": {spa.id}}, "", "")
		expectOAuth(t, status, body, http.StatusBadRequest, "invalid_grant")
	})

	t.Run("refresh: scope escalation, another client, reuse", func(t *testing.T) {
		code := spa.codeFor(b, v, "scope", "openid offline_access")
		status, tok := spa.exchange(code, v)
		if status != http.StatusOK {
			t.Fatalf("exchange: got %d %v", status, tok)
		}
		rt := tok["refresh_token"].(string)
		refresh := func(client, secret string, extra ...string) (int, map[string]any) {
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
			for i := 0; i+1 < len(extra); i += 2 {
				form.Set(extra[i], extra[i+1])
			}
			if secret != "" {
				return s.oauthPost("/oauth/token", form, client, secret)
			}
			form.Set("client_id", client)
			return s.oauthPost("/oauth/token", form, "", "")
		}
		wantOAuth(t, http.StatusBadRequest, "invalid_scope")(refresh(spa.id, "", "scope", "openid email"))
		wantOAuth(t, http.StatusBadRequest, "invalid_grant")(refresh(web.id, web.secret))
		// The built-in client's refresh route refuses a client's token.
		status, body := s.oauthPost("/api/v1/auth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "", "")
		expectOAuth(t, status, body, http.StatusBadRequest, "invalid_grant")
		// Narrowing is allowed, and rotates.
		status, next := refresh(spa.id, "", "scope", "openid")
		if status != http.StatusOK || next["scope"] != "openid" || next["refresh_token"] == rt {
			t.Fatalf("narrowed refresh: got %d %v", status, next)
		}
		// The rotated token again, past the grace: the session is revoked.
		if _, err := s.db.Pool.Exec(t.Context(), "UPDATE session_refresh_tokens SET rotated_at = now() - interval '1 minute' WHERE rotated_at IS NOT NULL"); err != nil {
			t.Fatal(err)
		}
		wantOAuth(t, http.StatusBadRequest, "invalid_grant")(refresh(spa.id, ""))
		if got := s.userinfo(next["access_token"].(string)); got != http.StatusUnauthorized {
			t.Fatalf("after refresh-token reuse: userinfo got %d, want 401", got)
		}
	})

	t.Run("expired code", func(t *testing.T) {
		s.oauth.CodeTTL = time.Second
		code := spa.codeFor(b, v)
		time.Sleep(1500 * time.Millisecond)
		wantOAuth(t, http.StatusBadRequest, "invalid_grant")(spa.exchange(code, v))
	})
}

// wantOAuth is expectOAuth taking the answer as a call's results.
func wantOAuth(t *testing.T, wantStatus int, code string) func(int, map[string]any) {
	t.Helper()
	return func(status int, body map[string]any) {
		t.Helper()
		expectOAuth(t, status, body, wantStatus, code)
	}
}

// The client_credentials grant, introspection and revocation by whom they
// belong to.
func TestOIDCServiceClients(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	svc := s.newRP(t, service.NewOAuthClient{Name: "Billing"})
	status, tok := s.oauthPost("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, svc.id, svc.secret)
	if status != http.StatusOK || tok["access_token"] == nil || tok["refresh_token"] != nil || tok["id_token"] != nil {
		t.Fatalf("client_credentials: got %d %v, want an access token only", status, tok)
	}
	at := tok["access_token"].(string)
	if _, in := s.oauthPost("/oauth/introspect", url.Values{"token": {at}}, svc.id, svc.secret); in["active"] != true || in["sub"] != svc.id {
		t.Fatalf("introspect: got %v, want active with sub = the client", in)
	}
	if got := s.userinfo(at); got != http.StatusUnauthorized {
		t.Fatalf("userinfo with a client's own token: got %d, want 401", got)
	}
	other := s.newRP(t, service.NewOAuthClient{Name: "Other"})
	if _, in := s.oauthPost("/oauth/introspect", url.Values{"token": {at}}, other.id, other.secret); in["active"] != false {
		t.Fatalf("introspect by another client: got %v, want inactive", in)
	}
	status, body := s.oauthPost("/oauth/introspect", url.Values{"token": {at}}, svc.id, "wrong")
	expectOAuth(t, status, body, http.StatusUnauthorized, "invalid_client")
	// A new secret: the old one stops working.
	secret, err := s.oauth.RotateClientSecret(t.Context(), service.Console(), svc.id)
	if err != nil {
		t.Fatal(err)
	}
	status, body = s.oauthPost("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, svc.id, svc.secret)
	expectOAuth(t, status, body, http.StatusUnauthorized, "invalid_client")
	if status, _ := s.oauthPost("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, svc.id, secret); status != http.StatusOK {
		t.Fatalf("with the rotated secret: got %d, want 200", status)
	}
}

// Logout redirects only to a URI the client registered, only for an ID
// token of userd's; every OpenID page refuses to be framed.
func TestOIDCLogoutAndFraming(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.browser().signUp("refuse@example.com")
	app := s.newRP(t, service.NewOAuthClient{Name: "Framed", FirstParty: false})
	b := s.browser()
	v := oauth2.GenerateVerifier()
	code := app.codeFor(b, v)
	status, tok := app.exchange(code, v)
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, tok)
	}
	idt := tok["id_token"].(string)

	// Every page of the provider: no framing (clickjacking).
	pages := map[string]page{
		"authorize error page": b.get("/oauth/authorize?client_id=nope"),
		"consent page":         b.get(s.local(app.authURL(v, "prompt", "consent"))),
		"connected apps":       b.get("/account/apps"),
		"sign-in for a client": s.browser().get("/signin?redirect_to=" + url.QueryEscape(s.local(app.authURL(v)))),
	}
	for name, q := range map[string]url.Values{
		"unregistered uri":       {"id_token_hint": {idt}, "post_logout_redirect_uri": {"https://evil.example/"}},
		"without id_token_hint":  {"post_logout_redirect_uri": {app.cb.URL + "/bye"}, "client_id": {app.id}},
		"forged id_token_hint":   {"id_token_hint": {idt[:len(idt)-4] + "AAAA"}, "post_logout_redirect_uri": {app.cb.URL + "/bye"}},
		"another client's token": {"id_token_hint": {idt}, "client_id": {"someone-else-123"}, "post_logout_redirect_uri": {app.cb.URL + "/bye"}},
	} {
		t.Run(name, func(t *testing.T) {
			p := b.get("/oauth/logout?" + q.Encode())
			if loc := p.header.Get("Location"); strings.HasPrefix(loc, "http") {
				t.Fatalf("logout redirected off the site to %q", loc)
			}
		})
	}

	pages["logout"] = b.get("/oauth/logout?" + url.Values{"id_token_hint": {idt}}.Encode())
	for name, p := range pages {
		csp := p.header.Get("Content-Security-Policy")
		if p.header.Get("X-Frame-Options") != "DENY" || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: X-Frame-Options %q, CSP %q; want DENY and frame-ancestors 'none'", name, p.header.Get("X-Frame-Options"), csp)
		}
	}
	// The consent and sign-in pages let their form lead to the client,
	// and nowhere else.
	for _, name := range []string{"consent page", "sign-in for a client"} {
		if csp := pages[name].header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+app.cb.URL+";") {
			t.Errorf("%s: CSP %q, want form-action 'self' and the client's origin", name, csp)
		}
	}
}
