package signing

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// ErrInvalidToken is wrapped by every error Verify returns.
var ErrInvalidToken = errors.New("invalid token")

// ErrInvalidClaims is returned (wrapped) by Sign for claims it will not sign.
var ErrInvalidClaims = errors.New("invalid claims")

// roleClaim is the private claim carrying the user's role.
const roleClaim = "role"

// sessionClaim carries the session the token was issued for (OpenID
// Connect's "sid").
const sessionClaim = "sid"

// clientIDClaim and scopeClaim say which OAuth client a token was issued
// to and for which scopes (RFC 9068 §2.2).
const (
	clientIDClaim = "client_id"
	scopeClaim    = "scope"
)

// maxTokenLen bounds what Verify parses; userd's own tokens are well under
// 1 KiB even with RSA keys.
const maxTokenLen = 8 << 10

// Claims are the claims of an access token userd signs. Times have whole
// second precision on the wire.
type Claims struct {
	Issuer    string // iss
	Audience  string // aud (a single string on the wire)
	Subject   string // sub: the user ID
	Role      string // role (omitted when empty)
	SessionID string // sid: the session the token belongs to (omitted when empty)
	ClientID  string // client_id: the OAuth client it was issued to (RFC 9068; omitted when empty)
	Scope     string // scope: the scopes granted, space-separated (omitted when empty)
	IssuedAt  time.Time
	ExpiresAt time.Time
	ID        string // jti
}

// Sign returns c as a compact JWS (JWT) signed with the active key, with
// protected header kid, alg and typ "JWT". An empty c.ID gets a random
// 128-bit base64url jti. It returns an error wrapping ErrInvalidClaims when
// Issuer, Audience or Subject is empty, a time is zero, or ExpiresAt is not
// after IssuedAt, and otherwise only signing errors.
func (ks *KeySet) Sign(c Claims) (string, error) {
	switch {
	case c.Issuer == "" || c.Audience == "" || c.Subject == "":
		return "", fmt.Errorf("%w: issuer, audience and subject are required", ErrInvalidClaims)
	case c.IssuedAt.IsZero() || c.ExpiresAt.IsZero():
		return "", fmt.Errorf("%w: issued-at and expiry are required", ErrInvalidClaims)
	case !c.ExpiresAt.After(c.IssuedAt):
		return "", fmt.Errorf("%w: expiry %v is not after issued-at %v", ErrInvalidClaims, c.ExpiresAt, c.IssuedAt)
	}
	if c.ID == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("token id: %w", err)
		}
		c.ID = base64.RawURLEncoding.EncodeToString(b[:])
	}
	b := jwt.NewBuilder().
		Issuer(c.Issuer).
		Audience([]string{c.Audience}).
		Subject(c.Subject).
		IssuedAt(c.IssuedAt).
		Expiration(c.ExpiresAt).
		JwtID(c.ID)
	if c.Role != "" {
		b = b.Claim(roleClaim, c.Role)
	}
	if c.SessionID != "" {
		b = b.Claim(sessionClaim, c.SessionID)
	}
	if c.ClientID != "" {
		b = b.Claim(clientIDClaim, c.ClientID)
	}
	if c.Scope != "" {
		b = b.Claim(scopeClaim, c.Scope)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("build token: %w", err)
	}
	tok.Options().Enable(jwt.FlattenAudience) // "aud":"userd", not ["userd"]

	k := ks.keys[0]
	hdr := jws.NewHeaders()
	for name, v := range map[string]any{jws.KeyIDKey: k.kid, jws.TypeKey: "JWT"} {
		if err := hdr.Set(name, v); err != nil {
			return "", fmt.Errorf("token header %s: %w", name, err)
		}
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(k.alg, k.priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return string(signed), nil
}

// Verify checks a compact JWS token against the set's own public keys and
// returns its claims. The header must name a known kid and carry exactly
// that key's alg (so alg "none", HS256 and any other substitution fail);
// typ, if present, must be "JWT"; crit is not accepted. The claims must
// have iss == issuer, audience among aud, sub, exp in the future and iat
// and nbf (if present) not in the future, each time allowing leeway of
// clock skew. Every error wraps ErrInvalidToken, including an empty issuer
// or audience argument.
func (ks *KeySet) Verify(token, issuer, audience string, leeway time.Duration) (Claims, error) {
	c, err := ks.verify(token, issuer, audience, leeway)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return c, nil
}

func (ks *KeySet) verify(token, issuer, audience string, leeway time.Duration) (Claims, error) {
	if issuer == "" || audience == "" {
		return Claims{}, errors.New("verifier needs an issuer and an audience")
	}
	if len(token) > maxTokenLen || strings.Count(token, ".") != 2 {
		return Claims{}, errors.New("not a compact JWS")
	}
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		return Claims{}, fmt.Errorf("parse: %w", err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return Claims{}, fmt.Errorf("got %d signatures, want 1", len(sigs))
	}
	h := sigs[0].ProtectedHeaders()
	i, ok := ks.byKID[h.KeyID()]
	if !ok {
		return Claims{}, fmt.Errorf("unknown kid %q", h.KeyID())
	}
	k := ks.keys[i]
	if h.Algorithm() != k.alg {
		return Claims{}, fmt.Errorf("alg %q, want %q for kid %q", h.Algorithm(), k.alg, k.kid)
	}
	if typ := h.Type(); typ != "" && !strings.EqualFold(typ, "JWT") {
		return Claims{}, fmt.Errorf("typ %q, want JWT", typ)
	}
	if len(h.Critical()) > 0 {
		return Claims{}, fmt.Errorf("unsupported crit header %q", h.Critical())
	}
	tok, err := jwt.Parse([]byte(token),
		jwt.WithKey(k.alg, k.pub),
		jwt.WithValidate(true),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithRequiredClaim(jwt.IssuedAtKey),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithAcceptableSkew(leeway),
	)
	if err != nil {
		return Claims{}, err
	}
	c := Claims{
		Issuer:    tok.Issuer(),
		Audience:  audience, // validated to be among aud
		Subject:   tok.Subject(),
		IssuedAt:  tok.IssuedAt(),
		ExpiresAt: tok.Expiration(),
		ID:        tok.JwtID(),
	}
	if v, ok := tok.Get(roleClaim); ok {
		if c.Role, ok = v.(string); !ok {
			return Claims{}, fmt.Errorf("role claim is a %T, want a string", v)
		}
	}
	for name, dst := range map[string]*string{sessionClaim: &c.SessionID, clientIDClaim: &c.ClientID, scopeClaim: &c.Scope} {
		if v, ok := tok.Get(name); ok {
			if *dst, ok = v.(string); !ok {
				return Claims{}, fmt.Errorf("%s claim is a %T, want a string", name, v)
			}
		}
	}
	return c, nil
}
