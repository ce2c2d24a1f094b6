package service

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/idp"
	"github.com/userd/userd/mail"
	"github.com/userd/userd/phone"
)

// ExternalVerifier verifies an external IdP's tokens (idp.Verifier).
type ExternalVerifier interface {
	Verify(ctx context.Context, token string) (idp.Claims, error)
	// VerifyGeneration is Verify that also returns the generation of the
	// key set used; KeyGeneration is the generation in use now. A
	// remembered verdict stands only while the two are equal.
	VerifyGeneration(ctx context.Context, token string) (idp.Claims, uint64, error)
	KeyGeneration(ctx context.Context) uint64
}

// LocalVerifier verifies the access tokens userd signs and returns the
// user and the session (0 for none) they name, and their expiry.
type LocalVerifier interface {
	VerifyAccess(token string) (Access, error)
}

// Principal is the authenticated caller.
type Principal struct {
	User User
	// Provider is the external IdP the token came from; "" for userd's own.
	Provider string
	// SessionID is the session a token of userd's own was issued for; 0
	// for external tokens.
	SessionID int64
	// Memo keeps values derived from User for as long as the principal
	// is cached (nil when it is not: compute each time).
	Memo *Memo
	// console marks the operator at the command line (Console).
	console bool
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
	tokens        *tokenCache // nil: off
	accounts      *Accounts   // mails notices, checks passwords; nil: no local accounts
}

// AuthConfig wires Auth's verifiers.
type AuthConfig struct {
	External       ExternalVerifier
	ExternalIssuer string
	Provider       string // recorded on identities, e.g. "supabase"
	Local          LocalVerifier
	LocalIssuer    string
	DefaultRegion  string
	// Cache bounds the verified-token cache (Tokens, TokenBytes); the
	// zero value turns it off. The principal cache is db's (OpenDB).
	Cache CacheConfig
	// Accounts checks passwords for linking and mails security notices
	// (an address released, a login linked); nil: no local accounts and
	// no notices.
	Accounts *Accounts
}

// NewAuth returns an Auth over db.
func NewAuth(db *DB, cfg AuthConfig) *Auth {
	return &Auth{
		db: db, external: cfg.External, externalIss: cfg.ExternalIssuer, provider: cfg.Provider,
		local: cfg.Local, localIss: cfg.LocalIssuer, defaultRegion: cfg.DefaultRegion, now: time.Now,
		tokens: newTokenCache(cfg.Cache), accounts: cfg.Accounts,
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
// A token verified before (and not expired, its issuer's keys unchanged)
// is not verified again; the principal behind it comes from the principal
// cache while that is coherent (OpenDB), else from the database.
// Errors: ErrInvalidToken, ErrIdPUnavailable, ErrAccountDisabled,
// ErrDBUnavailable.
func (a *Auth) Authenticate(ctx context.Context, token string) (Principal, error) {
	v, err := a.verify(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	if v.external {
		return a.externalPrincipal(ctx, v.login)
	}
	return a.localPrincipal(ctx, v.access)
}

// verify returns the verdict on token, remembered or made now.
func (a *Auth) verify(ctx context.Context, token string) (*verdict, error) {
	var key [32]byte
	now := a.now()
	if a.tokens != nil {
		key = tokenKey(token)
		var gen uint64
		if a.external != nil {
			gen = a.external.KeyGeneration(ctx)
			a.tokens.keysAre(gen)
		}
		if v, ok := a.tokens.get(key, now, gen); ok {
			return v, nil
		}
	}
	iss := unverifiedIssuer(token)
	var v *verdict
	switch {
	case a.local != nil && iss == a.localIss:
		acc, err := a.local.VerifyAccess(token)
		if err != nil {
			return nil, withCause(ErrInvalidToken, err)
		}
		v = &verdict{expires: acc.ExpiresAt, access: acc}
	case a.external != nil && iss == a.externalIss:
		claims, gen, err := a.external.VerifyGeneration(ctx, token)
		if errors.Is(err, idp.ErrUnavailable) {
			return nil, withCause(ErrIdPUnavailable, err)
		}
		if err != nil {
			return nil, withCause(ErrInvalidToken, err)
		}
		v = &verdict{expires: claims.ExpiresAt, external: true, gen: gen, claims: claims, login: a.normalize(a.provider, claims)}
		// A verdict of an older key set than the one now in use is not
		// kept: its key may be the one that went.
		if a.tokens != nil && a.external.KeyGeneration(ctx) != gen {
			return v, nil
		}
	default:
		return nil, withCause(ErrInvalidToken, a.unknownIssuer(iss))
	}
	a.tokens.put(key, v)
	return v, nil
}

// tokenKey is the key of token in the verified-token cache: its SHA-256,
// hashed where the string lies. A token is hundreds of bytes, and the copy
// []byte(token) would make is the largest allocation of a cached request;
// Sum256 only reads its argument.
func tokenKey(token string) [32]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

// localPrincipal is the principal of a verified token of userd's own: its
// user, if usable, in its session, if live.
func (a *Auth) localPrincipal(ctx context.Context, acc Access) (Principal, error) {
	k := principalKey{userID: acc.UserID, sessionID: acc.SessionID}
	e, ok := a.db.principals.get(k)
	if !ok {
		gen, caching := a.db.principals.generation()
		row, err := a.db.q.UserGetWithSession(ctx, dbgen.UserGetWithSessionParams{ID: acc.UserID, SessionID: acc.SessionID})
		if err != nil {
			if noRows(err) {
				return Principal{}, withCause(ErrInvalidToken, fmt.Errorf("user %d or session %d does not exist", acc.UserID, acc.SessionID))
			}
			return Principal{}, err
		}
		e = &principalEntry{user: userFromRow(row.User), sessionLive: row.SessionLive}
		if row.SessionExpiresAt != nil {
			e.sessionExpires = *row.SessionExpiresAt
		}
		if caching {
			e.memo = &Memo{}
			a.db.principals.put(k, e, gen)
		}
	}
	if !e.user.Usable() {
		return Principal{}, ErrAccountDisabled
	}
	// Logout, revocation, password change and reuse detection end the
	// session; its access tokens end with it, not 15 minutes later.
	if !e.sessionLive || !a.now().Before(e.sessionExpires) {
		return Principal{}, withCause(ErrInvalidToken, errors.New("session revoked or expired"))
	}
	return Principal{User: e.user, SessionID: acc.SessionID, Memo: e.memo}, nil
}

// externalPrincipal is the principal of a verified IdP token: the local
// user of its identity, synced (syncLogin) unless the cached one needs
// no write.
func (a *Auth) externalPrincipal(ctx context.Context, l externalLogin) (Principal, error) {
	k := principalKey{provider: l.provider, subject: l.subject}
	var u User
	var memo *Memo
	if e, ok := a.db.principals.get(k); ok && !needsWrite(e.user, e.identityEmail, e.identityPhn, l) {
		u, memo = e.user, e.memo
	} else {
		var err error
		if u, memo, err = a.syncLogin(ctx, l); err != nil {
			return Principal{}, err
		}
	}
	if !u.Usable() {
		return Principal{}, ErrAccountDisabled
	}
	return Principal{User: u, Provider: a.provider, Memo: memo}, nil
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

// syncLogin returns the local user of an external identity's normalized
// login, creating the user and identity on first sight. It writes only
// when something changed: a new authentication (a newer amr timestamp) or
// new email/phone claims. It links to an existing user only through a
// verified email or phone claim of an account without a password (see
// firstSight). Concurrent first sights make exactly one user. A user read
// that needs no write is put in the principal cache, with the memo it
// returns.
// Errors: email_taken / phone_taken (ErrEmailLinkRequired,
// ErrPhoneLinkRequired), conflict, db_unavailable.
func (a *Auth) syncLogin(ctx context.Context, l externalLogin) (User, *Memo, error) {
	for range 3 {
		gen, caching := a.db.principals.generation()
		row, err := a.db.q.IdentityGetUser(ctx, dbgen.IdentityGetUserParams{Provider: l.provider, Subject: l.subject})
		if err == nil {
			u := userFromRow(row.User)
			if !needsWrite(u, row.IdentityEmail, row.IdentityPhone, l) || !u.Usable() {
				var memo *Memo
				if caching {
					memo = &Memo{}
					e := &principalEntry{user: u, memo: memo, identityEmail: row.IdentityEmail, identityPhn: row.IdentityPhone}
					a.db.principals.put(principalKey{provider: l.provider, subject: l.subject}, e, gen)
				}
				return u, memo, nil
			}
			u, err = a.refresh(ctx, l, row)
			return u, nil, err
		}
		if !errors.Is(err, ErrNotFound) {
			return User{}, nil, err
		}
		u, err := a.firstSight(ctx, l)
		if err == nil {
			return u, nil, nil
		}
		// Another request created the identity, or took the email or
		// phone, meanwhile: read again.
		// ErrConflict: another subject of the provider was linked to the
		// same owner meanwhile; the next round creates a user of its own.
		if isLinkRequired(err) {
			return User{}, nil, err
		}
		if !errors.Is(err, errLostRace) && !errors.Is(err, ErrEmailTaken) && !errors.Is(err, ErrPhoneTaken) && !errors.Is(err, ErrConflict) {
			return User{}, nil, err
		}
	}
	return User{}, nil, fmt.Errorf("sync external identity: %w", ErrConflict)
}

var errLostRace = errors.New("identity created concurrently")

// changes says what a login brings that the identity's user and claims on
// record lack: changed email or phone claims, a newer authentication.
// Only a newer authentication is a new login: tokens of an older one
// (another device, another method) write nothing.
func loginChanges(u User, identityEmail, identityPhone *string, l externalLogin) (claimsChanged, newLogin bool) {
	claimsChanged = !ptrEq(identityEmail, l.email) || !ptrEq(identityPhone, l.phone)
	newLogin = l.authMethod != nil && (u.LastAuthMethodAt == nil || l.authTime.After(*u.LastAuthMethodAt))
	return claimsChanged, newLogin
}

// needsWrite reports whether a login must be recorded (refresh).
func needsWrite(u User, identityEmail, identityPhone *string, l externalLogin) bool {
	c, n := loginChanges(u, identityEmail, identityPhone, l)
	return c || n
}

// refresh records a new login or changed claims on a known identity, and
// does not write at all otherwise.
func (a *Auth) refresh(ctx context.Context, l externalLogin, row dbgen.IdentityGetUserRow) (User, error) {
	u := userFromRow(row.User)
	if !u.Usable() {
		return u, nil
	}
	claimsChanged, newLogin := loginChanges(u, row.IdentityEmail, row.IdentityPhone, l)
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

// addressOwner looks up who holds addr (kind addressEmail or
// addressPhone), a verified address of a first sight. An account that
// holds it unproven loses it to this proof (releaseAddress) and is no
// owner. found reports whether an account holds it proven; owner is that
// account, which both sides proved, unless it has a password: then
// linkRequired.
func (a *Auth) addressOwner(ctx context.Context, q *dbgen.Queries, kind, addr string, linkRequired *Error) (owner *dbgen.User, found bool, err error) {
	r, err := addressHolder(ctx, q, kind, addr)
	if err != nil || r == nil {
		return nil, false, err
	}
	if !holdsProven(*r, kind) {
		return nil, false, releaseAddress(ctx, q, a.accounts, *r, kind, addr)
	}
	if has, err := hasPassword(ctx, q, r.ID); err != nil || has {
		return nil, true, cmpErr(err, linkRequired)
	}
	return r, true, nil
}

// firstSight links the identity to the user owning its verified email or
// phone, or creates a user for it, in one transaction. Only a verified
// address lands on the user row; every claim is kept on the identity. An
// account with a password is never linked here: the verified claim of its
// address gets ErrEmailLinkRequired (ErrPhoneLinkRequired), and its owner
// links the login signed in with the password (LinkIdentity). An account
// that holds the verified address unproven loses it to the new user
// (addressOwner).
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
		byEmail := false // owner was found by its proven email
		if rowEmail != nil {
			o, found, err := a.addressOwner(ctx, q, addressEmail, *rowEmail, ErrEmailLinkRequired)
			if err != nil {
				return User{}, err
			}
			if found {
				owner, rowEmail = o, nil // someone else's: not copied to a new user
				byEmail = o != nil
			}
		}
		if rowPhone != nil && owner == nil {
			o, found, err := a.addressOwner(ctx, q, addressPhone, *rowPhone, ErrPhoneLinkRequired)
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
			if err := userEvent(ctx, q, EventUserCreated, r.ID); err != nil {
				return User{}, err
			}
			owner = &r
		} else {
			if byEmail {
				// The verified claim proves the owner's address again: a
				// pending change asked for before it dies.
				if err := addressProofClears(ctx, q, *owner); err != nil {
					return User{}, err
				}
				owner.PendingEmail = nil
			}
			if l.authMethod != nil {
				r, err := q.UserUpdateLogin(ctx, dbgen.UserUpdateLoginParams{ID: owner.ID, LastAuthMethod: l.authMethod, LastAuthMethodAt: authAt, LastLoginAt: &now})
				if err != nil {
					return User{}, err
				}
				owner = &r
			}
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

// linkFreshness bounds, for an explicit link, the age of the IdP
// token's authentication and of a password sign-in that stands in for
// the password.
const linkFreshness = 5 * time.Minute

// fresh reports whether t is within linkFreshness before now (a minute
// of clock skew allowed after it).
func fresh(t, now time.Time) bool {
	return !t.IsZero() && now.Sub(t) <= linkFreshness && t.Sub(now) <= time.Minute
}

// LinkIdentity links the external login of token to p's account: the
// explicit link, made signed in with userd's own token (a password
// sign-in), that an account with a password needs. A token travels
// (Supabase's audience is shared across a project), so the link asks for
// a fresh one: its authentication and issue at most 5 minutes old. An
// account with a password also gives currentPassword, unless p's sign-in
// is at most 5 minutes old. The account's address is told (a notice). A
// login linked to another account (it signed in before and has an account
// of its own) is refused: merging accounts is not offered. Linking a
// login that is linked to p already is a no-op.
// Errors: forbidden (p did not sign in with userd's own token),
// invalid_token, idp_unavailable, validation_failed (token not fresh;
// current_password missing or wrong), rate_limited, overloaded, conflict
// (the login belongs to another account, or p has another login of that
// provider).
func (a *Auth) LinkIdentity(ctx context.Context, by Principal, token string, currentPassword *string) (Identity, error) {
	if by.Provider != "" || by.SessionID == 0 {
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
	now := a.now()
	if !fresh(c.AuthTime, now) || !fresh(c.IssuedAt, now) {
		return Identity{}, Invalid(FieldError{Field: "token", Message: "must come from a sign-in to the provider in the last 5 minutes: sign in there again, then link"})
	}
	if err := a.confirmLinker(ctx, by, currentPassword, now); err != nil {
		return Identity{}, err
	}
	l := a.normalize(a.provider, c)
	return inTxV(ctx, a.db, func(q *dbgen.Queries) (Identity, error) {
		u, err := q.UserGetByIDForUpdate(ctx, by.User.ID)
		if err != nil {
			return Identity{}, err
		}
		if cur, err := q.IdentityGetByProviderSubject(ctx, dbgen.IdentityGetByProviderSubjectParams{Provider: l.provider, Subject: l.subject}); err == nil {
			if cur.UserID == by.User.ID {
				return identityFromRow(cur), nil
			}
			return Identity{}, &Error{Code: CodeConflict, Message: "this login belongs to another account, which has signed in with it: merging accounts is not offered"}
		} else if !noRows(err) {
			return Identity{}, err
		}
		row, err := q.IdentityCreate(ctx, dbgen.IdentityCreateParams{
			UserID: by.User.ID, Provider: l.provider, Subject: l.subject, Email: l.email, Phone: l.phone,
		})
		if err != nil {
			if uniqueViolation(err) || noRows(err) {
				return Identity{}, &Error{Code: CodeConflict, Message: "the account has a login of this provider already, or this login was linked meanwhile"}
			}
			return Identity{}, err
		}
		if l.emailVerified && u.Email != nil && sameEmail(*l.email, *u.Email) {
			// The provider proves the account's address: a proof like a
			// mailed link's, made signed in.
			if err := emailProvenSignedIn(ctx, q, u, by, "identity_link"); err != nil {
				return Identity{}, err
			}
		}
		if err := audit(ctx, q, &by.User.ID, &by.User.ID, "user.identity_linked", map[string]any{"provider": l.provider}); err != nil {
			return Identity{}, err
		}
		if u.Email != nil && a.accounts != nil {
			d := mail.Data{Email: *u.Email, Provider: l.provider}
			if err := a.accounts.notify(ctx, q, u.ID, mail.IdentityLinked, *u.Email, d); err != nil {
				return Identity{}, err
			}
		}
		return identityFromRow(row), nil
	})
}

// confirmLinker checks that p, linking a login, holds the account's
// password: currentPassword when given, else a sign-in (p's session) at
// most linkFreshness old. An account without a password needs neither.
// Errors: validation_failed (current_password), rate_limited, overloaded.
func (a *Auth) confirmLinker(ctx context.Context, by Principal, currentPassword *string, now time.Time) error {
	if a.accounts == nil {
		return nil // no local accounts: no passwords
	}
	if currentPassword == nil || *currentPassword == "" {
		has, err := inTxV(ctx, a.db, func(q *dbgen.Queries) (bool, error) { return hasPassword(ctx, q, by.User.ID) })
		if err != nil || !has {
			return err
		}
		began, err := a.db.q.SessionCreatedAt(ctx, dbgen.SessionCreatedAtParams{ID: by.SessionID, UserID: by.User.ID})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err == nil && fresh(began, now) {
			return nil
		}
	}
	_, err := a.accounts.confirmPassword(ctx, by.User.ID, currentPassword, "is required to link a login to an account with a password (or sign in again: a sign-in of the last 5 minutes stands in for it)")
	return err
}

// sameEmail reports whether two stored (normalized) addresses are one.
func sameEmail(a, b string) bool { return strings.EqualFold(a, b) }
