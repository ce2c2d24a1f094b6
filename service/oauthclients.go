package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd/dbgen"
)

// The scopes and grants an OAuth client may be given.
var (
	OAuthScopes     = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopePhone, ScopeOfflineAccess}
	OAuthGrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials}
)

// Scopes and grant types (OpenID Connect Core §5.4, RFC 6749).
const (
	ScopeOpenID            = "openid"
	ScopeProfile           = "profile"
	ScopeEmail             = "email"
	ScopePhone             = "phone"
	ScopeOfflineAccess     = "offline_access"
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantPassword          = "password"
)

// OAuthClient is an application that signs people in with userd.
type OAuthClient struct {
	ID                     string
	Name                   string
	Public                 bool // no secret: PKCE required
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	GrantTypes             []string
	Scopes                 []string
	FirstParty             bool // no consent page
	CreatedAt              time.Time
}

// Allows reports whether the client may use grant.
func (c OAuthClient) Allows(grant string) bool { return slices.Contains(c.GrantTypes, grant) }

// NewOAuthClient is a client to register. Empty GrantTypes default to
// authorization_code and refresh_token (and client_credentials for a
// confidential client; only client_credentials when it has no redirect
// URI); empty Scopes to every scope.
type NewOAuthClient struct {
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Public                 bool
	FirstParty             bool
	GrantTypes             []string
	Scopes                 []string
}

func oauthClientFromRow(r dbgen.OauthClient) OAuthClient {
	return OAuthClient{
		ID: r.ID, Name: r.Name, Public: r.Public, RedirectURIs: r.RedirectUris, PostLogoutRedirectURIs: r.PostLogoutRedirectUris,
		GrantTypes: r.GrantTypes, Scopes: r.Scopes, FirstParty: r.FirstParty, CreatedAt: r.CreatedAt,
	}
}

// The management methods of clients take the caller right after ctx: an
// active platform admin (PermManageClients), or Console() for the
// operator at the command line (`userd clients …`).

// mayManageClients checks that by may manage clients, on by's row as the
// database has it now.
// Errors: forbidden.
func (o *OAuth) mayManageClients(ctx context.Context, by Principal) error {
	return mapDBError(mayNow(ctx, o.db.q, by, PermManageClients))
}

// checkRedirectURI reports what is wrong with a redirect URI to register:
// it must be absolute, without fragment or user info; https, http on a
// loopback host (a native app or a developer's machine), or a private-use
// scheme with a dot (com.example.app:/callback, RFC 8252 §7.1).
func checkRedirectURI(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || len(raw) > 2000:
		return "is not a URL"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not have a fragment"
	case u.User != nil:
		return "must not have user info"
	case u.Scheme == "https" && u.Host != "":
		return ""
	case u.Scheme == "http" && u.Host != "":
		h := u.Hostname()
		if ip := net.ParseIP(h); (ip != nil && ip.IsLoopback()) || h == "localhost" {
			return ""
		}
		return "http is allowed only on a loopback host; use https"
	case strings.Contains(u.Scheme, ".") && u.Opaque == "" && u.Path != "":
		return ""
	}
	return "must be an absolute https URL (http on loopback, or a private-use scheme like com.example.app:/cb)"
}

// checkClient validates c and fills in its defaults.
func checkClient(c NewOAuthClient) (NewOAuthClient, error) {
	var fields []FieldError
	c.Name = strings.TrimSpace(c.Name)
	if n := len([]rune(c.Name)); n < 1 || n > 100 {
		fields = append(fields, FieldError{"name", "must be 1 to 100 characters"})
	}
	for _, list := range []struct {
		field string
		uris  []string
	}{{"redirect_uri", c.RedirectURIs}, {"post_logout_redirect_uri", c.PostLogoutRedirectURIs}} {
		for _, u := range list.uris {
			if msg := checkRedirectURI(u); msg != "" {
				fields = append(fields, FieldError{list.field, fmt.Sprintf("%q %s", u, msg)})
			}
		}
	}
	if len(c.GrantTypes) == 0 {
		switch {
		case len(c.RedirectURIs) == 0 && !c.Public:
			c.GrantTypes = []string{GrantClientCredentials}
		case c.Public:
			c.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
		default:
			c.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials}
		}
	}
	for _, g := range c.GrantTypes {
		if !slices.Contains(OAuthGrantTypes, g) {
			fields = append(fields, FieldError{"grant_types", fmt.Sprintf("%q is not one of %s", g, strings.Join(OAuthGrantTypes, ", "))})
		}
	}
	if c.Public && slices.Contains(c.GrantTypes, GrantClientCredentials) {
		fields = append(fields, FieldError{"grant_types", "a public client cannot use client_credentials"})
	}
	if slices.Contains(c.GrantTypes, GrantAuthorizationCode) && len(c.RedirectURIs) == 0 {
		fields = append(fields, FieldError{"redirect_uri", "at least one is needed for the authorization_code grant"})
	}
	if len(c.Scopes) == 0 {
		c.Scopes = slices.Clone(OAuthScopes)
	}
	for _, s := range c.Scopes {
		if !slices.Contains(OAuthScopes, s) {
			fields = append(fields, FieldError{"scopes", fmt.Sprintf("%q is not one of %s", s, strings.Join(OAuthScopes, ", "))})
		}
	}
	if len(fields) > 0 {
		return c, Invalid(fields...)
	}
	if c.PostLogoutRedirectURIs == nil {
		c.PostLogoutRedirectURIs = []string{}
	}
	return c, nil
}

// newClientSecret returns a client secret (32 random bytes, base64url)
// and its stored hash.
func newClientSecret() (string, []byte, error) {
	return newOpaqueToken()
}

// AddClient registers a client and returns it with its secret ("" for a
// public client), which is shown this once.
// Errors: forbidden, validation_failed.
func (o *OAuth) AddClient(ctx context.Context, by Principal, in NewOAuthClient) (OAuthClient, string, error) {
	if err := o.mayManageClients(ctx, by); err != nil {
		return OAuthClient{}, "", err
	}
	in, err := checkClient(in)
	if err != nil {
		return OAuthClient{}, "", err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return OAuthClient{}, "", fmt.Errorf("client id: %w", err)
	}
	var secret string
	var hash []byte
	if !in.Public {
		if secret, hash, err = newClientSecret(); err != nil {
			return OAuthClient{}, "", err
		}
	}
	r, err := inTxV(ctx, o.db, func(q *dbgen.Queries) (dbgen.OauthClient, error) {
		r, err := q.OAuthClientCreate(ctx, dbgen.OAuthClientCreateParams{
			ID: base64.RawURLEncoding.EncodeToString(id[:]), Name: in.Name, Public: in.Public, SecretHash: hash,
			RedirectUris: in.RedirectURIs, PostLogoutRedirectUris: in.PostLogoutRedirectURIs,
			GrantTypes: in.GrantTypes, Scopes: in.Scopes, FirstParty: in.FirstParty,
		})
		if err != nil {
			return r, err
		}
		return r, audit(ctx, q, by.actor(), nil, "oauth.client_added", map[string]any{"client_id": r.ID, "public": r.Public, "first_party": r.FirstParty})
	})
	if err != nil {
		return OAuthClient{}, "", err
	}
	return oauthClientFromRow(r), secret, nil
}

// Clients lists the clients, oldest first.
// Errors: forbidden.
func (o *OAuth) Clients(ctx context.Context, by Principal) ([]OAuthClient, error) {
	if err := o.mayManageClients(ctx, by); err != nil {
		return nil, err
	}
	rows, err := o.db.q.OAuthClientList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]OAuthClient, len(rows))
	for i, r := range rows {
		out[i] = oauthClientFromRow(r)
	}
	return out, nil
}

// Client returns client id.
// Errors: forbidden, not_found.
func (o *OAuth) Client(ctx context.Context, by Principal, id string) (OAuthClient, error) {
	if err := o.mayManageClients(ctx, by); err != nil {
		return OAuthClient{}, err
	}
	r, err := o.db.q.OAuthClientGet(ctx, id)
	return oauthClientFromRow(r), err
}

// RemoveClient deletes client id; its codes, consents and sessions (and
// so its refresh and access tokens) go with it.
// Errors: forbidden, not_found.
func (o *OAuth) RemoveClient(ctx context.Context, by Principal, id string) error {
	if err := o.mayManageClients(ctx, by); err != nil {
		return err
	}
	return inTx(ctx, o.db, func(q *dbgen.Queries) error {
		n, err := q.OAuthClientDelete(ctx, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return audit(ctx, q, by.actor(), nil, "oauth.client_removed", map[string]any{"client_id": id})
	})
}

// RotateClientSecret gives confidential client id a new secret and
// returns it (shown this once); the old one stops working at once.
// Errors: forbidden, not_found (no such confidential client).
func (o *OAuth) RotateClientSecret(ctx context.Context, by Principal, id string) (string, error) {
	if err := o.mayManageClients(ctx, by); err != nil {
		return "", err
	}
	secret, hash, err := newClientSecret()
	if err != nil {
		return "", err
	}
	err = inTx(ctx, o.db, func(q *dbgen.Queries) error {
		n, err := q.OAuthClientSetSecret(ctx, dbgen.OAuthClientSetSecretParams{ID: id, SecretHash: hash})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return audit(ctx, q, by.actor(), nil, "oauth.client_secret_rotated", map[string]any{"client_id": id})
	})
	return secret, err
}

// ClientCredentials is how a client authenticated at the token,
// revocation or introspection endpoint: its id and the secret it sent
// (through HTTP Basic or the form), if any.
type ClientCredentials struct {
	ID     string
	Secret string
	Sent   bool // a secret was sent, even an empty one
}

// authenticateClient returns the client that creds name, if they prove it:
// a confidential client must send its secret; a public one must send none.
func (o *OAuth) authenticateClient(ctx context.Context, creds ClientCredentials) (dbgen.OauthClient, error) {
	if creds.ID == "" {
		return dbgen.OauthClient{}, oauthErr(ErrOAuthInvalidClient, "client authentication failed: no client_id")
	}
	r, err := o.db.q.OAuthClientGet(ctx, creds.ID)
	if err != nil {
		if noRows(err) || errorIsNotFound(err) {
			return r, oauthErr(ErrOAuthInvalidClient, "client authentication failed: unknown client")
		}
		return r, err
	}
	if r.Public {
		if creds.Sent {
			return r, oauthErr(ErrOAuthInvalidClient, "a public client does not authenticate: send no client_secret")
		}
		return r, nil
	}
	if !creds.Sent {
		return r, oauthErr(ErrOAuthInvalidClient, "client authentication failed: this client must send its client_secret")
	}
	sum := sha256.Sum256([]byte(creds.Secret))
	if subtle.ConstantTimeCompare(sum[:], r.SecretHash) != 1 {
		return r, oauthErr(ErrOAuthInvalidClient, "client authentication failed: wrong client_secret")
	}
	return r, nil
}
