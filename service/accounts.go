package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/mail"
	"github.com/userd/userd/password"
	"github.com/userd/userd/phone"
	"github.com/userd/userd/signing"
)

// Accounts runs local accounts: registration and password login, sessions
// (rotating refresh tokens), password change and reset, and email
// verification. Access tokens are signed with the key set and verified by
// the LocalVerifier of the same keys (NewLocalVerifier).
type Accounts struct {
	db            *DB
	hasher        *password.Hasher
	gate          *password.Gate // bounds concurrent hashing
	access        accessTokens
	publicURL     string
	defaultRegion string
	jwks          func() ([]byte, error)
	cursors       cursorCodec // signs sessions-list cursors
	keys          keyed       // keys login_failures and rate_events
	data          DataKeys    // seals TOTP secrets

	// Tunables, set to their defaults by NewAccounts; change them before
	// the first call.
	AccessTTL    time.Duration // access token lifetime: 15 minutes
	SessionTTL   time.Duration // idle lifetime of a session, slid by every refresh: 30 days
	RefreshGrace time.Duration // a token rotated this recently is refused without revoking: 10 s
	ResetTTL     time.Duration // password-reset link: 1 hour
	// WebIdleTTL ends a browser session unused this long: 24 hours.
	WebIdleTTL time.Duration
	// WebAbsoluteTTL ends a browser session this long after its sign-in,
	// however used: 14 days.
	WebAbsoluteTTL time.Duration
	VerifyTTL      time.Duration   // email-verification link: 24 hours
	MailsPerHour   int             // mails of one kind to one address per hour, beyond which none go out: 5
	Limits         LoginLimits     // failed password checks: DefaultLoginLimits
	Signups        SignupLimits    // registrations and forgot-password requests per address: 1 hour, none
	Mail           *mail.Templates // renders every mail: the embedded templates
	// Second factors (factors.go): the issuer name authenticator apps
	// show (the public URL's host), how long a sign-in waits for its
	// second factor (5 minutes) and how long a factor shown in a session
	// allows sensitive actions (15 minutes).
	TOTPIssuer         string
	FactorChallengeTTL time.Duration
	StepUpTTL          time.Duration
}

// AccountsConfig wires Accounts.
type AccountsConfig struct {
	Keys          *signing.KeySet  // signs access tokens
	Hasher        *password.Hasher // argon2id
	Gate          *password.Gate   // bounds concurrent hashing; nil: password.NewGate defaults
	Issuer        string           // iss of access tokens
	Audience      string           // aud of access tokens
	PublicURL     string           // base of mailed links, without a trailing slash
	DefaultRegion string           // phone numbers without a country code
	DataKeys      DataKeys         // seal TOTP secrets (USERD_DATA_KEY); none: derived from Keys
}

// NewAccounts returns the Accounts service with the default tunables.
func NewAccounts(db *DB, cfg AccountsConfig) *Accounts {
	if cfg.Gate == nil {
		cfg.Gate = password.NewGate(password.GateConfig{})
	}
	if cfg.DataKeys.Empty() {
		cfg.DataKeys = DeriveDataKeys(cfg.Keys)
	}
	return &Accounts{
		db:                 db,
		data:               cfg.DataKeys,
		TOTPIssuer:         totpIssuer(cfg.PublicURL),
		FactorChallengeTTL: 5 * time.Minute,
		StepUpTTL:          15 * time.Minute,
		hasher:             cfg.Hasher,
		gate:               cfg.Gate,
		access:             accessTokens{keys: cfg.Keys, issuer: cfg.Issuer, audience: cfg.Audience},
		publicURL:          strings.TrimRight(cfg.PublicURL, "/"),
		defaultRegion:      cfg.DefaultRegion,
		jwks:               sync.OnceValues(cfg.Keys.PublicJWKS),
		cursors:            cursorCodec{key: sessionCursorKey(cfg.Keys)},
		keys:               keyed{secret: derivedKey(cfg.Keys, "rate-limit-keys")},
		AccessTTL:          15 * time.Minute,
		SessionTTL:         30 * 24 * time.Hour,
		RefreshGrace:       10 * time.Second,
		ResetTTL:           time.Hour,
		WebIdleTTL:         24 * time.Hour,
		WebAbsoluteTTL:     14 * 24 * time.Hour,
		VerifyTTL:          24 * time.Hour,
		MailsPerHour:       5,
		Limits:             DefaultLoginLimits,
		Signups:            SignupLimits{Window: time.Hour},
		Mail:               mail.DefaultTemplates(),
	}
}

// hashSlot waits for one of the gate's hashing slots with the place t
// (nil: one taken now) and returns the function that gives it back. Every
// argon2id run happens under a slot. The wait does not count against ctx's
// database budget (DBBudget).
// Errors: overloaded (queue full, or no slot within the wait or before
// ctx's deadline), or ctx's error when it is cancelled.
func (a *Accounts) hashSlot(ctx context.Context, t *password.Ticket) (func(), error) {
	var release func()
	var err error
	resume := pauseDB(ctx) // waiting for a slot is no database time
	if t == nil {
		release, err = a.gate.Enter(ctx)
	} else {
		release, err = t.Enter(ctx)
	}
	resume()
	if errors.Is(err, password.ErrBusy) || errors.Is(err, context.DeadlineExceeded) {
		return nil, withCause(ErrOverloaded, err)
	}
	if err != nil {
		return nil, fmt.Errorf("wait for a hashing slot: %w", err)
	}
	return release, nil
}

// hashAdmit takes a place in the hashing queue before the database work
// that precedes hashSlot, so a flood is turned away before it reaches the
// pool; callers defer the ticket's Cancel and pass it to hashSlot.
// Errors: overloaded when every place is taken.
func (a *Accounts) hashAdmit() (*password.Ticket, error) {
	t, err := a.gate.Reserve()
	if err != nil {
		return nil, withCause(ErrOverloaded, err)
	}
	return t, nil
}

// JWKS returns the public keys of the access tokens as a JSON JWK Set.
func (a *Accounts) JWKS() ([]byte, error) { return a.jwks() }

// TokenIssuer is what a verifier of userd's access tokens needs to know
// besides the keys: their iss and aud, and the JWS algorithms they may be
// signed with (the active key's first).
type TokenIssuer struct {
	Issuer     string
	Audience   string
	Algorithms []string
}

// TokenIssuer describes the access tokens Accounts signs.
func (a *Accounts) TokenIssuer() TokenIssuer {
	return TokenIssuer{Issuer: a.access.issuer, Audience: a.access.audience, Algorithms: a.access.keys.Algorithms()}
}

// SignIn is the outcome of a registration or login.
type SignIn struct {
	User   User
	Tokens Tokens
}

// Registration is what a new local account is made of. At least one of
// Email, Username and Phone is required; empty strings count as absent.
type Registration struct {
	Email     *string
	Username  *string
	Phone     *string
	FirstName *string
	LastName  *string
	Password  string
}

// passwordProblem is the client message for a password.Validate error.
func passwordProblem(err error) string {
	switch {
	case errors.Is(err, password.ErrTooShort):
		return "must be at least " + strconv.Itoa(password.MinLength) + " characters"
	case errors.Is(err, password.ErrTooLong):
		return "must be at most " + strconv.Itoa(password.MaxLength) + " characters"
	default:
		return "is too common: choose one that is harder to guess"
	}
}

// Register creates a local account with a password and signs it in. The
// phone is normalized to E.164 (default region for numbers without a
// country code). When an email is given, a verification link is mailed.
// Registrations are limited per client address (see SignupLimits).
// Errors: validation_failed (fields email, username, phone, first_name,
// last_name, password), email_taken, username_taken, phone_taken,
// rate_limited, overloaded.
func (a *Accounts) Register(ctx context.Context, r Registration, c Client) (SignIn, error) {
	res, err := a.register(ctx, r, c, false)
	if err != nil {
		return SignIn{}, err
	}
	t, err := a.issue(res.user, res.session, res.refresh, res.amr)
	return SignIn{User: res.user, Tokens: t}, err
}

// register is Register up to the new session: an api session (its first
// refresh token in issued.refresh) or, web, a browser session (its cookie
// token there).
func (a *Accounts) register(ctx context.Context, r Registration, c Client, web bool) (issued, error) {
	var v validation
	email := v.optional(emailRule, r.Email)
	username := v.optional(usernameRule, r.Username)
	tel := v.optional(phoneRule(a.defaultRegion), r.Phone)
	if len(v) == 0 && email == nil && username == nil && tel == nil {
		for _, f := range []string{"email", "username", "phone"} {
			v.add(f, "one of email, username and phone is required")
		}
	}
	first := text(&v, "first_name", r.FirstName, 50)
	last := text(&v, "last_name", r.LastName, 50)
	if err := password.Validate(r.Password); err != nil {
		v.add("password", passwordProblem(err))
	}
	if err := v.err(); err != nil {
		return issued{}, err
	}
	ticket, err := a.hashAdmit()
	if err != nil {
		return issued{}, err
	}
	defer ticket.Cancel()
	if err := a.spendAddress(ctx, c.IP); err != nil {
		return issued{}, err
	}
	release, err := a.hashSlot(ctx, ticket)
	if err != nil {
		return issued{}, err
	}
	hash, err := a.hasher.Hash(r.Password)
	release()
	if err != nil {
		return issued{}, fmt.Errorf("hash password: %w", err)
	}
	now := time.Now().UTC()
	method := "password"
	res, err := inTxV(ctx, a.db, func(q *dbgen.Queries) (issued, error) {
		row, err := q.UserCreate(ctx, dbgen.UserCreateParams{
			Username: username, Email: email, Phone: tel, FirstName: first, LastName: last, Role: string(RoleUser),
			LastAuthMethod: &method, LastAuthMethodAt: &now, LastLoginAt: &now,
		})
		if err != nil {
			return issued{}, err
		}
		if err := userEvent(ctx, q, EventUserCreated, row.ID); err != nil {
			return issued{}, err
		}
		if err := q.PasswordCredentialSet(ctx, dbgen.PasswordCredentialSetParams{UserID: row.ID, Hash: hash}); err != nil {
			return issued{}, err
		}
		if email != nil {
			if err := a.mailToken(ctx, q, row.ID, *email, purposeEmailVerification, a.VerifyTTL); err != nil {
				return issued{}, err
			}
		}
		return a.startSession(ctx, q, userFromRow(row), c, web)
	})
	return res, err
}

// maxIdentifier bounds a login identifier (an email is at most 254).
const maxIdentifier = 320

// findLogin returns the live user an identifier names: an email (in its
// canonical form, NormalizeEmail) when it holds "@"; else a username (case-insensitive);
// else a phone number in any format: the exact E.164 number, or failing
// that the one user whose number ends in the same ten digits.
// Errors: not_found (also for several phone matches).
func (a *Accounts) findLogin(ctx context.Context, identifier string) (dbgen.User, error) {
	s := strings.TrimSpace(identifier)
	if s == "" || len(s) > maxIdentifier {
		return dbgen.User{}, ErrNotFound
	}
	if strings.Contains(s, "@") {
		e, ok := NormalizeEmail(s)
		if !ok {
			return dbgen.User{}, ErrNotFound
		}
		return a.db.q.UserGetByEmail(ctx, e)
	}
	if name, ok := NormalizeUsername(s); ok {
		if row, err := a.db.q.UserGetByUsername(ctx, name); !errors.Is(err, ErrNotFound) {
			return row, err
		}
	}
	p, err := phone.Normalize(s, a.defaultRegion)
	if err != nil {
		return dbgen.User{}, ErrNotFound
	}
	rows, err := a.db.usersByPhone(ctx, p)
	if err != nil {
		return dbgen.User{}, err
	}
	if len(rows) != 1 {
		return dbgen.User{}, ErrNotFound
	}
	return rows[0], nil
}

// Login checks a password for an identifier (see findLogin) and starts a
// session. Every failure — unknown identifier, no password set, wrong
// password, a deactivated or deleted account even with its password — is
// invalid_credentials and costs one argon2id run (docs/api.md, "Local
// accounts": the answer tells nothing of the account, even to whoever
// holds its password). Failures are limited (see LoginLimits). A hash made
// with other argon2id parameters than the current ones is replaced on
// success.
// Errors: invalid_credentials, rate_limited, overloaded.
func (a *Accounts) Login(ctx context.Context, identifier, pw string, c Client) (SignIn, error) {
	res, err := a.login(ctx, identifier, pw, c, false)
	if err != nil {
		return SignIn{}, err
	}
	t, err := a.issue(res.user, res.session, res.refresh, res.amr)
	return SignIn{User: res.user, Tokens: t}, err
}

// login is Login up to the new session, an api or (web) a browser one
// (see register).
func (a *Accounts) login(ctx context.Context, identifier, pw string, c Client, web bool) (issued, error) {
	// A place in the hashing queue is taken before any database work, so
	// a flood is turned away before it reaches the pool; the slot itself
	// is taken after the limits, so a limited attempt is answered 429
	// without waiting for one.
	ticket, err := a.hashAdmit()
	if err != nil {
		return issued{}, err
	}
	defer ticket.Cancel()
	var newHash string
	key, shared := a.keys.loginKey(identifier, a.defaultRegion)
	at, err := a.beginAttempt(ctx, key, shared, c.IP, ticket)
	if err != nil {
		return issued{}, err
	}
	row, cred, err := a.credentials(ctx, identifier)
	if err != nil {
		return issued{}, err
	}
	// The slot is held for the argon2id runs only (the check, and a rehash
	// after a success), not for the database work around them.
	release, err := a.hashSlot(ctx, ticket)
	if err != nil {
		// Not checked, so not a failure: the attempt is taken back.
		return issued{}, errors.Join(err, a.forgetAttempt(context.WithoutCancel(ctx), at))
	}
	defer release()
	ok, rehash := false, false
	if cred == nil {
		a.hasher.VerifyDummy(pw)
	} else if ok, rehash, err = a.hasher.Verify(pw, cred.Hash); err != nil {
		return issued{}, fmt.Errorf("verify password of user %d: %w", row.ID, err)
	}
	if ok && rehash && userFromRow(row).Usable() {
		if newHash, err = a.hasher.Hash(pw); err != nil {
			return issued{}, fmt.Errorf("rehash password: %w", err)
		}
	}
	release()
	if !ok {
		if err := a.failAttempt(ctx, at, row.ID); err != nil {
			return issued{}, err
		}
		return issued{}, ErrInvalidCredentials
	}
	if !userFromRow(row).Usable() {
		// Every login failure is the same 401: a deactivated account is
		// not told apart even to someone with its password.
		if err := a.forgetAttempt(ctx, at); err != nil {
			return issued{}, err
		}
		return issued{}, ErrInvalidCredentials
	}
	now := time.Now().UTC()
	method := "password"
	res, err := inTxV(ctx, a.db, func(q *dbgen.Queries) (issued, error) {
		var err error
		if at.shared {
			err = q.LoginFailureDelete(ctx, at.id)
		} else {
			err = q.LoginFailureDeleteByIdentifiers(ctx, [][]byte{at.key})
		}
		if err != nil {
			return issued{}, err
		}
		if newHash != "" {
			// Only while the hash is still the one verified: a concurrent
			// password change is never undone.
			if _, err := q.PasswordCredentialReplace(ctx, dbgen.PasswordCredentialReplaceParams{UserID: row.ID, OldHash: cred.Hash, NewHash: newHash}); err != nil {
				return issued{}, err
			}
		}
		// An account with a second factor gets a challenge, not a session
		// (factors_signin.go).
		if ch, err := a.factorChallenge(ctx, q, row.ID, web); err != nil || ch != nil {
			return issued{challenge: ch}, err
		}
		r, err := q.UserUpdateLogin(ctx, dbgen.UserUpdateLoginParams{ID: row.ID, LastAuthMethod: &method, LastAuthMethodAt: &now, LastLoginAt: &now})
		if err != nil {
			return issued{}, err
		}
		u := userFromRow(r)
		if !u.Usable() { // deactivated meanwhile: the same answer
			return issued{}, ErrInvalidCredentials
		}
		return a.startSession(ctx, q, u, c, web)
	})
	if err == nil && res.challenge != nil {
		return issued{}, res.challenge
	}
	return res, err
}

// credentials returns the user an identifier names and their password
// credential; a nil credential when there is no such user or no password.
func (a *Accounts) credentials(ctx context.Context, identifier string) (dbgen.User, *dbgen.PasswordCredential, error) {
	row, err := a.findLogin(ctx, identifier)
	if errors.Is(err, ErrNotFound) {
		return dbgen.User{}, nil, nil
	}
	if err != nil {
		return dbgen.User{}, nil, err
	}
	cred, err := a.db.q.PasswordCredentialGet(ctx, row.ID)
	if errors.Is(err, ErrNotFound) {
		return row, nil, nil
	}
	if err != nil {
		return dbgen.User{}, nil, err
	}
	return row, &cred, nil
}

// issued is what a sign-in transaction hands back: the user, the new
// session and its first refresh token.
type issued struct {
	user    User
	session int64
	refresh string
	amr     []string // what the sign-in proved; nil: a password
	// challenge, instead of a session: the second factor is due.
	challenge *Error
}

// sessionCursorKey signs sessions-list cursors with a secret derived from
// the signing key, so every instance sharing the key accepts them.
func sessionCursorKey(keys *signing.KeySet) []byte {
	return derivedKey(keys, "cursor-sessions")
}

// derivedKey is a secret derived from the signing key for purpose, the
// same on every instance sharing the key.
func derivedKey(keys *signing.KeySet, purpose string) []byte {
	k, err := keys.DeriveSecret(purpose)
	if err != nil {
		panic("service: derive the " + purpose + " key: " + err.Error())
	}
	return k
}
