package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/userd/userd/httpapi"
	"github.com/userd/userd/password"
)

// token posts a form to the token endpoint.
func (e *env) token(form url.Values, headers ...string) response {
	e.t.Helper()
	return e.do("POST", "/api/v1/auth/token", "", form.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)...)
}

// expectOAuth fails the test unless r is an RFC 6749 answer of status
// with, for errors, the error code: JSON, never stored.
func expectOAuth(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got status %d (%s), want %d", r.status, r.body, status)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("got Content-Type %q, want application/json", ct)
	}
	if cc, p := r.header.Get("Cache-Control"), r.header.Get("Pragma"); cc != "no-store" || p != "no-cache" {
		t.Errorf("got Cache-Control %q and Pragma %q, want no-store and no-cache", cc, p)
	}
	if code != "" {
		if got := r.json(t)["error"]; got != code {
			t.Fatalf("got error %v, want %s (%s)", got, code, r.body)
		}
	}
}

// oauthConfig is a golang.org/x/oauth2 client of e's token endpoint, and
// the context that makes it use e's HTTP client.
func (e *env) oauthConfig(style oauth2.AuthStyle) (*oauth2.Config, context.Context) {
	conf := &oauth2.Config{ClientID: localAudience, Endpoint: oauth2.Endpoint{TokenURL: e.srv.URL + "/api/v1/auth/token", AuthStyle: style}}
	return conf, context.WithValue(context.Background(), oauth2.HTTPClient, e.client)
}

// retrieveError is the RFC 6749 error code golang.org/x/oauth2 read.
func retrieveError(t testing.TB, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("got error %v, want an *oauth2.RetrieveError", err)
	}
	return re.ErrorCode
}

// TestTokenEndpointWithOAuth2: golang.org/x/oauth2, unchanged, signs in
// with each login identifier through the password grant, and its
// TokenSource refreshes an expired token through the refresh_token grant
// (rotating it) and calls the API with it.
func TestTokenEndpointWithOAuth2(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := e.register(map[string]any{"email": "oauth@example.com", "username": "oauth_user", "phone": "+919812345670"})
	id := userID(t, reg)
	conf, ctx := e.oauthConfig(oauth2.AuthStyleInParams)

	for _, identifier := range []string{"oauth@example.com", "OAuth_User", "98123 45670"} {
		start := time.Now()
		tok, err := conf.PasswordCredentialsToken(ctx, identifier, testPassword)
		if err != nil {
			t.Fatalf("PasswordCredentialsToken(%q): %v", identifier, err)
		}
		if tok.Type() != "Bearer" || tok.RefreshToken == "" || !tok.Valid() {
			t.Fatalf("%q: got token type %q, refresh %q, valid %v; want a valid Bearer token with a refresh token", identifier, tok.Type(), tok.RefreshToken, tok.Valid())
		}
		if d := tok.Expiry.Sub(start); d < 14*time.Minute || d > 16*time.Minute {
			t.Errorf("%q: got expiry in %v, want the 15 minutes of expires_in", identifier, d)
		}
		if at, _ := tok.Extra("expires_at").(float64); time.Unix(int64(at), 0).Sub(tok.Expiry).Abs() > 2*time.Second {
			t.Errorf("%q: got expires_at %v, want the expiry %v in Unix seconds", identifier, at, tok.Expiry.Unix())
		}
	}

	tok, err := conf.PasswordCredentialsToken(ctx, "oauth@example.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	first := *tok
	tok.Expiry = time.Now().Add(-time.Second) // as if 15 minutes had passed
	ts := conf.TokenSource(ctx, tok)
	client := oauth2.NewClient(ctx, ts)
	res, err := client.Get(e.srv.URL + "/api/v1/users/me")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/users/me with the refreshed token: got %d, want 200", res.StatusCode)
	}
	refreshed, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.AccessToken == first.AccessToken || refreshed.RefreshToken == first.RefreshToken || !refreshed.Valid() {
		t.Fatal("the TokenSource did not refresh the expired token into a new valid pair (access and rotated refresh token)")
	}
	again, err := ts.Token()
	if err != nil || again.AccessToken != refreshed.AccessToken {
		t.Fatalf("a valid token was refreshed again (or failed: %v)", err)
	}
	me := e.do("GET", "/api/v1/users/me", refreshed.AccessToken, nil)
	expect(t, me, http.StatusOK, "")
	if got := int64(me.json(t)["id"].(float64)); got != id {
		t.Fatalf("the refreshed token is user %d's, want %d", got, id)
	}

	// The spent refresh token, presented again after the grace: refused,
	// and the whole session is revoked (reuse detection), as on
	// /api/v1/auth/refresh.
	e.accounts.RefreshGrace = 0
	_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
	if code := retrieveError(t, err); code != "invalid_grant" {
		t.Fatalf("reused refresh token: got error %q, want invalid_grant", code)
	}
	_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshed.RefreshToken}).Token()
	if code := retrieveError(t, err); code != "invalid_grant" {
		t.Fatalf("refresh token of a session revoked for reuse: got error %q, want invalid_grant", code)
	}
	if got := e.revokedReason(refreshed.RefreshToken); got == nil || *got != "reuse_detected" {
		t.Fatalf("revoked_reason: got %v, want reuse_detected", got)
	}

	// Errors golang.org/x/oauth2 reads.
	_, err = conf.PasswordCredentialsToken(ctx, "oauth@example.com", "not the password")
	if code := retrieveError(t, err); code != "invalid_grant" {
		t.Errorf("wrong password: got error %q, want invalid_grant", code)
	}
	_, err = conf.Exchange(ctx, "some-code")
	if code := retrieveError(t, err); code != "unsupported_grant_type" {
		t.Errorf("authorization_code grant: got error %q, want unsupported_grant_type", code)
	}
}

// TestTokenEndpointSharesLoginLimits: failed password grants count in the
// same limits as failed JSON logins, and golang.org/x/oauth2's default
// client authentication probe (Basic first, then the form) costs one
// attempt, not two: its Basic try is refused before any password check.
func TestTokenEndpointSharesLoginLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(map[string]any{"username": "limited_user"})
	conf, ctx := e.oauthConfig(oauth2.AuthStyleAutoDetect)
	if _, err := conf.PasswordCredentialsToken(ctx, "limited_user", testPassword); err != nil {
		t.Fatalf("default client authentication probe: %v", err)
	}

	perIdentifier := e.accounts.Limits.PerIdentifierIP
	for i := range perIdentifier {
		if i%2 == 0 {
			expect(t, e.login("limited_user", "wrong password"), http.StatusUnauthorized, "invalid_credentials")
			continue
		}
		conf, ctx := e.oauthConfig(oauth2.AuthStyleAutoDetect) // a fresh probe each time
		_, err := conf.PasswordCredentialsToken(ctx, "limited_user", "wrong password")
		if code := retrieveError(t, err); code != "invalid_grant" {
			t.Fatalf("failure %d of %d: got error %q, want invalid_grant", i+1, perIdentifier, code)
		}
	}
	r := e.token(url.Values{"grant_type": {"password"}, "username": {"limited_user"}, "password": {testPassword}})
	expectOAuth(t, r, http.StatusTooManyRequests, "rate_limited")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("got Retry-After %q, want whole seconds", r.header.Get("Retry-After"))
	}
	expect(t, e.login("limited_user", testPassword), http.StatusTooManyRequests, "rate_limited")
}

// TestTokenEndpointErrors: each RFC 6749 §5.2 error with its status, as
// openapi.json documents it; none signs anyone in.
func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(map[string]any{"email": "oauth-errors@example.com"})
	password := func(extra ...string) url.Values {
		v := url.Values{"grant_type": {"password"}, "username": {"oauth-errors@example.com"}, "password": {testPassword}}
		for i := 0; i+1 < len(extra); i += 2 {
			v[extra[i]] = append(v[extra[i]], extra[i+1])
		}
		return v
	}
	form := "application/x-www-form-urlencoded"
	for _, c := range []struct {
		name    string
		r       response
		status  int
		code    string
		details string // in error_description
	}{
		{"wrong password", e.token(url.Values{"grant_type": {"password"}, "username": {"oauth-errors@example.com"}, "password": {"wrong"}}), 400, "invalid_grant", ""},
		{"unknown user", e.token(url.Values{"grant_type": {"password"}, "username": {"nobody@example.com"}, "password": {"wrong"}}), 400, "invalid_grant", ""},
		{"unknown refresh token", e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"not-a-token"}}), 400, "invalid_grant", ""},
		{"unknown grant", e.token(url.Values{"grant_type": {"client_credentials"}}), 400, "unsupported_grant_type", "password"},
		{"no grant_type", e.token(url.Values{"username": {"x"}, "password": {"y"}}), 400, "invalid_request", "grant_type"},
		{"no password", e.token(url.Values{"grant_type": {"password"}, "username": {"oauth-errors@example.com"}}), 400, "invalid_request", "password"},
		{"empty password", e.token(url.Values{"grant_type": {"password"}, "username": {"oauth-errors@example.com"}, "password": {""}}), 400, "invalid_request", "password"},
		{"no username", e.token(url.Values{"grant_type": {"password"}, "password": {testPassword}}), 400, "invalid_request", "username"},
		{"no refresh_token", e.token(url.Values{"grant_type": {"refresh_token"}}), 400, "invalid_request", "refresh_token"},
		{"password twice", e.token(password("password", "other")), 400, "invalid_request", "more than once"},
		{"grant_type twice", e.token(password("grant_type", "refresh_token")), 400, "invalid_request", "more than once"},
		{"not UTF-8", e.do("POST", "/api/v1/auth/token", "", "grant_type=password&username=%FF&password=x", "Content-Type", form), 400, "invalid_request", "UTF-8"},
		{"NUL", e.do("POST", "/api/v1/auth/token", "", "grant_type=password&username=a%00b&password=x", "Content-Type", form), 400, "invalid_request", "UTF-8"},
		{"malformed form", e.do("POST", "/api/v1/auth/token", "", "grant_type=password&username=%zz", "Content-Type", form), 400, "invalid_request", "form"},
		{"no body", e.do("POST", "/api/v1/auth/token", "", nil), 400, "invalid_request", "grant_type"},
		{"other client_id", e.token(password("client_id", "someone-else")), 400, "invalid_client", localAudience},
		{"client secret in Basic", e.token(password(), "Authorization", "Basic dXNlcmQ6c2VjcmV0"), 401, "invalid_client", "Authorization"},
		{"JSON", e.do("POST", "/api/v1/auth/token", "", map[string]any{"grant_type": "password", "username": "oauth-errors@example.com", "password": testPassword}), 415, "invalid_request", "application/x-www-form-urlencoded"},
		{"a body of no type", e.do("POST", "/api/v1/auth/token", "", password().Encode(), "Content-Type", ""), 415, "invalid_request", "application/x-www-form-urlencoded"},
		{"too large", e.do("POST", "/api/v1/auth/token", "", "grant_type=password&username="+strings.Repeat("a", httpapi.MaxBody), "Content-Type", form), 413, "invalid_request", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			expectOAuth(t, c.r, c.status, c.code)
			if d, _ := c.r.json(t)["error_description"].(string); !strings.Contains(d, c.details) {
				t.Errorf("got error_description %q, want it to mention %q", d, c.details)
			}
			if c.status == http.StatusUnauthorized && c.r.header.Get("WWW-Authenticate") == "" {
				t.Error("a 401 without WWW-Authenticate")
			}
		})
	}
	var sessions int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions`).Scan(&sessions); err != nil || sessions != 1 {
		t.Fatalf("got %d sessions (%v), want only the registration's", sessions, err)
	}

	// What works: client_id as the audience, unknown parameters ignored.
	r := e.token(password("client_id", localAudience, "scope", "openid"))
	expectOAuth(t, r, http.StatusOK, "")
	if r.json(t)["token_type"] != "bearer" {
		t.Errorf("got token_type %v, want bearer", r.json(t)["token_type"])
	}
	_, refresh := tokens(r.json(t))
	r = e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {localAudience}})
	expectOAuth(t, r, http.StatusOK, "")
}

// TestTokenEndpointOverloaded: with no hashing slot to be had, a password
// grant is 503 temporarily_unavailable with Retry-After, as login is 503
// overloaded, and counts as no failed attempt.
func TestTokenEndpointOverloaded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(map[string]any{"username": "busy_user"})
	gate := password.NewGate(password.GateConfig{Concurrency: 1, Queue: 1, Wait: 10 * time.Millisecond})
	e.gate = gate
	e.reopen()
	hold, err := gate.Enter(context.Background()) // the one slot: nothing can hash
	if err != nil {
		t.Fatal(err)
	}
	r := e.token(url.Values{"grant_type": {"password"}, "username": {"busy_user"}, "password": {"wrong password"}})
	expectOAuth(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	hold()
	var failures int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM login_failures`).Scan(&failures); err != nil || failures != 0 {
		t.Fatalf("got %d login failures (%v), want none: the password was never checked", failures, err)
	}
	expectOAuth(t, e.token(url.Values{"grant_type": {"password"}, "username": {"busy_user"}, "password": {testPassword}}), http.StatusOK, "")
}

// TestTokenEndpointDisabledAccount: a deactivated account is refused at
// the token endpoint as RFC 6749 §5.2 says a refused grant is,
// invalid_grant (400), through the password grant and through the
// refresh_token grant, also when the account's sessions were left live
// (a row changed under the service) and the refresh reaches the account's
// state.
func TestTokenEndpointDisabledAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := userID(t, e.register(map[string]any{"email": "oauth-disabled@example.com"}))
	r := e.token(url.Values{"grant_type": {"password"}, "username": {"oauth-disabled@example.com"}, "password": {testPassword}})
	expectOAuth(t, r, http.StatusOK, "")
	_, refresh := tokens(r.json(t))
	if _, err := e.pool.Exec(context.Background(), `UPDATE users SET is_active = false WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	r = e.token(url.Values{"grant_type": {"password"}, "username": {"oauth-disabled@example.com"}, "password": {testPassword}})
	expectOAuth(t, r, http.StatusBadRequest, "invalid_grant")
	r = e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	expectOAuth(t, r, http.StatusBadRequest, "invalid_grant")
	// The refusal was the account's state, not a dead session: the
	// session is still live, and the same answer on the JSON route says so.
	expect(t, e.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": refresh}), http.StatusForbidden, "account_disabled")
}
