package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestPasswordGrantOff: with USERD_PASSWORD_GRANT=off (the prod default)
// the password grant is refused at both token endpoints, while the
// refresh of the built-in client's sessions still works; on, /oauth/token
// takes it as /api/v1/auth/token does, for the built-in client only.
func TestPasswordGrantOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, refresh := tokens(e.register(map[string]any{"email": "grant@example.com"}))
	pw := url.Values{"grant_type": {"password"}, "username": {"grant@example.com"}, "password": {testPassword}}
	oauthToken := func(form url.Values, headers ...string) response {
		return e.do("POST", "/oauth/token", "", form.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)...)
	}
	expectOAuth(t, oauthToken(pw), http.StatusOK, "")
	other := url.Values{"client_id": {"a-registered-client"}}
	for k, v := range pw {
		other[k] = v
	}
	expectOAuth(t, oauthToken(other), http.StatusBadRequest, "invalid_client")

	e.noPasswordGrant = true
	e.reopen()
	expectOAuth(t, e.token(pw), http.StatusBadRequest, "unsupported_grant_type")
	expectOAuth(t, oauthToken(pw), http.StatusBadRequest, "unsupported_grant_type")
	expectOAuth(t, oauthToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}), http.StatusOK, "")
}
