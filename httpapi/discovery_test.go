package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/userd/userd/signing"
)

// TestDiscoveryWithGoOIDC: go-oidc, unchanged, finds userd from its issuer
// alone (NewProvider), and the verifier it makes for the audience accepts
// userd's access tokens and refuses the IdP's and forged ones.
func TestDiscoveryWithGoOIDC(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ownIssuer = true
	e.reopen()
	ctx := oidc.ClientContext(context.Background(), e.client)

	provider, err := oidc.NewProvider(ctx, e.issuer)
	if err != nil {
		t.Fatalf("NewProvider(%s): %v", e.issuer, err)
	}
	if got, want := provider.Endpoint().TokenURL, e.issuer+"/oauth/token"; got != want {
		t.Errorf("token endpoint: got %q, want %q", got, want)
	}
	var meta struct {
		Grants     []string `json:"grant_types_supported"`
		AuthMethod []string `json:"token_endpoint_auth_methods_supported"`
		Algs       []string `json:"id_token_signing_alg_values_supported"`
		Subjects   []string `json:"subject_types_supported"`
		JWKS       string   `json:"jwks_uri"`
	}
	if err := provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(meta.Grants, []string{"authorization_code", "refresh_token", "client_credentials", "password"}) ||
		!slices.Equal(meta.AuthMethod, []string{"client_secret_basic", "client_secret_post", "none"}) ||
		!slices.Equal(meta.Algs, e.keys.Algorithms()) || !slices.Equal(meta.Subjects, []string{"public"}) || meta.JWKS != e.issuer+"/.well-known/jwks.json" {
		t.Errorf("got metadata %+v", meta)
	}

	verifier := provider.Verifier(&oidc.Config{ClientID: localAudience})
	reg := e.register(map[string]any{"username": "oidc_user"})
	access, _ := tokens(reg)
	tok, err := verifier.Verify(ctx, access)
	if err != nil {
		t.Fatalf("Verify(userd's access token): %v", err)
	}
	if got, want := tok.Subject, strconv.FormatInt(userID(t, reg), 10); got != want {
		t.Errorf("got subject %q, want the user id %s", got, want)
	}
	var claims struct {
		Role string `json:"role"`
	}
	if err := tok.Claims(&claims); err != nil || claims.Role != "user" {
		t.Errorf("got role %q (%v), want user", claims.Role, err)
	}

	// Refused: the IdP's token (another issuer, another key); one with
	// userd's issuer and audience signed with a key userd does not hold;
	// and userd's token for a verifier of another audience.
	other, err := signing.Generate()
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Sign(signing.Claims{Issuer: e.issuer, Audience: localAudience, Subject: tok.Subject, IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{"the IdP's token": e.idp.sign("oidc-idp-user", nil), "a token of another key": forged} {
		if _, err := verifier.Verify(ctx, bad); err == nil {
			t.Errorf("Verify(%s): got no error", name)
		}
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: "someone-else"}).Verify(ctx, access); err == nil {
		t.Error("Verify for another audience: got no error")
	}

	// Both documents are the same, cached like the JWKS and the OpenAPI
	// document, and revalidated with their ETag.
	oidcDoc := e.do("GET", "/.well-known/openid-configuration", "", nil)
	oauthDoc := e.do("GET", "/.well-known/oauth-authorization-server", "", nil)
	if !bytes.Equal(oidcDoc.body, oauthDoc.body) || oidcDoc.header.Get("ETag") != oauthDoc.header.Get("ETag") {
		t.Errorf("the two discovery documents differ:\n%s\n%s", oidcDoc.body, oauthDoc.body)
	}
	for _, key := range []string{"GET /.well-known/openid-configuration", "GET /.well-known/oauth-authorization-server", "GET /.well-known/jwks.json", "GET /openapi.json"} {
		path := key[len("GET "):]
		r := e.do("GET", path, "", nil)
		expect(t, r, http.StatusOK, "")
		etag := r.header.Get("ETag")
		for _, inm := range []string{etag, "W/" + etag, `"stale", ` + etag, "*"} {
			r := e.do("GET", path, "", nil, "If-None-Match", inm)
			if r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != etag {
				t.Errorf("%s If-None-Match: %s: got %d %q ETag %q, want 304, no body, the ETag", key, inm, r.status, r.body, r.header.Get("ETag"))
			}
		}
		if stale := e.do("GET", path, "", nil, "If-None-Match", `"stale"`); stale.status != http.StatusOK || !bytes.Equal(stale.body, r.body) {
			t.Errorf("%s with a stale ETag: got %d, want 200 and the document", key, stale.status)
		}
	}
}
