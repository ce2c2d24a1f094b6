package service

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/userd/userd/dbgen"
)

// maxUserAgent bounds the user agent kept on a session, in characters.
const maxUserAgent = 512

// cursorSessions is the cursor kind of the sessions list.
const cursorSessions = "sessions"

// Client is where a request comes from; sessions record it.
type Client struct {
	UserAgent string
	IP        netip.Addr // the zero Addr when unknown
}

// userAgent is the user agent as stored: valid UTF-8 without control
// characters, trimmed, at most 512 characters; nil when empty.
func (c Client) userAgent() *string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(c.UserAgent, ""))
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxUserAgent {
		s = string([]rune(s)[:maxUserAgent])
	}
	if s == "" {
		return nil
	}
	return &s
}

func (c Client) ip() *netip.Addr {
	if !c.IP.IsValid() {
		return nil
	}
	ip := c.IP.Unmap()
	return &ip
}

// Tokens are what a client holds after signing in or refreshing.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration // of the access token
	ExpiresAt    time.Time     // of the access token: its exp claim
	SessionID    int64
}

// Session is one signed-in device: a refresh-token family.
type Session struct {
	ID         int64
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
	UserAgent  *string
	IP         *netip.Addr // as of the last use
}

// Errors behind invalid_token on refresh, for logs.
var (
	errRefreshRaced  = errors.New("refresh token rotated moments ago (concurrent refresh)")
	errRefreshReused = errors.New("rotated refresh token reused: session revoked")
)

// newSession starts a session for userID in q's transaction and returns
// it with its first refresh token.
func (a *Accounts) newSession(ctx context.Context, q *dbgen.Queries, userID int64, c Client) (dbgen.Session, string, error) {
	s, err := q.SessionCreate(ctx, dbgen.SessionCreateParams{UserID: userID, UserAgent: c.userAgent(), IP: c.ip(), TtlSeconds: a.SessionTTL.Seconds()})
	if err != nil {
		return dbgen.Session{}, "", err
	}
	token, hash, err := newOpaqueToken()
	if err != nil {
		return dbgen.Session{}, "", err
	}
	if err := q.SessionRefreshTokenCreate(ctx, dbgen.SessionRefreshTokenCreateParams{TokenHash: hash, SessionID: s.ID}); err != nil {
		return dbgen.Session{}, "", err
	}
	return s, token, nil
}

// issue signs an access token for u in session s.
func (a *Accounts) issue(u User, sessionID int64, refresh string) (Tokens, error) {
	access, exp, err := a.access.sign(u, sessionID, a.AccessTTL)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: a.AccessTTL, ExpiresAt: exp, SessionID: sessionID}, nil
}

// Refresh trades a refresh token for a new access token and a new refresh
// token; the presented one is rotated (spent). The session's expiry slides
// to SessionTTL from now, and its user agent and address become the
// client's.
//
// A rotated token presented again revokes the whole session (reason
// reuse_detected, audited as session.reuse_detected): one of the two
// holders is not the user. The exception
// is a token rotated less than RefreshGrace ago: that is a client sending
// two refreshes at once (two tabs, a retry), and it gets invalid_token
// without the session being revoked. Refreshes of one session run one at a
// time (the session row is locked), so of two concurrent refreshes of one
// token exactly one succeeds.
// Errors: invalid_token (unknown, rotated, revoked or expired),
// account_disabled.
func (a *Accounts) Refresh(ctx context.Context, refreshToken string, c Client) (Tokens, error) {
	res, err := a.refresh(ctx, refreshToken, c, func(s dbgen.Session) error {
		if s.ClientID != nil {
			// A client's session refreshes at /oauth/token, as that client.
			return ErrInvalidToken
		}
		return nil
	})
	if err != nil {
		return Tokens{}, err
	}
	return a.issue(res.user, res.session, res.refresh)
}

// refreshed is what a rotation gives: the user, the session and its new
// refresh token.
type refreshed struct {
	user    User
	session int64
	refresh string
	reused  bool
}

// refresh rotates refreshToken as Refresh describes. bind, called with
// the locked session before anything else is decided, refuses a token
// that is not the caller's to use (a session of another client) with the
// error it returns, without revoking anything.
func (a *Accounts) refresh(ctx context.Context, refreshToken string, c Client, bind func(dbgen.Session) error) (refreshed, error) {
	hash, ok := tokenHash(refreshToken)
	if !ok {
		return refreshed{}, ErrInvalidToken
	}
	type result = refreshed
	res, err := inTxV(ctx, a.db, func(q *dbgen.Queries) (result, error) {
		s, err := q.SessionLockByRefreshToken(ctx, hash)
		if err != nil {
			return result{}, notFoundAs(err, ErrInvalidToken)
		}
		if err := bind(s); err != nil {
			return result{}, err
		}
		// Read after taking the lock: a refresh that held it has committed.
		t, err := q.SessionRefreshTokenGet(ctx, hash)
		if err != nil {
			return result{}, err
		}
		if s.RevokedAt != nil || !s.ExpiresAt.After(t.CheckedAt) {
			return result{}, ErrInvalidToken
		}
		if t.RotatedAt != nil {
			if t.CheckedAt.Sub(*t.RotatedAt) < a.RefreshGrace {
				return result{}, withCause(ErrInvalidToken, errRefreshRaced)
			}
			if err := q.SessionRevoke(ctx, dbgen.SessionRevokeParams{ID: s.ID, Reason: strPtr("reuse_detected")}); err != nil {
				return result{}, err
			}
			err := audit(ctx, q, nil, &s.UserID, "session.reuse_detected", map[string]any{"session_id": s.ID})
			return result{reused: true}, err
		}
		row, err := q.UserGetByID(ctx, s.UserID)
		if err != nil {
			return result{}, err
		}
		u := userFromRow(row)
		if !u.Usable() {
			return result{}, ErrAccountDisabled
		}
		if _, err := q.SessionRefreshTokenRotate(ctx, hash); err != nil {
			return result{}, notFoundAs(err, ErrInvalidToken)
		}
		token, newHash, err := newOpaqueToken()
		if err != nil {
			return result{}, err
		}
		if err := q.SessionRefreshTokenCreate(ctx, dbgen.SessionRefreshTokenCreateParams{TokenHash: newHash, SessionID: s.ID}); err != nil {
			return result{}, err
		}
		if _, err := q.SessionTouch(ctx, dbgen.SessionTouchParams{ID: s.ID, TtlSeconds: a.SessionTTL.Seconds(), UserAgent: c.userAgent(), IP: c.ip()}); err != nil {
			return result{}, err
		}
		return result{user: u, session: s.ID, refresh: token}, nil
	})
	if err != nil {
		return refreshed{}, err
	}
	if res.reused {
		return refreshed{}, withCause(ErrInvalidToken, errRefreshReused)
	}
	return res, nil
}

// Logout revokes the session a refresh token belongs to (reason logout).
// It is idempotent: an unknown token or a revoked session is not an error.
// The session's access tokens stop working at once.
func (a *Accounts) Logout(ctx context.Context, refreshToken string) error {
	hash, ok := tokenHash(refreshToken)
	if !ok {
		return nil
	}
	// In a transaction of its own, as every write that changes a principal
	// (tryTx: through a pooler, the cache learns of it before this returns).
	return inTx(ctx, a.db, func(q *dbgen.Queries) error {
		return errOnly(q.SessionRevokeByRefreshToken(ctx, dbgen.SessionRevokeByRefreshTokenParams{TokenHash: hash, Reason: strPtr("logout")}))
	})
}

// Sessions returns one keyset page of the user's live sessions, newest
// first. The cursor is bound to the user.
// Errors: validation_failed (limit), invalid_cursor, db_unavailable.
func (a *Accounts) Sessions(ctx context.Context, by Principal, page PageRequest) (Page[Session], error) {
	userID := by.User.ID
	p, err := a.cursors.startPage(cursorSessions, []byte(strconv.FormatInt(userID, 10)), page)
	if err != nil {
		return Page[Session]{}, err
	}
	return readPage(p, func(after Cursor, n int32) ([]dbgen.Session, error) {
		return a.db.q.SessionListLiveByUser(ctx, dbgen.SessionListLiveByUserParams{
			UserID: userID, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n,
		})
	}, sessionFromRow)
}

func sessionFromRow(r dbgen.Session) Session {
	return Session{ID: r.ID, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt, ExpiresAt: r.ExpiresAt, UserAgent: r.UserAgent, IP: r.IP}
}

// keyset is where a session stands in the sessions list's order.
func (s Session) keyset() Cursor { return Cursor{CreatedAt: s.CreatedAt, ID: s.ID} }

// RevokeSession revokes one of the user's sessions (reason
// revoked_by_user); revoking a revoked one again is not an error.
// Errors: not_found (no such session of this user).
func (a *Accounts) RevokeSession(ctx context.Context, by Principal, sessionID int64) error {
	userID := by.User.ID
	n, err := inTxV(ctx, a.db, func(q *dbgen.Queries) (int64, error) {
		return q.SessionRevokeOwned(ctx, dbgen.SessionRevokeOwnedParams{ID: sessionID, UserID: userID})
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
