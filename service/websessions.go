package service

import (
	"context"
	"time"

	"github.com/userd/userd/dbgen"
)

// Browser sessions. A browser signed in to the hosted pages holds a
// cookie naming a sessions row of kind web (only the SHA-256 of the
// cookie's token is stored). It lives alongside the api sessions (refresh
// token families): listed, revoked and expired with them, so a password
// change, a reset, a deactivation or "sign out everywhere" ends it too.
// It ends after WebIdleTTL without use, and WebAbsoluteTTL after its start
// whatever the use. A sign-in starts a new one (the browser's earlier one
// is revoked), and a password change gives it a new token
// (RotateWebSession), so a cookie value seen before a sign-in or a change
// never names a session after it. A role change revokes every session, so
// the browser signs in again.

// webTouchEvery is how stale a browser session's last use may get before a
// request records a new one (a write per page view is not worth it).
const webTouchEvery = time.Minute

// WebSession is a browser's session: Token goes in its cookie.
type WebSession struct {
	Token     string
	SessionID int64
	User      User
}

// startSession starts a session for u in q's transaction: an api session
// (issued.refresh is its first refresh token) or, web, a browser session
// (issued.refresh is its cookie token).
func (a *Accounts) startSession(ctx context.Context, q *dbgen.Queries, u User, c Client, web bool) (issued, error) {
	if !web {
		s, refresh, err := a.newSession(ctx, q, u.ID, c)
		if err != nil {
			return issued{}, err
		}
		return issued{user: u, session: s.ID, refresh: refresh}, nil
	}
	token, hash, err := newOpaqueToken()
	if err != nil {
		return issued{}, err
	}
	s, err := q.SessionCreateWeb(ctx, dbgen.SessionCreateWebParams{
		UserID: u.ID, WebTokenHash: hash, UserAgent: c.userAgent(), IP: c.ip(), IdleSeconds: a.WebIdleTTL.Seconds(),
	})
	if err != nil {
		return issued{}, err
	}
	return issued{user: u, session: s.ID, refresh: token}, nil
}

// webSession is the WebSession of what register or login issued.
func webSession(res issued) WebSession {
	return WebSession{Token: res.refresh, SessionID: res.session, User: res.user}
}

// WebSignIn checks a password as Login does (same limits, same answers)
// and starts a browser session. The session named by previous (the
// browser's cookie, if any) is revoked first: a sign-in never keeps a
// cookie value that existed before it.
// Errors: as Login.
func (a *Accounts) WebSignIn(ctx context.Context, identifier, pw string, c Client, previous string) (WebSession, error) {
	if err := a.WebSignOut(ctx, previous); err != nil {
		return WebSession{}, err
	}
	res, err := a.login(ctx, identifier, pw, c, true)
	if err != nil {
		return WebSession{}, err
	}
	return webSession(res), nil
}

// WebSignUp registers as Register does (same validation, same limits, the
// same verification mail) and starts a browser session, revoking the one
// named by previous.
// Errors: as Register.
func (a *Accounts) WebSignUp(ctx context.Context, r Registration, c Client, previous string) (WebSession, error) {
	if err := a.WebSignOut(ctx, previous); err != nil {
		return WebSession{}, err
	}
	res, err := a.register(ctx, r, c, true)
	if err != nil {
		return WebSession{}, err
	}
	return webSession(res), nil
}

// WebPrincipal is the principal of a browser session's cookie token: its
// user in that session. A use more than a minute after the last one is
// recorded, sliding the idle expiry (never past the absolute one).
// Errors: invalid_token (no such live session), account_disabled.
func (a *Accounts) WebPrincipal(ctx context.Context, token string, c Client) (Principal, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return Principal{}, ErrInvalidToken
	}
	row, err := a.db.q.SessionGetWeb(ctx, hash)
	if err != nil {
		return Principal{}, notFoundAs(err, ErrInvalidToken)
	}
	u := userFromRow(row.User)
	if !u.Usable() {
		return Principal{}, ErrAccountDisabled
	}
	if time.Since(row.Session.LastUsedAt) > webTouchEvery {
		if err := a.db.q.SessionTouchWeb(ctx, dbgen.SessionTouchWebParams{
			ID: row.Session.ID, IdleSeconds: a.WebIdleTTL.Seconds(), AbsoluteSeconds: a.WebAbsoluteTTL.Seconds(),
			UserAgent: c.userAgent(), IP: c.ip(),
		}); err != nil {
			return Principal{}, err
		}
	}
	return Principal{User: u, SessionID: row.Session.ID}, nil
}

// WebSignOut revokes the browser session of a cookie token (reason
// logout). An empty, unknown or revoked token is not an error.
func (a *Accounts) WebSignOut(ctx context.Context, token string) error {
	hash, ok := tokenHash(token)
	if !ok {
		return nil
	}
	return a.db.q.SessionRevokeWeb(ctx, dbgen.SessionRevokeWebParams{WebTokenHash: hash, Reason: strPtr("logout")})
}

// RotateWebSession gives p's browser session a new cookie token and
// returns it; the old one names nothing from now on. Pages call it after
// a password change.
// Errors: invalid_token (the session was revoked meanwhile).
func (a *Accounts) RotateWebSession(ctx context.Context, by Principal) (string, error) {
	token, hash, err := newOpaqueToken()
	if err != nil {
		return "", err
	}
	n, err := a.db.q.SessionRotateWeb(ctx, dbgen.SessionRotateWebParams{ID: by.SessionID, WebTokenHash: hash})
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", ErrInvalidToken
	}
	return token, nil
}

// SignOutEverywhere revokes every session of p's user, api and web, this
// one included (reason revoked_by_user): their refresh tokens, access
// tokens and cookies stop working at once. Audited as
// session.revoked_all.
func (a *Accounts) SignOutEverywhere(ctx context.Context, by Principal) error {
	return inTx(ctx, a.db, func(q *dbgen.Queries) error {
		n, err := q.SessionRevokeAllByUser(ctx, dbgen.SessionRevokeAllByUserParams{UserID: by.User.ID, Reason: strPtr("revoked_by_user")})
		if err != nil {
			return err
		}
		return audit(ctx, q, &by.User.ID, &by.User.ID, "session.revoked_all", map[string]any{"sessions_revoked": n})
	})
}
