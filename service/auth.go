package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/idp"
	"github.com/userd/userd/phone"
)

// ExternalVerifier verifies an external IdP's tokens (idp.Verifier).
type ExternalVerifier interface {
	Verify(ctx context.Context, token string) (idp.Claims, error)
}

// LocalVerifier verifies the access tokens userd signs and returns the
// user id and the session id (0 for none) they name.
type LocalVerifier interface {
	VerifyAccess(token string) (userID, sessionID int64, err error)
}

// Principal is the authenticated caller.
type Principal struct {
	User User
	// Provider is the external IdP the token came from; "" for userd's own.
	Provider string
	// SessionID is the session a token of userd's own was issued for; 0
	// for external tokens.
	SessionID int64
}

// Auth turns bearer tokens into principals, syncing the local user on first
// sight of an external identity.
type Auth struct {
	db            *DB
	external      ExternalVerifier // nil: no external IdP
	externalIss   string
	provider      string
	local         LocalVerifier // nil: no local tokens
	localIss      string
	defaultRegion string
	now           func() time.Time
}

// AuthConfig wires Auth's verifiers.
type AuthConfig struct {
	External       ExternalVerifier
	ExternalIssuer string
	Provider       string // recorded on identities, e.g. "supabase"
	Local          LocalVerifier
	LocalIssuer    string
	DefaultRegion  string
}

// NewAuth returns an Auth over db.
func NewAuth(db *DB, cfg AuthConfig) *Auth {
	return &Auth{
		db: db, external: cfg.External, externalIss: cfg.ExternalIssuer, provider: cfg.Provider,
		local: cfg.Local, localIss: cfg.LocalIssuer, defaultRegion: cfg.DefaultRegion, now: time.Now,
	}
}

// unverifiedIssuer reads iss from a token's payload without verifying it;
// it only picks the verifier, which then checks iss itself.
func unverifiedIssuer(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var p struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(b, &p) != nil {
		return ""
	}
	return p.Iss
}

// Authenticate verifies a bearer token and returns its principal.
// Errors: ErrInvalidToken, ErrIdPUnavailable, ErrAccountDisabled,
// ErrDBUnavailable.
func (a *Auth) Authenticate(ctx context.Context, token string) (Principal, error) {
	iss := unverifiedIssuer(token)
	switch {
	case a.local != nil && iss == a.localIss:
		id, sessionID, err := a.local.VerifyAccess(token)
		if err != nil {
			return Principal{}, withCause(ErrInvalidToken, err)
		}
		row, err := query(ctx, a.db.q.UserGetWithSession, dbgen.UserGetWithSessionParams{ID: id, SessionID: sessionID})
		if err != nil {
			if noRows(err) || errors.Is(err, ErrNotFound) {
				return Principal{}, withCause(ErrInvalidToken, fmt.Errorf("user %d or session %d does not exist", id, sessionID))
			}
			return Principal{}, err
		}
		u := userFromRow(row.User)
		if !u.Usable() {
			return Principal{}, ErrAccountDisabled
		}
		// Logout, revocation, password change and reuse detection end the
		// session; its access tokens end with it, not 15 minutes later.
		if !row.SessionLive {
			return Principal{}, withCause(ErrInvalidToken, errors.New("session revoked or expired"))
		}
		return Principal{User: u, SessionID: sessionID}, nil
	case a.external != nil && iss == a.externalIss:
		claims, err := a.external.Verify(ctx, token)
		if errors.Is(err, idp.ErrUnavailable) {
			return Principal{}, withCause(ErrIdPUnavailable, err)
		}
		if err != nil {
			return Principal{}, withCause(ErrInvalidToken, err)
		}
		u, err := a.SyncExternal(ctx, a.provider, claims)
		if err != nil {
			return Principal{}, err
		}
		if !u.Usable() {
			return Principal{}, ErrAccountDisabled
		}
		return Principal{User: u, Provider: a.provider}, nil
	}
	return Principal{}, withCause(ErrInvalidToken, a.unknownIssuer(iss))
}

// unknownIssuer says why a token's issuer picks no verifier, for logs.
func (a *Auth) unknownIssuer(iss string) error {
	if iss == "" {
		return errors.New("not a JWT with an iss claim")
	}
	var known []string
	if a.local != nil {
		known = append(known, strconv.Quote(a.localIss))
	}
	if a.external != nil {
		known = append(known, strconv.Quote(a.externalIss))
	}
	if len(iss) > 200 {
		iss = iss[:200] + "…"
	}
	return fmt.Errorf("issuer %q is not one this server trusts (%s)", iss, strings.Join(known, ", "))
}

// externalLogin is an IdP's claims, normalized.
type externalLogin struct {
	provider, subject string
	email, phone      *string
	emailVerified     bool
	phoneVerified     bool
	authMethod        *string
	authTime          time.Time
}

func (a *Auth) normalize(provider string, c idp.Claims) externalLogin {
	l := externalLogin{provider: provider, subject: c.Subject, authTime: c.AuthTime}
	if e, ok := emailRule.normalize(c.Email); ok {
		l.email, l.emailVerified = &e, c.EmailVerified
	}
	// IdP phone claims are international digits (Supabase: E.164 without
	// "+"): never read in the default region, which is for typed numbers.
	if c.Phone != "" {
		if p, err := phone.International(c.Phone); err == nil {
			l.phone, l.phoneVerified = &p, c.PhoneVerified
		}
	}
	if c.AuthMethod != "" {
		m := c.AuthMethod
		l.authMethod = &m
	}
	return l
}

// SyncExternal returns the local user of an external identity, creating
// the user and identity on first sight. It writes only when something
// changed: a new authentication (a newer amr timestamp) or new email/phone
// claims. It links to an existing user only through a verified email or
// phone claim of an account without a password (see firstSight).
// Concurrent first sights make exactly one user.
// Errors: email_taken / phone_taken (ErrEmailLinkRequired,
// ErrPhoneLinkRequired), conflict, db_unavailable.
func (a *Auth) SyncExternal(ctx context.Context, provider string, c idp.Claims) (User, error) {
	l := a.normalize(provider, c)
	for range 3 {
		row, err := query(ctx, a.db.q.IdentityGetUser, dbgen.IdentityGetUserParams{Provider: provider, Subject: l.subject})
		if err == nil {
			return a.refresh(ctx, l, row)
		}
		if !errors.Is(err, ErrNotFound) {
			return User{}, err
		}
		u, err := a.firstSight(ctx, l)
		if err == nil {
			return u, nil
		}
		// Another request created the identity, or took the email or
		// phone, meanwhile: read again.
		// ErrConflict: another subject of the provider was linked to the
		// same owner meanwhile; the next round creates a user of its own.
		if isLinkRequired(err) {
			return User{}, err
		}
		if !errors.Is(err, errLostRace) && !errors.Is(err, ErrEmailTaken) && !errors.Is(err, ErrPhoneTaken) && !errors.Is(err, ErrConflict) {
			return User{}, err
		}
	}
	return User{}, fmt.Errorf("sync external identity: %w", ErrConflict)
}

var errLostRace = errors.New("identity created concurrently")

func strEq(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// refresh records a new login or changed claims on a known identity, and
// does not write at all otherwise.
func (a *Auth) refresh(ctx context.Context, l externalLogin, row dbgen.IdentityGetUserRow) (User, error) {
	u := userFromRow(row.User)
	if !u.Usable() {
		return u, nil
	}
	claimsChanged := !strEq(row.IdentityEmail, l.email) || !strEq(row.IdentityPhone, l.phone)
	// Only a newer authentication is a new login: tokens of an older one
	// (another device, another method) write nothing.
	newLogin := l.authMethod != nil && (u.LastAuthMethodAt == nil || l.authTime.After(*u.LastAuthMethodAt))
	if !claimsChanged && !newLogin {
		return u, nil
	}
	return inTxV(ctx, a.db, func(q *dbgen.Queries) (User, error) {
		if claimsChanged {
			if err := q.IdentityUpdateClaims(ctx, dbgen.IdentityUpdateClaimsParams{ID: row.IdentityID, Email: l.email, Phone: l.phone}); err != nil {
				return User{}, err
			}
		}
		if !newLogin {
			return u, nil
		}
		now := a.now().UTC()
		at := l.authTime
		r, err := q.UserUpdateLogin(ctx, dbgen.UserUpdateLoginParams{ID: u.ID, LastAuthMethod: l.authMethod, LastAuthMethodAt: &at, LastLoginAt: &now})
		if err != nil {
			return User{}, err
		}
		return userFromRow(r), nil
	})
}

// addressOwner looks up who holds addr, a verified address of a first
// sight (get: by email or by phone). found reports whether anyone does;
// owner is that user when it proved the address too (both sides must have),
// and an account with a password is linkRequired.
func addressOwner(ctx context.Context, q *dbgen.Queries, get func(context.Context, string) (dbgen.User, error),
	addr string, proven func(dbgen.User) bool, linkRequired *Error) (owner *dbgen.User, found bool, err error) {
	r, err := get(ctx, addr)
	switch {
	case noRows(err):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	if has, err := hasPassword(ctx, q, r.ID); err != nil || has {
		return nil, true, cmpErr(err, linkRequired)
	}
	if proven(r) {
		return &r, true, nil
	}
	return nil, true, nil
}

// firstSight links the identity to the user owning its verified email or
// phone, or creates a user for it, in one transaction. Only a verified
// address lands on the user row; every claim is kept on the identity. An
// account with a password is never linked here: the verified claim of its
// address gets ErrEmailLinkRequired (ErrPhoneLinkRequired), and its owner
// links the login signed in with the password (LinkIdentity).
func (a *Auth) firstSight(ctx context.Context, l externalLogin) (User, error) {
	return inTxV(ctx, a.db, func(q *dbgen.Queries) (User, error) {
		// What the user row may get: verified addresses only.
		rowEmail, rowPhone := l.email, l.phone
		if !l.emailVerified {
			rowEmail = nil
		}
		if !l.phoneVerified {
			rowPhone = nil
		}
		var owner *dbgen.User
		if rowEmail != nil {
			o, found, err := addressOwner(ctx, q, q.UserGetByEmail, *rowEmail, func(u dbgen.User) bool { return u.EmailVerified }, ErrEmailLinkRequired)
			if err != nil {
				return User{}, err
			}
			if found {
				owner, rowEmail = o, nil // someone else's: not copied to a new user
			}
		}
		if rowPhone != nil && owner == nil {
			o, found, err := addressOwner(ctx, q, q.UserGetByPhone, *rowPhone, func(u dbgen.User) bool { return u.PhoneVerified }, ErrPhoneLinkRequired)
			if err != nil {
				return User{}, err
			}
			if found {
				owner, rowPhone = o, nil
			}
		}
		if owner != nil {
			// One identity per provider and user: a second subject of the
			// same provider gets a user of its own, without the address.
			ids, err := q.IdentityListByUser(ctx, owner.ID)
			if err != nil {
				return User{}, err
			}
			for _, id := range ids {
				if id.Provider == l.provider {
					owner, rowEmail, rowPhone = nil, nil, nil
					break
				}
			}
		}
		now := a.now().UTC()
		var authAt *time.Time
		if l.authMethod != nil {
			at := l.authTime
			authAt = &at
		}
		if owner == nil {
			r, err := q.UserCreate(ctx, dbgen.UserCreateParams{
				Email: rowEmail, Phone: rowPhone, Role: "user",
				EmailVerified: rowEmail != nil, PhoneVerified: rowPhone != nil,
				LastAuthMethod: l.authMethod, LastAuthMethodAt: authAt, LastLoginAt: &now,
			})
			if err != nil {
				return User{}, err
			}
			owner = &r
		} else if l.authMethod != nil {
			r, err := q.UserUpdateLogin(ctx, dbgen.UserUpdateLoginParams{ID: owner.ID, LastAuthMethod: l.authMethod, LastAuthMethodAt: authAt, LastLoginAt: &now})
			if err != nil {
				return User{}, err
			}
			owner = &r
		}
		_, err := q.IdentityCreate(ctx, dbgen.IdentityCreateParams{
			UserID: owner.ID, Provider: l.provider, Subject: l.subject, Email: l.email, Phone: l.phone,
		})
		if noRows(err) {
			// ON CONFLICT DO NOTHING returned no row: the identity exists.
			return User{}, errLostRace
		}
		if err != nil {
			return User{}, err
		}
		return userFromRow(*owner), nil
	})
}

// hasPassword reports whether the user has a password.
func hasPassword(ctx context.Context, q *dbgen.Queries, userID int64) (bool, error) {
	_, err := q.PasswordCredentialGet(ctx, userID)
	if noRows(err) {
		return false, nil
	}
	return err == nil, err
}

// cmpErr is err when there is one, else e.
func cmpErr(err error, e *Error) error {
	if err != nil {
		return err
	}
	return e
}

// LinkIdentity links the external login of token to p's account: the
// explicit link, made signed in with userd's own token (a password
// sign-in), that an account with a password needs. Linking a login that is
// linked to p already is a no-op.
// Errors: forbidden (p did not sign in with userd's own token),
// invalid_token, idp_unavailable, conflict (the login belongs to another
// account, or p has another login of that provider).
func (a *Auth) LinkIdentity(ctx context.Context, p Principal, token string) (Identity, error) {
	if p.Provider != "" || p.SessionID == 0 {
		return Identity{}, &Error{Code: CodeForbidden, Message: "sign in with your password to link a login"}
	}
	if a.external == nil || unverifiedIssuer(token) != a.externalIss {
		return Identity{}, ErrInvalidToken
	}
	c, err := a.external.Verify(ctx, token)
	if errors.Is(err, idp.ErrUnavailable) {
		return Identity{}, withCause(ErrIdPUnavailable, err)
	}
	if err != nil {
		return Identity{}, withCause(ErrInvalidToken, err)
	}
	l := a.normalize(a.provider, c)
	return inTxV(ctx, a.db, func(q *dbgen.Queries) (Identity, error) {
		if _, err := q.UserGetByIDForUpdate(ctx, p.User.ID); err != nil {
			return Identity{}, err
		}
		if cur, err := q.IdentityGetByProviderSubject(ctx, dbgen.IdentityGetByProviderSubjectParams{Provider: l.provider, Subject: l.subject}); err == nil {
			if cur.UserID == p.User.ID {
				return identityFromRow(cur), nil
			}
			return Identity{}, &Error{Code: CodeConflict, Message: "this login belongs to another account"}
		} else if !noRows(err) {
			return Identity{}, err
		}
		row, err := q.IdentityCreate(ctx, dbgen.IdentityCreateParams{
			UserID: p.User.ID, Provider: l.provider, Subject: l.subject, Email: l.email, Phone: l.phone,
		})
		if err != nil {
			if uniqueViolation(err) || noRows(err) {
				return Identity{}, &Error{Code: CodeConflict, Message: "the account has a login of this provider already, or this login was linked meanwhile"}
			}
			return Identity{}, err
		}
		return identityFromRow(row), audit(ctx, q, &p.User.ID, &p.User.ID, "user.identity_linked", map[string]any{"provider": l.provider})
	})
}
