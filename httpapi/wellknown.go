package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/userd/userd/service"
)

// document is a response body that changes only when userd restarts (with
// another release, key set or configuration): the OpenAPI document, the
// JWKS and the discovery document. Clients and proxies may keep it for
// five minutes and then revalidate it with its ETag.
type document struct {
	contentType string
	body        []byte
	tag         string // of the strong ETag, unquoted: a hash of body
}

func newDocument(contentType string, body []byte) document {
	sum := sha256.Sum256(body)
	return document{contentType: contentType, body: body, tag: base64.RawURLEncoding.EncodeToString(sum[:18])}
}

// serve answers 200 with the body, or 304 Not Modified (no body) when the
// request's If-None-Match names the document's ETag or is "*". Both carry
// the ETag and Cache-Control.
func (d document) serve(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("ETag", `"`+d.tag+`"`)
	w.Header().Set("Cache-Control", "public, max-age=300")
	if slices.ContainsFunc(ifNoneMatch(r.Header.Get("If-None-Match")), func(t string) bool { return t == "*" || t == d.tag }) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Type", d.contentType)
	_, _ = w.Write(d.body)
	return nil
}

// documents are the documents of a Server, each made at its first request.
type documents struct {
	openAPI   func() (document, error)
	jwks      func() (document, error)
	discovery func() (document, error)
}

func (s *Server) newDocuments() documents {
	return documents{
		openAPI: sync.OnceValues(func() (document, error) {
			return newDocument("application/json", openAPIDocument), nil
		}),
		jwks: sync.OnceValues(func() (document, error) {
			b, err := s.accounts.JWKS()
			return newDocument("application/jwk-set+json", b), err
		}),
		discovery: sync.OnceValues(s.discoveryDocument),
	}
}

// served is a handler that serves the document doc makes.
func served(doc func() (document, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		d, err := doc()
		if err != nil {
			return err
		}
		return d.serve(w, r)
	}
}

// discoveryView is the authorization server metadata (RFC 8414) and OpenID
// Provider metadata (OpenID Connect Discovery 1.0) of userd's own tokens.
// userd has no authorization endpoint: clients sign in at the token
// endpoint with a password grant and refresh there, so no response type
// is supported. Its tokens are access tokens, not ID tokens; the
// id_token_signing_alg_values_supported member lists their algorithms
// because OpenID Connect verifiers (go-oidc) accept only what it lists.
type discoveryView struct {
	Issuer                            string   `json:"issuer"`
	JWKSURI                           string   `json:"jwks_uri"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	oidcMetadata
}

// oidcMetadata is the part of the discovery document that describes the
// OpenID provider, when there is one.
type oidcMetadata struct {
	AuthorizationEndpoint             string   `json:"authorization_endpoint,omitempty"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint,omitempty"`
	RevocationEndpoint                string   `json:"revocation_endpoint,omitempty"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint,omitempty"`
	EndSessionEndpoint                string   `json:"end_session_endpoint,omitempty"`
	ScopesSupported                   []string `json:"scopes_supported,omitempty"`
	ClaimsSupported                   []string `json:"claims_supported,omitempty"`
	ResponseModesSupported            []string `json:"response_modes_supported,omitempty"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported,omitempty"`
	PromptValuesSupported             []string `json:"prompt_values_supported,omitempty"`
	ACRValuesSupported                []string `json:"acr_values_supported,omitempty"`
	RevocationAuthMethods             []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	IntrospectionAuthMethods          []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	IssParameterSupported             bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
	ClaimsParameterSupported          *bool    `json:"claims_parameter_supported,omitempty"`
	RequestParameterSupported         *bool    `json:"request_parameter_supported,omitempty"`
	RequestURIParameterSupported      *bool    `json:"request_uri_parameter_supported,omitempty"`
	FrontchannelLogoutSupported       *bool    `json:"frontchannel_logout_supported,omitempty"`
	BackchannelLogoutSupported        *bool    `json:"backchannel_logout_supported,omitempty"`
	UserinfoSigningAlgValuesSupported []string `json:"userinfo_signing_alg_values_supported,omitempty"`
}

// grantTypes are the grant types the token endpoint takes.
var grantTypes = []string{grantPassword, grantRefreshToken}

// discoveryDocument is served at both /.well-known/openid-configuration and
// /.well-known/oauth-authorization-server. Its endpoints are under the
// public URL, which is also the default issuer.
func (s *Server) discoveryDocument() (document, error) {
	ti := s.accounts.TokenIssuer()
	v := discoveryView{
		Issuer:                            ti.Issuer,
		JWKSURI:                           s.publicURL + "/.well-known/jwks.json",
		TokenEndpoint:                     s.publicURL + tokenPath,
		GrantTypesSupported:               grantTypes,
		TokenEndpointAuthMethodsSupported: []string{"none"},
		ResponseTypesSupported:            []string{},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  ti.Algorithms,
	}
	if s.oauth != nil {
		no := false
		secret := []string{"client_secret_basic", "client_secret_post"}
		v.TokenEndpoint = s.publicURL + "/oauth/token"
		v.GrantTypesSupported = []string{service.GrantAuthorizationCode, service.GrantRefreshToken, service.GrantClientCredentials}
		if !s.noPasswordGrant {
			v.GrantTypesSupported = append(v.GrantTypesSupported, grantPassword)
		}
		v.TokenEndpointAuthMethodsSupported = append(slices.Clone(secret), "none")
		v.ResponseTypesSupported = []string{"code"}
		v.oidcMetadata = oidcMetadata{
			AuthorizationEndpoint: s.publicURL + "/oauth/authorize",
			UserinfoEndpoint:      s.publicURL + "/oauth/userinfo",
			RevocationEndpoint:    s.publicURL + "/oauth/revoke",
			IntrospectionEndpoint: s.publicURL + "/oauth/introspect",
			EndSessionEndpoint:    s.publicURL + "/oauth/logout",
			ScopesSupported:       service.OAuthScopes,
			ClaimsSupported: []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "sid",
				"name", "given_name", "family_name", "preferred_username", "picture", "updated_at",
				"email", "email_verified", "phone_number", "phone_number_verified"},
			ResponseModesSupported:        []string{"query"},
			CodeChallengeMethodsSupported: []string{"S256"},
			PromptValuesSupported:         []string{"none", "login", "consent", "select_account"},
			ACRValuesSupported:            []string{"aal1"},
			RevocationAuthMethods:         append(slices.Clone(secret), "none"),
			IntrospectionAuthMethods:      secret,
			IssParameterSupported:         true,
			ClaimsParameterSupported:      &no,
			RequestParameterSupported:     &no,
			RequestURIParameterSupported:  &no,
			FrontchannelLogoutSupported:   &no,
			BackchannelLogoutSupported:    &no,
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return document{}, fmt.Errorf("encode discovery document: %w", err)
	}
	return newDocument("application/json", append(b, '\n')), nil
}
