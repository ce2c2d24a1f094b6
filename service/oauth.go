package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/signing"
)

// OAuth is userd's OpenID Provider (OpenID Connect Core 1.0, OAuth 2.1):
// clients, the authorization code flow with PKCE, the token endpoint's
// grants, ID tokens, userinfo, revocation, introspection and RP-initiated
// logout. Its tokens are userd's own: access tokens are the JWTs Auth
// verifies, tied to a session (sid), so revoking the session ends them at
// once; refresh tokens rotate with reuse detection as Accounts.Refresh
// does. The pages (package web) run the browser side.
type OAuth struct {
	db       *DB
	accounts *Accounts
	// CodeTTL is how long an authorization code lives: 60 seconds, the
	// most the database accepts.
	CodeTTL time.Duration
}

// NewOAuth returns the provider over db, signing with accounts' keys as
// accounts' issuer. With accounts nil only the management of clients
// works (the console's `userd clients`).
func NewOAuth(db *DB, accounts *Accounts) *OAuth {
	return &OAuth{db: db, accounts: accounts, CodeTTL: 60 * time.Second}
}

// Issuer is the provider's issuer identifier (iss).
func (o *OAuth) Issuer() string { return o.accounts.access.issuer }

func (o *OAuth) keys() *signing.KeySet { return o.accounts.access.keys }

// OAuthError is an error of the OAuth 2.0 protocol (RFC 6749 §4.1.2.1,
// §5.2; OpenID Connect Core §3.1.2.6): Code is what the client reads.
type OAuthError struct {
	Code        string
	Description string
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

// Is makes errors.Is(err, ErrOAuthInvalidGrant) true for any OAuthError
// of that code.
func (e *OAuthError) Is(target error) bool {
	var t *OAuthError
	return errors.As(target, &t) && t.Code == e.Code
}

// The protocol's errors. Compare with errors.Is.
var (
	ErrOAuthInvalidRequest          = &OAuthError{Code: "invalid_request"}
	ErrOAuthInvalidClient           = &OAuthError{Code: "invalid_client"}
	ErrOAuthInvalidGrant            = &OAuthError{Code: "invalid_grant"}
	ErrOAuthUnauthorizedClient      = &OAuthError{Code: "unauthorized_client"}
	ErrOAuthUnsupportedGrantType    = &OAuthError{Code: "unsupported_grant_type"}
	ErrOAuthUnsupportedResponseType = &OAuthError{Code: "unsupported_response_type"}
	ErrOAuthInvalidScope            = &OAuthError{Code: "invalid_scope"}
	ErrOAuthAccessDenied            = &OAuthError{Code: "access_denied"}
	ErrOAuthLoginRequired           = &OAuthError{Code: "login_required"}
	ErrOAuthConsentRequired         = &OAuthError{Code: "consent_required"}
	ErrOAuthRequestNotSupported     = &OAuthError{Code: "request_not_supported"}
	ErrOAuthInvalidToken            = &OAuthError{Code: "invalid_token"}
	ErrOAuthInsufficientScope       = &OAuthError{Code: "insufficient_scope"}
)

func oauthErr(base *OAuthError, format string, args ...any) *OAuthError {
	return &OAuthError{Code: base.Code, Description: fmt.Sprintf(format, args...)}
}

// errorIsNotFound reports a mapped not-found error.
func errorIsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// AuthorizationRequest is GET /oauth/authorize's query, as sent.
type AuthorizationRequest struct {
	ClientID, RedirectURI, ResponseType, ResponseMode, Scope, State, Nonce   string
	CodeChallenge, CodeChallengeMethod, Prompt, MaxAge, LoginHint, ACRValues string
	Request, RequestURI                                                      string
}

// Authorization is a checked authorization request.
type Authorization struct {
	Client      OAuthClient
	RedirectURI string
	Scopes      []string
	State       string
	Nonce       string
	Challenge   string // the PKCE S256 challenge; "" for none
	PromptNone  bool
	PromptLogin bool
	// PromptConsent asks for the consent page even when consent was given.
	PromptConsent bool
	MaxAge        time.Duration // -1: none
	LoginHint     string
	ACRValues     []string // acr_values, in order of preference
}

var (
	pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	pkceVerifier  = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)
)

// CheckAuthorization checks an authorization request. An error with
// redirect false must be shown to the user, never sent to the redirect
// URI: the client or the redirect URI is unknown (an attacker could
// otherwise use userd as an open redirector). With redirect true the
// error (an *OAuthError) goes back to the client's redirect URI.
func (o *OAuth) CheckAuthorization(ctx context.Context, r AuthorizationRequest) (a Authorization, redirect bool, err error) {
	if r.ClientID == "" {
		return a, false, oauthErr(ErrOAuthInvalidRequest, "client_id is missing")
	}
	row, err := o.db.q.OAuthClientGet(ctx, r.ClientID)
	if err != nil {
		if errorIsNotFound(err) {
			return a, false, oauthErr(ErrOAuthInvalidRequest, "unknown client_id")
		}
		return a, false, err
	}
	a.Client = oauthClientFromRow(row)
	if r.RedirectURI == "" {
		return a, false, oauthErr(ErrOAuthInvalidRequest, "redirect_uri is missing")
	}
	// Exact string comparison (OAuth 2.1 §2.3.1): no normalization, so a
	// trailing slash, a case, a port or a query makes another URI.
	if !slices.Contains(a.Client.RedirectURIs, r.RedirectURI) {
		return a, false, oauthErr(ErrOAuthInvalidRequest, "redirect_uri is not registered for this client")
	}
	a.RedirectURI, a.State = r.RedirectURI, r.State
	switch {
	case r.Request != "" || r.RequestURI != "":
		return a, true, oauthErr(ErrOAuthRequestNotSupported, "request objects are not supported")
	case r.ResponseType != "code":
		return a, true, oauthErr(ErrOAuthUnsupportedResponseType, "response_type must be code")
	case r.ResponseMode != "" && r.ResponseMode != "query":
		return a, true, oauthErr(ErrOAuthInvalidRequest, "response_mode must be query")
	case !a.Client.Allows(GrantAuthorizationCode):
		return a, true, oauthErr(ErrOAuthUnauthorizedClient, "this client may not use the authorization code flow")
	case len(r.Nonce) > 512:
		return a, true, oauthErr(ErrOAuthInvalidRequest, "nonce is longer than 512 characters")
	}
	a.Nonce = r.Nonce
	if a.Scopes, err = o.scopes(a.Client, r.Scope); err != nil {
		return a, true, err
	}
	switch {
	case r.CodeChallenge == "" && r.CodeChallengeMethod != "":
		return a, true, oauthErr(ErrOAuthInvalidRequest, "code_challenge_method without code_challenge")
	case r.CodeChallenge == "" && a.Client.Public:
		return a, true, oauthErr(ErrOAuthInvalidRequest, "a public client must use PKCE (code_challenge with code_challenge_method=S256)")
	case r.CodeChallenge != "" && r.CodeChallengeMethod != "S256":
		return a, true, oauthErr(ErrOAuthInvalidRequest, "code_challenge_method must be S256 (plain is not supported)")
	case r.CodeChallenge != "" && !pkceChallenge.MatchString(r.CodeChallenge):
		return a, true, oauthErr(ErrOAuthInvalidRequest, "code_challenge must be 43 base64url characters (the S256 of the verifier)")
	}
	a.Challenge = r.CodeChallenge
	for p := range strings.FieldsSeq(r.Prompt) {
		switch p {
		case "none":
			a.PromptNone = true
		case "login":
			a.PromptLogin = true
		case "consent":
			a.PromptConsent = true
		case "select_account":
		default:
			return a, true, oauthErr(ErrOAuthInvalidRequest, "unknown prompt value %q", p)
		}
	}
	if a.PromptNone && (a.PromptLogin || a.PromptConsent) {
		return a, true, oauthErr(ErrOAuthInvalidRequest, "prompt=none cannot be combined with another value")
	}
	a.MaxAge = -1
	if r.MaxAge != "" {
		n, err := strconv.ParseUint(r.MaxAge, 10, 31)
		if err != nil {
			return a, true, oauthErr(ErrOAuthInvalidRequest, "max_age must be a number of seconds")
		}
		a.MaxAge = time.Duration(n) * time.Second
	}
	a.LoginHint = r.LoginHint
	a.ACRValues = strings.Fields(r.ACRValues)
	return a, true, nil
}

// scopes parses a scope parameter against what client may ask for. An
// empty one means openid. offline_access is dropped for a client that may
// not refresh.
func (o *OAuth) scopes(client OAuthClient, scope string) ([]string, error) {
	var out []string
	for s := range strings.FieldsSeq(scope) {
		if !slices.Contains(OAuthScopes, s) {
			return nil, oauthErr(ErrOAuthInvalidScope, "unknown scope %q", s)
		}
		if !slices.Contains(client.Scopes, s) {
			return nil, oauthErr(ErrOAuthInvalidScope, "this client may not ask for scope %q", s)
		}
		if s == ScopeOfflineAccess && !client.Allows(GrantRefreshToken) {
			continue
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = []string{ScopeOpenID}
	}
	slices.Sort(out)
	return out, nil
}

// AuthContext is how the user of a browser session signed in: the amr,
// acr and auth_time its ID tokens carry. It is the one place that says
// so, for a second factor to extend.
type AuthContext struct {
	AMR      []string
	ACR      string
	AuthTime time.Time
}

// BrowserAuthContext is p's AuthContext: p is a browser session of the
// hosted pages, begun at its sign-in with a password.
// Errors: invalid_token (the session ended meanwhile).
func (o *OAuth) BrowserAuthContext(ctx context.Context, p Principal) (AuthContext, error) {
	began, err := o.db.q.SessionCreatedAt(ctx, dbgen.SessionCreatedAtParams{ID: p.SessionID, UserID: p.User.ID})
	if err != nil {
		return AuthContext{}, notFoundAs(err, ErrInvalidToken)
	}
	return AuthContext{AMR: []string{"pwd"}, ACR: "aal1", AuthTime: began}, nil
}

// NeedsConsent reports whether p must see the consent page for a: the
// client is not first-party and p has not granted every scope asked for
// (or the client asked for the page with prompt=consent).
func (o *OAuth) NeedsConsent(ctx context.Context, p Principal, a Authorization) (bool, error) {
	if a.Client.FirstParty {
		return false, nil
	}
	if a.PromptConsent {
		return true, nil
	}
	c, err := o.db.q.OAuthConsentGet(ctx, dbgen.OAuthConsentGetParams{UserID: p.User.ID, ClientID: a.Client.ID})
	if errorIsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, s := range a.Scopes {
		if !slices.Contains(c.Scopes, s) {
			return true, nil
		}
	}
	return false, nil
}

// GrantConsent records that p granted a's scopes to a's client.
func (o *OAuth) GrantConsent(ctx context.Context, p Principal, a Authorization) error {
	return inTx(ctx, o.db, func(q *dbgen.Queries) error {
		if err := q.OAuthConsentGrant(ctx, dbgen.OAuthConsentGrantParams{UserID: p.User.ID, ClientID: a.Client.ID, Scopes: a.Scopes}); err != nil {
			return err
		}
		return audit(ctx, q, &p.User.ID, &p.User.ID, "oauth.consent_granted", map[string]any{"client_id": a.Client.ID, "scopes": a.Scopes})
	})
}

// IssueCode returns an authorization code for p and a, signed in as ac:
// single use, valid CodeTTL, bound to the client, the redirect URI and the
// PKCE challenge.
// Errors: account_disabled.
func (o *OAuth) IssueCode(ctx context.Context, p Principal, a Authorization, ac AuthContext) (string, error) {
	if !p.User.Usable() {
		return "", ErrAccountDisabled
	}
	code, hash, err := newOpaqueToken()
	if err != nil {
		return "", err
	}
	err = o.db.q.OAuthCodeCreate(ctx, dbgen.OAuthCodeCreateParams{
		CodeHash: hash, ClientID: a.Client.ID, UserID: p.User.ID, RedirectUri: a.RedirectURI, Scopes: a.Scopes,
		Nonce: strOrNil(a.Nonce), CodeChallenge: strOrNil(a.Challenge), AuthTime: ac.AuthTime, Amr: ac.AMR, Acr: ac.ACR,
		TtlSeconds: o.CodeTTL.Seconds(),
	})
	return code, err
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// TokenRequest is a request to the token endpoint, as sent.
type TokenRequest struct {
	Client       ClientCredentials
	GrantType    string
	Code         string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string
	Scope        string
}

// OAuthTokens answer a token request.
type OAuthTokens struct {
	AccessToken  string
	RefreshToken string // "" for none
	IDToken      string // "" for none
	ExpiresIn    time.Duration
	Scopes       []string
}

// Token runs a token request of a registered client: the
// authorization_code, refresh_token or client_credentials grant.
// Errors: *OAuthError (invalid_client, invalid_grant, invalid_scope,
// unauthorized_client, unsupported_grant_type, invalid_request),
// account_disabled.
func (o *OAuth) Token(ctx context.Context, r TokenRequest, c Client) (OAuthTokens, error) {
	client, err := o.authenticateClient(ctx, r.Client)
	if err != nil {
		return OAuthTokens{}, err
	}
	cl := oauthClientFromRow(client)
	switch r.GrantType {
	case GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials:
		if !cl.Allows(r.GrantType) {
			return OAuthTokens{}, oauthErr(ErrOAuthUnauthorizedClient, "this client may not use the %s grant", r.GrantType)
		}
	case "":
		return OAuthTokens{}, oauthErr(ErrOAuthInvalidRequest, "grant_type is missing")
	default:
		return OAuthTokens{}, oauthErr(ErrOAuthUnsupportedGrantType, "grant_type must be authorization_code, refresh_token or client_credentials")
	}
	switch r.GrantType {
	case GrantAuthorizationCode:
		return o.exchangeCode(ctx, cl, r, c)
	case GrantRefreshToken:
		return o.refresh(ctx, cl, r, c)
	default:
		return o.clientCredentials(cl, r)
	}
}

// exchangeCode is the authorization_code grant. A code presented a second
// time revokes the session its first exchange started (and so every token
// issued from it), since one of the two presenters stole it.
func (o *OAuth) exchangeCode(ctx context.Context, cl OAuthClient, r TokenRequest, c Client) (OAuthTokens, error) {
	if r.Code == "" {
		return OAuthTokens{}, oauthErr(ErrOAuthInvalidRequest, "code is missing")
	}
	hash, ok := tokenHash(r.Code)
	if !ok {
		return OAuthTokens{}, oauthErr(ErrOAuthInvalidGrant, "unknown code")
	}
	type result struct {
		code    dbgen.OauthCode
		user    User
		session int64
		refresh string
		reused  bool
	}
	res, err := inTxV(ctx, o.db, func(q *dbgen.Queries) (result, error) {
		row, err := q.OAuthCodeLock(ctx, hash)
		if err != nil {
			if noRows(err) {
				return result{}, oauthErr(ErrOAuthInvalidGrant, "unknown code")
			}
			return result{}, err
		}
		code := row.OauthCode
		switch {
		case code.ClientID != cl.ID:
			return result{}, oauthErr(ErrOAuthInvalidGrant, "the code was issued to another client")
		case code.UsedAt != nil:
			if code.SessionID != nil {
				if err := q.SessionRevoke(ctx, dbgen.SessionRevokeParams{ID: *code.SessionID, Reason: strPtr("reuse_detected")}); err != nil {
					return result{}, err
				}
			}
			return result{reused: true}, audit(ctx, q, nil, &code.UserID, "oauth.code_reused", map[string]any{"client_id": cl.ID, "session_id": code.SessionID})
		case !row.CheckedAt.Before(code.ExpiresAt):
			return result{}, oauthErr(ErrOAuthInvalidGrant, "the code expired")
		case r.RedirectURI != code.RedirectUri:
			return result{}, oauthErr(ErrOAuthInvalidGrant, "redirect_uri differs from the authorization request's")
		}
		if err := checkVerifier(code.CodeChallenge, r.CodeVerifier); err != nil {
			return result{}, err
		}
		u, err := q.UserGetByID(ctx, code.UserID)
		if err != nil {
			if noRows(err) {
				return result{}, oauthErr(ErrOAuthInvalidGrant, "the user is gone")
			}
			return result{}, err
		}
		user := userFromRow(u)
		if !user.Usable() {
			return result{}, oauthErr(ErrOAuthInvalidGrant, "the account is disabled")
		}
		s, err := q.OAuthSessionCreate(ctx, dbgen.OAuthSessionCreateParams{
			UserID: user.ID, UserAgent: c.userAgent(), IP: c.ip(), TtlSeconds: o.accounts.SessionTTL.Seconds(),
			ClientID: &cl.ID, Scopes: code.Scopes, AuthTime: &code.AuthTime, Amr: code.Amr, Acr: &code.Acr,
		})
		if err != nil {
			return result{}, err
		}
		var refresh string
		if slices.Contains(code.Scopes, ScopeOfflineAccess) && cl.Allows(GrantRefreshToken) {
			var rh []byte
			if refresh, rh, err = newOpaqueToken(); err != nil {
				return result{}, err
			}
			if err := q.SessionRefreshTokenCreate(ctx, dbgen.SessionRefreshTokenCreateParams{TokenHash: rh, SessionID: s.ID}); err != nil {
				return result{}, err
			}
		}
		if err := q.OAuthCodeUse(ctx, dbgen.OAuthCodeUseParams{CodeHash: hash, SessionID: &s.ID}); err != nil {
			return result{}, err
		}
		return result{code: code, user: user, session: s.ID, refresh: refresh}, nil
	})
	if err != nil {
		return OAuthTokens{}, err
	}
	if res.reused {
		return OAuthTokens{}, oauthErr(ErrOAuthInvalidGrant, "the code was used already; the tokens issued for it are revoked")
	}
	ac := AuthContext{AMR: res.code.Amr, ACR: res.code.Acr, AuthTime: res.code.AuthTime}
	nonce := ""
	if res.code.Nonce != nil {
		nonce = *res.code.Nonce
	}
	return o.issue(cl, res.user, res.session, res.code.Scopes, res.refresh, ac, nonce)
}

// checkVerifier checks a PKCE verifier against the challenge of a code
// (RFC 7636 §4.6, S256 only).
func checkVerifier(challenge *string, verifier string) error {
	if challenge == nil {
		if verifier != "" {
			return oauthErr(ErrOAuthInvalidGrant, "code_verifier sent for a code issued without code_challenge")
		}
		return nil
	}
	if verifier == "" {
		return oauthErr(ErrOAuthInvalidGrant, "code_verifier is missing")
	}
	if !pkceVerifier.MatchString(verifier) {
		return oauthErr(ErrOAuthInvalidGrant, "code_verifier must be 43 to 128 unreserved characters")
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(*challenge)) != 1 {
		return oauthErr(ErrOAuthInvalidGrant, "code_verifier does not match the code_challenge")
	}
	return nil
}

// refresh is the refresh_token grant: Accounts.Refresh's rotation and
// reuse detection, for a token of this client, with at most the scopes
// granted.
func (o *OAuth) refresh(ctx context.Context, cl OAuthClient, r TokenRequest, c Client) (OAuthTokens, error) {
	if r.RefreshToken == "" {
		return OAuthTokens{}, oauthErr(ErrOAuthInvalidRequest, "refresh_token is missing")
	}
	var scopes []string
	var ac AuthContext
	res, err := o.accounts.refresh(ctx, r.RefreshToken, c, func(s dbgen.Session) error {
		if s.ClientID == nil || *s.ClientID != cl.ID {
			return oauthErr(ErrOAuthInvalidGrant, "the refresh token was issued to another client")
		}
		scopes = s.Scopes
		if r.Scope != "" {
			asked := strings.Fields(r.Scope)
			for _, sc := range asked {
				if !slices.Contains(s.Scopes, sc) {
					return oauthErr(ErrOAuthInvalidScope, "scope %q was not granted", sc)
				}
			}
			slices.Sort(asked)
			scopes = slices.Compact(asked)
		}
		ac = AuthContext{AMR: s.Amr, ACR: deref(s.Acr), AuthTime: derefTime(s.AuthTime)}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrInvalidToken) {
			return OAuthTokens{}, oauthErr(ErrOAuthInvalidGrant, "the refresh token is invalid, expired or revoked")
		}
		if errors.Is(err, ErrAccountDisabled) {
			return OAuthTokens{}, oauthErr(ErrOAuthInvalidGrant, "the account is disabled")
		}
		return OAuthTokens{}, err
	}
	return o.issue(cl, res.user, res.session, scopes, res.refresh, ac, "")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// clientCredentials is the client_credentials grant: an access token whose
// subject is the client itself, without a session or a refresh token.
func (o *OAuth) clientCredentials(cl OAuthClient, r TokenRequest) (OAuthTokens, error) {
	var scopes []string
	for s := range strings.FieldsSeq(r.Scope) {
		if !slices.Contains(cl.Scopes, s) || s == ScopeOpenID || s == ScopeOfflineAccess {
			return OAuthTokens{}, oauthErr(ErrOAuthInvalidScope, "scope %q is not available to the client_credentials grant", s)
		}
		scopes = append(scopes, s)
	}
	now := time.Now()
	ttl := o.accounts.AccessTTL
	at, err := o.keys().Sign(signing.Claims{
		Issuer: o.Issuer(), Audience: o.accounts.access.audience, Subject: cl.ID, ClientID: cl.ID,
		Scope: strings.Join(scopes, " "), IssuedAt: now, ExpiresAt: now.Add(ttl).Truncate(time.Second),
	})
	if err != nil {
		return OAuthTokens{}, err
	}
	return OAuthTokens{AccessToken: at, ExpiresIn: ttl, Scopes: scopes}, nil
}

// accessAudience is the aud of the access tokens cl gets: userd's own
// audience for a first-party client (its tokens call userd's API), the
// client itself for any other (its tokens reach userinfo only).
func (o *OAuth) accessAudience(cl OAuthClient) string {
	if cl.FirstParty {
		return o.accounts.access.audience
	}
	return cl.ID
}

// issue signs the access token (and, for the openid scope, the ID token)
// of session for u and cl.
func (o *OAuth) issue(cl OAuthClient, u User, session int64, scopes []string, refresh string, ac AuthContext, nonce string) (OAuthTokens, error) {
	now := time.Now()
	ttl := o.accounts.AccessTTL
	exp := now.Add(ttl).Truncate(time.Second)
	sid := strconv.FormatInt(session, 10)
	at, err := o.keys().Sign(signing.Claims{
		Issuer: o.Issuer(), Audience: o.accessAudience(cl), Subject: strconv.FormatInt(u.ID, 10), Role: string(u.Role),
		SessionID: sid, ClientID: cl.ID, Scope: strings.Join(scopes, " "), IssuedAt: now, ExpiresAt: exp,
	})
	if err != nil {
		return OAuthTokens{}, err
	}
	t := OAuthTokens{AccessToken: at, RefreshToken: refresh, ExpiresIn: ttl, Scopes: scopes}
	if !slices.Contains(scopes, ScopeOpenID) {
		return t, nil
	}
	claims := userClaims(u, scopes)
	claims["iss"] = o.Issuer()
	claims["aud"] = cl.ID
	claims["azp"] = cl.ID
	claims["iat"] = now.Unix()
	claims["exp"] = exp.Unix()
	claims["sid"] = sid
	claims["at_hash"] = o.keys().HalfHash(at)
	claims["amr"] = ac.AMR
	claims["acr"] = ac.ACR
	if !ac.AuthTime.IsZero() {
		claims["auth_time"] = ac.AuthTime.Unix()
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if t.IDToken, err = o.keys().SignJSON(claims); err != nil {
		return OAuthTokens{}, err
	}
	return t, nil
}

// userClaims are u's claims for scopes (OpenID Connect Core §5.4): sub,
// and with profile the names, picture and updated_at, with email the
// email only once verified, with phone the number only once verified.
func userClaims(u User, scopes []string) map[string]any {
	c := map[string]any{"sub": strconv.FormatInt(u.ID, 10)}
	if slices.Contains(scopes, ScopeProfile) {
		var name []string
		for k, v := range map[string]*string{"given_name": u.FirstName, "family_name": u.LastName, "preferred_username": u.Username, "picture": u.AvatarURL} {
			if v != nil && *v != "" {
				c[k] = *v
			}
		}
		for _, v := range []*string{u.FirstName, u.LastName} {
			if v != nil && *v != "" {
				name = append(name, *v)
			}
		}
		if len(name) > 0 {
			c["name"] = strings.Join(name, " ")
		}
		c["updated_at"] = u.UpdatedAt.Unix()
	}
	if slices.Contains(scopes, ScopeEmail) && u.Email != nil && u.EmailVerified {
		c["email"] = *u.Email
		c["email_verified"] = true
	}
	if slices.Contains(scopes, ScopePhone) && u.Phone != nil && u.PhoneVerified {
		c["phone_number"] = *u.Phone
		c["phone_number_verified"] = true
	}
	return c
}

// accessClaims are the claims of an access token userd signed.
type accessClaims struct {
	Issuer    string          `json:"iss"`
	Subject   string          `json:"sub"`
	Audience  json.RawMessage `json:"aud"`
	ExpiresAt int64           `json:"exp"`
	IssuedAt  int64           `json:"iat"`
	SessionID string          `json:"sid"`
	ClientID  string          `json:"client_id"`
	Scope     string          `json:"scope"`
	Nonce     *string         `json:"nonce"` // ID tokens carry one; access tokens never
	AtHash    *string         `json:"at_hash"`
}

// readToken checks a token's signature against userd's keys and reads its
// claims; it does not check expiry.
func (o *OAuth) readToken(token string) (accessClaims, bool) {
	payload, err := o.keys().VerifySignature(token)
	if err != nil {
		return accessClaims{}, false
	}
	var c accessClaims
	if json.Unmarshal(payload, &c) != nil || c.Issuer != o.Issuer() || c.Subject == "" {
		return accessClaims{}, false
	}
	return c, true
}

// liveAccess is a live access token's claims, with its session's user
// when it names one (0 for a client's own token).
func (o *OAuth) liveAccess(ctx context.Context, token string) (accessClaims, *User, bool, error) {
	c, ok := o.readToken(token)
	if !ok || c.AtHash != nil || time.Now().Unix() >= c.ExpiresAt {
		return c, nil, false, nil
	}
	if c.SessionID == "" {
		return c, nil, c.ClientID != "" && c.ClientID == c.Subject, nil
	}
	sid, err := strconv.ParseInt(c.SessionID, 10, 64)
	if err != nil {
		return c, nil, false, nil
	}
	s, err := o.db.q.OAuthSessionGet(ctx, sid)
	if errorIsNotFound(err) {
		return c, nil, false, nil
	}
	if err != nil {
		return c, nil, false, err
	}
	if s.RevokedAt != nil || !s.ExpiresAt.After(time.Now()) || strconv.FormatInt(s.UserID, 10) != c.Subject {
		return c, nil, false, nil
	}
	row, err := o.db.q.UserGetByID(ctx, s.UserID)
	if err != nil {
		return c, nil, false, notFoundAs(err, ErrInvalidToken)
	}
	u := userFromRow(row)
	return c, &u, u.Usable(), nil
}

// UserInfo is the userinfo of an access token (OpenID Connect Core §5.3):
// the claims of its scopes.
// Errors: *OAuthError invalid_token (not a live access token of a user),
// insufficient_scope (no openid scope).
func (o *OAuth) UserInfo(ctx context.Context, accessToken string) (map[string]any, error) {
	c, u, live, err := o.liveAccess(ctx, accessToken)
	if err != nil {
		return nil, err
	}
	if !live || u == nil {
		return nil, oauthErr(ErrOAuthInvalidToken, "the access token is invalid, expired or revoked")
	}
	scopes := strings.Fields(c.Scope)
	if !slices.Contains(scopes, ScopeOpenID) {
		return nil, oauthErr(ErrOAuthInsufficientScope, "the access token lacks the openid scope")
	}
	return userClaims(*u, scopes), nil
}

// Introspection is what RFC 7662 says of a token.
type Introspection struct {
	Active    bool
	Scope     string
	ClientID  string
	Subject   string
	TokenType string // access_token or refresh_token
	ExpiresAt time.Time
	IssuedAt  time.Time
	SessionID string
}

// Introspect says whether token is live (RFC 7662), for a confidential
// client: an access token or a refresh token issued to that client (a
// first-party client may introspect any).
// Errors: *OAuthError invalid_client (authentication failed, or a public
// client).
func (o *OAuth) Introspect(ctx context.Context, creds ClientCredentials, token string) (Introspection, error) {
	client, err := o.authenticateClient(ctx, creds)
	if err != nil {
		return Introspection{}, err
	}
	if client.Public {
		return Introspection{}, oauthErr(ErrOAuthInvalidClient, "a public client may not introspect tokens")
	}
	mine := func(clientID string) bool { return client.FirstParty || clientID == client.ID }
	if hash, ok := tokenHash(token); ok {
		s, err := o.db.q.OAuthSessionByRefreshToken(ctx, hash)
		if errorIsNotFound(err) {
			return Introspection{}, nil
		}
		if err != nil {
			return Introspection{}, err
		}
		if s.RevokedAt != nil || !s.ExpiresAt.After(time.Now()) || s.ClientID == nil || !mine(*s.ClientID) {
			return Introspection{}, nil
		}
		return Introspection{Active: true, Scope: strings.Join(s.Scopes, " "), ClientID: *s.ClientID, Subject: strconv.FormatInt(s.UserID, 10),
			TokenType: "refresh_token", ExpiresAt: s.ExpiresAt, IssuedAt: s.LastUsedAt, SessionID: strconv.FormatInt(s.ID, 10)}, nil
	}
	c, _, live, err := o.liveAccess(ctx, token)
	if err != nil || !live || !mine(c.ClientID) {
		return Introspection{}, err
	}
	return Introspection{Active: true, Scope: c.Scope, ClientID: c.ClientID, Subject: c.Subject, TokenType: "access_token",
		ExpiresAt: time.Unix(c.ExpiresAt, 0), IssuedAt: time.Unix(c.IssuedAt, 0), SessionID: c.SessionID}, nil
}

// Revoke revokes a token of the authenticated client (RFC 7009): a
// refresh token or an access token ends its session, and so every token
// issued with it. A token that is unknown, not the client's or already
// revoked is no error.
// Errors: *OAuthError invalid_client.
func (o *OAuth) Revoke(ctx context.Context, creds ClientCredentials, token string) error {
	client, err := o.authenticateClient(ctx, creds)
	if err != nil {
		return err
	}
	var session int64
	if hash, ok := tokenHash(token); ok {
		s, err := o.db.q.OAuthSessionByRefreshToken(ctx, hash)
		if errorIsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if s.ClientID == nil || *s.ClientID != client.ID {
			return nil
		}
		session = s.ID
	} else if c, ok := o.readToken(token); ok && c.ClientID == client.ID && c.SessionID != "" {
		if session, err = strconv.ParseInt(c.SessionID, 10, 64); err != nil {
			return nil
		}
	}
	if session == 0 {
		return nil
	}
	return inTx(ctx, o.db, func(q *dbgen.Queries) error {
		return q.SessionRevoke(ctx, dbgen.SessionRevokeParams{ID: session, Reason: strPtr("logout")})
	})
}

// LogoutRequest is GET /oauth/logout's query (OpenID Connect RP-Initiated
// Logout 1.0).
type LogoutRequest struct {
	IDTokenHint           string
	ClientID              string
	PostLogoutRedirectURI string
	State                 string
}

// Logout ends the session an ID token names (its sid) when the token is
// userd's and of the client named, and returns where to send the browser:
// the post_logout_redirect_uri when it is registered for that client, with
// the state; "" otherwise (the page then says the user is signed out). An
// ID token that does not verify makes no redirect and ends nothing; ok
// says whether it verified.
func (o *OAuth) Logout(ctx context.Context, r LogoutRequest) (redirect string, ok bool, err error) {
	if r.IDTokenHint == "" {
		return "", false, nil
	}
	c, valid := o.readToken(r.IDTokenHint)
	var aud string
	if valid && json.Unmarshal(c.Audience, &aud) != nil {
		valid = false
	}
	if !valid || c.Nonce == nil && c.AtHash == nil || (r.ClientID != "" && r.ClientID != aud) {
		return "", false, nil
	}
	row, err := o.db.q.OAuthClientGet(ctx, aud)
	if errorIsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if sid, err := strconv.ParseInt(c.SessionID, 10, 64); err == nil {
		if err := inTx(ctx, o.db, func(q *dbgen.Queries) error {
			s, err := q.OAuthSessionGet(ctx, sid)
			if err != nil || strconv.FormatInt(s.UserID, 10) != c.Subject {
				return nil
			}
			return q.SessionRevoke(ctx, dbgen.SessionRevokeParams{ID: sid, Reason: strPtr("logout")})
		}); err != nil {
			return "", true, err
		}
	}
	if r.PostLogoutRedirectURI == "" || !slices.Contains(row.PostLogoutRedirectUris, r.PostLogoutRedirectURI) {
		return "", true, nil
	}
	to := r.PostLogoutRedirectURI
	if r.State != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "state=" + url.QueryEscape(r.State)
	}
	return to, true, nil
}

// ConnectedApp is a client a user granted scopes to.
type ConnectedApp struct {
	ClientID  string
	Name      string
	Scopes    []string
	GrantedAt time.Time
}

// ConnectedApps lists the clients p's user consented to.
func (o *OAuth) ConnectedApps(ctx context.Context, p Principal) ([]ConnectedApp, error) {
	rows, err := o.db.q.OAuthConsentListByUser(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	out := make([]ConnectedApp, len(rows))
	for i, r := range rows {
		out[i] = ConnectedApp{ClientID: r.OauthConsent.ClientID, Name: r.ClientName, Scopes: r.OauthConsent.Scopes, GrantedAt: r.OauthConsent.CreatedAt}
	}
	return out, nil
}

// RevokeApp withdraws p's consent to client id and ends the client's
// sessions of p's user (reason revoked_by_user): its tokens stop working.
// Errors: not_found (no consent to that client).
func (o *OAuth) RevokeApp(ctx context.Context, p Principal, clientID string) error {
	return inTx(ctx, o.db, func(q *dbgen.Queries) error {
		n, err := q.OAuthConsentDelete(ctx, dbgen.OAuthConsentDeleteParams{UserID: p.User.ID, ClientID: clientID})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		if _, err := q.OAuthSessionRevokeByClient(ctx, dbgen.OAuthSessionRevokeByClientParams{UserID: p.User.ID, ClientID: &clientID, Reason: strPtr("revoked_by_user")}); err != nil {
			return err
		}
		return audit(ctx, q, &p.User.ID, &p.User.ID, "oauth.consent_revoked", map[string]any{"client_id": clientID})
	})
}
