package service

import (
	"fmt"
	"strconv"
	"time"

	"github.com/userd/userd/signing"
)

// accessLeeway is the clock skew allowed when verifying userd's own
// access tokens.
const accessLeeway = 30 * time.Second

// accessTokens signs and verifies the access tokens userd issues: sub is
// the user id in decimal, sid the session id, role the user's role.
type accessTokens struct {
	keys     *signing.KeySet
	issuer   string
	audience string
}

// NewLocalVerifier returns the verifier of the access tokens signed with
// keys for issuer and audience, for AuthConfig.Local.
func NewLocalVerifier(keys *signing.KeySet, issuer, audience string) LocalVerifier {
	return accessTokens{keys: keys, issuer: issuer, audience: audience}
}

// Access is what a verified access token of userd's own says.
type Access struct {
	UserID    int64
	SessionID int64 // 0 when the token names none
	ExpiresAt time.Time
}

// VerifyAccess checks a token's signature, kid, alg, issuer, audience and
// expiry and returns the user and session it names (session 0 when the
// token has none). Errors wrap signing.ErrInvalidToken.
func (a accessTokens) VerifyAccess(token string) (Access, error) {
	c, err := a.keys.Verify(token, a.issuer, a.audience, accessLeeway)
	if err != nil {
		return Access{}, err
	}
	acc := Access{ExpiresAt: c.ExpiresAt}
	acc.UserID, err = strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || acc.UserID <= 0 {
		return Access{}, fmt.Errorf("%w: subject %q is not a user id", signing.ErrInvalidToken, c.Subject)
	}
	if c.SessionID != "" {
		acc.SessionID, err = strconv.ParseInt(c.SessionID, 10, 64)
		if err != nil || acc.SessionID <= 0 {
			return Access{}, fmt.Errorf("%w: sid %q is not a session id", signing.ErrInvalidToken, c.SessionID)
		}
	}
	return acc, nil
}

// sign returns an access token for u in session sessionID, valid for ttl,
// and its expiry (its exp claim, whole seconds). amr is what the session's
// sign-in proved (nil: a password); aal follows from it (assuranceLevel).
func (a accessTokens) sign(u User, sessionID int64, amr []string, ttl time.Duration) (string, time.Time, error) {
	if len(amr) == 0 {
		amr = []string{amrPassword}
	}
	now := time.Now()
	exp := now.Add(ttl).Truncate(time.Second)
	tok, err := a.keys.Sign(signing.Claims{
		Issuer:    a.issuer,
		Audience:  a.audience,
		Subject:   strconv.FormatInt(u.ID, 10),
		Role:      string(u.Role),
		SessionID: strconv.FormatInt(sessionID, 10),
		IssuedAt:  now,
		ExpiresAt: exp,
		AMR:       amr,
		AAL:       assuranceLevel(amr),
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return tok, exp, nil
}
