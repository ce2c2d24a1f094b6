package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/userd/userd/service"
)

// The OpenID provider's endpoints that are not pages: token, userinfo,
// revocation, introspection, and the administration of clients. The
// authorization endpoint and logout are pages (package web); the rules are
// service.OAuth's.

// oidcRoutes registers the provider's endpoints; without a provider
// (Deps.OAuth nil) they answer 404.
func (s *Server) oidcRoutes() {
	s.handle("POST /oauth/token", s.withOAuth(s.oauthToken))
	s.handle("GET /oauth/userinfo", s.withOAuth(s.userinfo))
	s.handle("POST /oauth/userinfo", s.withOAuth(s.userinfo))
	s.handle("POST /oauth/revoke", s.withOAuth(s.revoke))
	s.handle("POST /oauth/introspect", s.withOAuth(s.introspect))
	s.handle("GET /api/v1/admin/clients", s.may(service.PermManageClients, s.withOAuth(get(s.listClients))))
	s.handle("POST /api/v1/admin/clients", s.may(service.PermManageClients, s.withOAuth(body(http.StatusCreated, s.addClient))))
	s.handle("GET /api/v1/admin/clients/{client_id}", s.may(service.PermManageClients, s.withOAuth(get(s.getClient))))
	s.handle("DELETE /api/v1/admin/clients/{client_id}", s.may(service.PermManageClients, s.withOAuth(act(http.StatusNoContent, s.removeClient))))
	s.handle("POST /api/v1/admin/clients/{client_id}/rotate-secret", s.may(service.PermManageClients, s.withOAuth(act(http.StatusOK, s.rotateClientSecret))))
}

// withOAuth answers 404 when the server has no OpenID provider.
func (s *Server) withOAuth(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.oauth == nil {
			return service.ErrNotFound
		}
		return h(w, r)
	}
}

// oauthForm reads the form body of an OAuth endpoint: valid UTF-8, no
// parameter twice (RFC 6749 §3.2).
func oauthForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	b, err := readBody(w, r, MaxBody)
	if err != nil {
		return nil, err
	}
	if ct := r.Header.Get("Content-Type"); mediaType(r) != formType && (ct != "" || len(b) > 0) {
		return nil, &apiError{http.StatusUnsupportedMediaType, "invalid_request", fmt.Sprintf("the body must be %s, not %q", formType, ct)}
	}
	v, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, invalidRequest("the body is not a well-formed %s form", formType)
	}
	for name, vs := range v {
		if len(vs) > 1 {
			return nil, invalidRequest("parameter %s given more than once", name)
		}
	}
	return v, nil
}

// oauthPost starts an answer of the token, revocation and introspection
// endpoints: never cached (RFC 6749 §5.1), and the request's form, a
// failure already in the OAuth error shape.
func oauthPost(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	f, err := oauthForm(w, r)
	if err != nil {
		return nil, oauthFailure{err}
	}
	return f, nil
}

// clientCredentials reads how a client authenticates: HTTP Basic
// (client_secret_basic, form-urlencoded parts) or client_id and
// client_secret in the form (client_secret_post), not both.
func clientCredentials(r *http.Request, f url.Values) (service.ClientCredentials, error) {
	if id, secret, ok := r.BasicAuth(); ok {
		if f.Has("client_secret") {
			return service.ClientCredentials{}, invalidRequest("send the client secret one way: HTTP Basic or the form, not both")
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return service.ClientCredentials{}, &apiError{http.StatusUnauthorized, "invalid_client", "the Basic credentials are not form-urlencoded"}
		}
		if f.Has("client_id") && f.Get("client_id") != id {
			return service.ClientCredentials{}, invalidRequest("client_id differs from the Basic credentials")
		}
		return service.ClientCredentials{ID: id, Secret: secret, Sent: true}, nil
	}
	if r.Header.Get("Authorization") != "" {
		return service.ClientCredentials{}, &apiError{http.StatusUnauthorized, "invalid_client", "the Authorization header must be Basic client credentials"}
	}
	return service.ClientCredentials{ID: f.Get("client_id"), Secret: f.Get("client_secret"), Sent: f.Has("client_secret")}, nil
}

// oauthFailed turns a service.OAuthError into the token endpoint's error
// (RFC 6749 §5.2): invalid_client is 401, the rest 400.
func oauthFailed(err error) error {
	var oe *service.OAuthError
	if errors.As(err, &oe) {
		status := http.StatusBadRequest
		if oe.Code == service.ErrOAuthInvalidClient.Code {
			status = http.StatusUnauthorized
		}
		err = &apiError{status, oe.Code, oe.Description}
	}
	return oauthFailure{err}
}

// oauthTokenView is a token response (RFC 6749 §5.1, OpenID Connect Core
// §3.1.3.3).
type oauthTokenView struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// oauthToken is POST /oauth/token. A request of the built-in first-party
// client (no client credentials, or client_id = the audience) and every
// password grant go the way /api/v1/auth/token goes, which stays its
// alias; any other is a registered client's.
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) error {
	f, err := oauthPost(w, r)
	if err != nil {
		return err
	}
	if f.Get("grant_type") == "" {
		return oauthFailure{invalidRequest("the grant_type parameter is missing")}
	}
	builtin := r.Header.Get("Authorization") == "" && (f.Get("client_id") == "" || f.Get("client_id") == s.accounts.TokenIssuer().Audience)
	if f.Get("grant_type") == grantPassword || (builtin && f.Get("grant_type") == grantRefreshToken) {
		t, err := parseTokenForm([]byte(f.Encode()))
		if err == nil {
			err = s.grantForm(w, r, t)
		}
		if err != nil {
			return oauthFailure{err}
		}
		return nil
	}
	creds, err := clientCredentials(r, f)
	if err != nil {
		return oauthFailure{err}
	}
	t, err := s.oauth.Token(r.Context(), service.TokenRequest{
		Client: creds, GrantType: f.Get("grant_type"), Code: f.Get("code"), RedirectURI: f.Get("redirect_uri"),
		CodeVerifier: f.Get("code_verifier"), RefreshToken: f.Get("refresh_token"), Scope: f.Get("scope"),
	}, clientOf(r))
	if err != nil {
		return oauthFailed(err)
	}
	return reply(w, http.StatusOK, oauthTokenView{
		AccessToken: t.AccessToken, TokenType: "Bearer", ExpiresIn: int64(t.ExpiresIn / time.Second),
		RefreshToken: t.RefreshToken, IDToken: t.IDToken, Scope: strings.Join(t.Scopes, " "),
	})
}

// userinfo is GET and POST /oauth/userinfo (OpenID Connect Core §5.3): the
// access token in the Authorization header or, POSTed, in the form
// (RFC 6750 §2.2). A refused token is 401 invalid_token with its RFC 6750
// challenge, a token without the openid scope 403 with
// error="insufficient_scope".
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	token, ok := bearer(r)
	if !ok && r.Method == http.MethodPost && r.ContentLength != 0 {
		f, err := oauthForm(w, r)
		if err != nil {
			return err
		}
		token, ok = f.Get("access_token"), f.Get("access_token") != ""
	}
	if !ok {
		return noToken{}
	}
	claims, err := s.oauth.UserInfo(r.Context(), token)
	switch {
	case errors.Is(err, service.ErrOAuthInsufficientScope):
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="openid"`)
		return fmt.Errorf("%w: %w", service.ErrForbidden, err)
	case errors.Is(err, service.ErrOAuthInvalidToken):
		return fmt.Errorf("%w: %w", service.ErrInvalidToken, err)
	case err != nil:
		return err
	}
	return reply(w, http.StatusOK, claims)
}

// revoke is POST /oauth/revoke (RFC 7009): 200 whether or not the token
// was live.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) error {
	f, err := oauthPost(w, r)
	if err != nil {
		return err
	}
	creds, err := clientCredentials(r, f)
	if err != nil {
		return oauthFailure{err}
	}
	if f.Get("token") == "" {
		return oauthFailure{invalidRequest("the token parameter is missing")}
	}
	if err := s.oauth.Revoke(r.Context(), creds, f.Get("token")); err != nil {
		return oauthFailed(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// introspectionView is RFC 7662 §2.2's answer.
type introspectionView struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Subject   string `json:"sub,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	ExpiresAt int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	SessionID string `json:"sid,omitempty"`
}

// introspect is POST /oauth/introspect (RFC 7662), for confidential
// clients.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) error {
	f, err := oauthPost(w, r)
	if err != nil {
		return err
	}
	creds, err := clientCredentials(r, f)
	if err != nil {
		return oauthFailure{err}
	}
	if f.Get("token") == "" {
		return oauthFailure{invalidRequest("the token parameter is missing")}
	}
	in, err := s.oauth.Introspect(r.Context(), creds, f.Get("token"))
	if err != nil {
		return oauthFailed(err)
	}
	if !in.Active {
		return reply(w, http.StatusOK, introspectionView{})
	}
	return reply(w, http.StatusOK, introspectionView{
		Active: true, Scope: in.Scope, ClientID: in.ClientID, Subject: in.Subject, TokenType: in.TokenType,
		ExpiresAt: in.ExpiresAt.Unix(), IssuedAt: in.IssuedAt.Unix(), Issuer: s.oauth.Issuer(), SessionID: in.SessionID,
	})
}

// clientView is an OAuth client.
type clientView struct {
	ClientID               string    `json:"client_id"`
	Name                   string    `json:"name"`
	Public                 bool      `json:"public"`
	FirstParty             bool      `json:"first_party"`
	RedirectURIs           []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris"`
	GrantTypes             []string  `json:"grant_types"`
	Scopes                 []string  `json:"scopes"`
	CreatedAt              time.Time `json:"created_at"`
}

// clientSecretView is a client with its secret, in the answers that make
// one (shown once; null for a public client).
type clientSecretView struct {
	clientView
	ClientSecret *string `json:"client_secret"`
}

func viewClient(c service.OAuthClient) clientView {
	return clientView{ClientID: c.ID, Name: c.Name, Public: c.Public, FirstParty: c.FirstParty, RedirectURIs: c.RedirectURIs,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, GrantTypes: c.GrantTypes, Scopes: c.Scopes, CreatedAt: c.CreatedAt}
}

type clientListView struct {
	Items []clientView `json:"items"`
}

func (s *Server) listClients(q req) (clientListView, error) {
	cs, err := s.oauth.Clients(q.Context(), q.caller())
	out := clientListView{Items: make([]clientView, len(cs))}
	for i, c := range cs {
		out.Items[i] = viewClient(c)
	}
	return out, err
}

type clientBody struct {
	Name                   string   `json:"name"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	Public                 bool     `json:"public"`
	FirstParty             bool     `json:"first_party"`
	GrantTypes             []string `json:"grant_types"`
	Scopes                 []string `json:"scopes"`
}

func (s *Server) addClient(q req, b clientBody) (clientSecretView, error) {
	c, secret, err := s.oauth.AddClient(q.Context(), q.caller(), service.NewOAuthClient{
		Name: b.Name, RedirectURIs: b.RedirectURIs, PostLogoutRedirectURIs: b.PostLogoutRedirectURIs,
		Public: b.Public, FirstParty: b.FirstParty, GrantTypes: b.GrantTypes, Scopes: b.Scopes,
	})
	v := clientSecretView{clientView: viewClient(c)}
	if secret != "" {
		v.ClientSecret = &secret
	}
	return v, err
}

func (s *Server) getClient(q req) (clientView, error) {
	return then(viewClient)(s.oauth.Client(q.Context(), q.caller(), q.PathValue("client_id")))
}

func (s *Server) removeClient(q req) (none, error) {
	return done(s.oauth.RemoveClient(q.Context(), q.caller(), q.PathValue("client_id")))
}

type clientSecretOnlyView struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

func (s *Server) rotateClientSecret(q req) (clientSecretOnlyView, error) {
	secret, err := s.oauth.RotateClientSecret(q.Context(), q.caller(), q.PathValue("client_id"))
	return clientSecretOnlyView{ClientID: q.PathValue("client_id"), ClientSecret: secret}, err
}
