package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/userd/userd/dbgen"
)

// Second factors (docs/mfa.md). An account may have a TOTP authenticator
// and, once it has, ten single-use recovery codes. A password sign-in of
// such an account opens no session: it answers mfa_required with an opaque
// challenge (FactorChallengeTTL), and CompleteSignIn with that challenge
// and a code does. Every code check counts against the login limits (per
// account and per client address), and a TOTP code is taken once: the
// database keeps the last time step used, and only an UPDATE that raises it
// accepts a code, so a replay within the step window is refused however
// many instances serve it. Sensitive actions (password and email change,
// deletion) of an account with a factor need a factor shown in the session
// within StepUpTTL (RequireRecentFactor, StepUp).

// TOTP parameters: what every authenticator app reads from an otpauth URI
// by default (RFC 6238: SHA-1, six digits, 30-second steps).
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	// totpSkew is how many steps either side of now a code may be from.
	totpSkew = 1
)

// recoveryCodeCount recovery codes are made at a time, each of
// recoveryCodeLen base32 characters (50 bits), shown as xxxxx-xxxxx.
const (
	recoveryCodeCount = 10
	recoveryCodeLen   = 10
)

// amr values (RFC 8176) that a session's sign-in can prove.
const (
	amrPassword = "pwd"
	amrOTP      = "otp"
)

// Factors is what second factors an account has.
type Factors struct {
	// TOTPSince is when its TOTP authenticator was confirmed; nil: none.
	TOTPSince         *time.Time
	RecoveryCodesLeft int
}

// Any reports whether the account has a second factor.
func (f Factors) Any() bool { return f.TOTPSince != nil }

// Methods is the list of its factors' names ("totp"), for clients.
func (f Factors) Methods() []string {
	m := []string{}
	if f.TOTPSince != nil {
		m = append(m, "totp")
	}
	return m
}

// TOTPEnrollment is a new, unconfirmed authenticator: its secret (base32)
// and the otpauth:// URI an app scans as a QR code.
type TOTPEnrollment struct {
	Secret string
	URI    string
}

// The errors of second factors.
var (
	// ErrStepUpRequired: a sensitive action of an account with a second
	// factor, and none was shown in this session lately (StepUp).
	ErrStepUpRequired = &Error{Code: CodeStepUpRequired, Message: "confirm with your second factor first"}
	errTOTPExists     = &Error{Code: CodeConflict, Message: "an authenticator is set up already: remove it first"}
	errNoFactor       = Invalid(FieldError{Field: "code", Message: "there is no second factor on this account"})
	errWrongCode      = Invalid(FieldError{Field: "code", Message: "is not correct"})
)

// FactorRequired is the mfa_required error of a sign-in whose password was
// right: challenge is what CompleteSignIn takes with a code.
func FactorRequired(challenge string, methods []string) *Error {
	return &Error{Code: CodeFactorRequired, Message: "a second factor is required", Challenge: challenge, Methods: methods}
}

// Factors returns the second factors of a user.
func (a *Accounts) Factors(ctx context.Context, userID int64) (Factors, error) {
	return factorsOf(ctx, a.db.q, userID)
}

func factorsOf(ctx context.Context, q *dbgen.Queries, userID int64) (Factors, error) {
	r, err := q.FactorSummary(ctx, userID)
	if err != nil {
		return Factors{}, err
	}
	return Factors{TOTPSince: r.TotpConfirmedAt, RecoveryCodesLeft: int(r.RecoveryCodesLeft)}, nil
}

// EnrollTOTP starts setting up an authenticator for the caller: a new
// secret, unconfirmed until ConfirmTOTP (an earlier unconfirmed one is
// replaced). Only a session of userd's own may (a token of an external IdP
// has no session to step up).
// Errors: forbidden, conflict (an authenticator is set up already).
func (a *Accounts) EnrollTOTP(ctx context.Context, p Principal) (TOTPEnrollment, error) {
	if p.SessionID == 0 {
		return TOTPEnrollment{}, ErrForbidden
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: a.TOTPIssuer, AccountName: accountLabel(p.User), Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	sealed, keyID, err := a.data.seal(p.User.ID, []byte(key.Secret()))
	if err != nil {
		return TOTPEnrollment{}, err
	}
	_, err = a.db.q.TOTPPut(ctx, dbgen.TOTPPutParams{UserID: p.User.ID, SecretSealed: sealed, KeyID: keyID})
	if errors.Is(err, ErrNotFound) {
		return TOTPEnrollment{}, errTOTPExists
	}
	if err != nil {
		return TOTPEnrollment{}, err
	}
	return TOTPEnrollment{Secret: key.Secret(), URI: key.URL()}, nil
}

// accountLabel names the account in an authenticator app.
func accountLabel(u User) string {
	switch {
	case u.Email != nil:
		return *u.Email
	case u.Username != nil:
		return *u.Username
	}
	return "user " + strconv.FormatInt(u.ID, 10)
}

// ConfirmTOTP checks a first code of the caller's new authenticator, which
// then counts as a factor, and returns ten new recovery codes when the
// account had none left (nil otherwise). The session counts as having
// shown the factor. Audited as factor.totp_added.
// Errors: validation_failed (code: wrong, used, or nothing to confirm),
// conflict (confirmed already), rate_limited.
func (a *Accounts) ConfirmTOTP(ctx context.Context, p Principal, code string) ([]string, error) {
	t, err := a.db.q.TOTPGet(ctx, p.User.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, Invalid(FieldError{Field: "code", Message: "there is no authenticator to confirm: set one up first"})
	}
	if err != nil {
		return nil, err
	}
	if t.ConfirmedAt != nil {
		return nil, errTOTPExists
	}
	if _, err := a.spendCode(ctx, p.User.ID, code, netip.Addr{}, true); err != nil {
		return nil, err
	}
	return inTxV(ctx, a.db, func(q *dbgen.Queries) ([]string, error) {
		var codes []string
		f, err := factorsOf(ctx, q, p.User.ID)
		if err != nil {
			return nil, err
		}
		if f.RecoveryCodesLeft == 0 {
			if codes, err = newRecoveryCodes(ctx, q, p.User.ID); err != nil {
				return nil, err
			}
		}
		if err := proveInSession(ctx, q, p, amrOTP); err != nil {
			return nil, err
		}
		return codes, audit(ctx, q, &p.User.ID, &p.User.ID, "factor.totp_added", nil)
	})
}

// RemoveTOTP removes the caller's authenticator, after a current code of it
// or a recovery code; the recovery codes go with it (the account has no
// factor left). Audited as factor.totp_removed.
// Errors: validation_failed (code), rate_limited.
func (a *Accounts) RemoveTOTP(ctx context.Context, p Principal, code string) error {
	if _, err := a.spendCode(ctx, p.User.ID, code, netip.Addr{}, false); err != nil {
		return err
	}
	return inTx(ctx, a.db, func(q *dbgen.Queries) error {
		return removeFactors(ctx, q, &p.User.ID, p.User.ID, "factor.totp_removed")
	})
}

// removeFactors deletes every factor of userID and audits it as action.
func removeFactors(ctx context.Context, q *dbgen.Queries, actorID *int64, userID int64, action string) error {
	n, err := q.TOTPDelete(ctx, userID)
	if err != nil {
		return err
	}
	codes, err := q.RecoveryCodeDeleteByUser(ctx, userID)
	if err != nil {
		return err
	}
	return audit(ctx, q, actorID, &userID, action, map[string]any{"totp": n > 0, "recovery_codes": codes})
}

// RegenerateRecoveryCodes replaces the caller's recovery codes with ten new
// ones, after a current code (authenticator or recovery). Audited as
// factor.recovery_codes_regenerated.
// Errors: validation_failed (code; no factor), rate_limited.
func (a *Accounts) RegenerateRecoveryCodes(ctx context.Context, p Principal, code string) ([]string, error) {
	f, err := a.Factors(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	if !f.Any() {
		return nil, errNoFactor
	}
	if _, err := a.spendCode(ctx, p.User.ID, code, netip.Addr{}, false); err != nil {
		return nil, err
	}
	return inTxV(ctx, a.db, func(q *dbgen.Queries) ([]string, error) {
		if _, err := q.RecoveryCodeDeleteByUser(ctx, p.User.ID); err != nil {
			return nil, err
		}
		codes, err := newRecoveryCodes(ctx, q, p.User.ID)
		if err != nil {
			return nil, err
		}
		return codes, audit(ctx, q, &p.User.ID, &p.User.ID, "factor.recovery_codes_regenerated", nil)
	})
}

// StepUp checks a code of the caller's factors and records it in the
// caller's session, so that sensitive actions are allowed for StepUpTTL.
// Errors: validation_failed (code; no factor), forbidden (no session of
// userd's own), rate_limited.
func (a *Accounts) StepUp(ctx context.Context, p Principal, code string) error {
	if p.SessionID == 0 {
		return ErrForbidden
	}
	f, err := a.Factors(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if !f.Any() {
		return errNoFactor
	}
	method, err := a.spendCode(ctx, p.User.ID, code, netip.Addr{}, false)
	if err != nil {
		return err
	}
	return inTx(ctx, a.db, func(q *dbgen.Queries) error { return proveInSession(ctx, q, p, method) })
}

// RequireRecentFactor returns step_up_required when p's account has a
// second factor and none was shown in p's session within StepUpTTL.
// Sensitive actions call it first.
// Errors: step_up_required.
func (a *Accounts) RequireRecentFactor(ctx context.Context, p Principal) error {
	f, err := a.Factors(ctx, p.User.ID)
	if err != nil || !f.Any() {
		return err
	}
	if p.SessionID == 0 {
		return ErrStepUpRequired
	}
	at, err := a.db.q.SessionFactorAt(ctx, dbgen.SessionFactorAtParams{ID: p.SessionID, UserID: p.User.ID})
	if err != nil {
		return notFoundAs(err, ErrStepUpRequired)
	}
	if at == nil || time.Since(*at) > a.StepUpTTL {
		return ErrStepUpRequired
	}
	return nil
}

// proveInSession records method as shown in p's session.
func proveInSession(ctx context.Context, q *dbgen.Queries, p Principal, method string) error {
	if p.SessionID == 0 {
		return nil
	}
	_, err := q.SessionProveFactor(ctx, dbgen.SessionProveFactorParams{ID: p.SessionID, UserID: p.User.ID, Method: method})
	return err
}

// spendCode checks code against userID's factors and spends it: a TOTP
// code of a time step not used yet (confirm: of an unconfirmed
// authenticator too, which it confirms; recovery codes are then not
// taken), or an unused recovery code. Each check is a login attempt
// (LoginLimits, per account, and per address when ip is known). It returns
// the amr value the code proves.
// Errors: validation_failed (code: wrong or used), rate_limited.
func (a *Accounts) spendCode(ctx context.Context, userID int64, code string, ip netip.Addr, confirm bool) (string, error) {
	at, err := a.beginAttempt(ctx, a.keys.of("factor:"+strconv.FormatInt(userID, 10)), false, ip, nil)
	if err != nil {
		return "", err
	}
	ok, err := a.tryCode(ctx, userID, code, confirm)
	if err != nil {
		return "", errors.Join(err, a.forgetAttempt(context.WithoutCancel(ctx), at))
	}
	if !ok {
		if err := a.failAttempt(ctx, at, userID); err != nil {
			return "", err
		}
		return "", errWrongCode
	}
	return amrOTP, a.forgetAttempt(ctx, at)
}

// tryCode is spendCode without the limits.
func (a *Accounts) tryCode(ctx context.Context, userID int64, code string, confirm bool) (bool, error) {
	code = strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(code)))
	if len(code) == int(totpDigits) && strings.Trim(code, "0123456789") == "" {
		return a.tryTOTP(ctx, userID, code, confirm)
	}
	if confirm || len(code) != recoveryCodeLen {
		return false, nil
	}
	_, err := a.db.q.RecoveryCodeUse(ctx, dbgen.RecoveryCodeUseParams{UserID: userID, CodeHash: recoveryHash(code)})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (a *Accounts) tryTOTP(ctx context.Context, userID int64, code string, confirm bool) (bool, error) {
	t, err := a.db.q.TOTPGet(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil || (t.ConfirmedAt == nil && !confirm) {
		return false, err
	}
	secret, err := a.data.open(userID, t.SecretSealed, t.KeyID)
	if err != nil {
		return false, err
	}
	step, ok := matchStep(string(secret), code, time.Now())
	if !ok {
		return false, nil
	}
	_, err = a.db.q.TOTPUseStep(ctx, dbgen.TOTPUseStepParams{UserID: userID, Step: step, Confirm: confirm})
	if errors.Is(err, ErrNotFound) {
		return false, nil // that step, or a later one, was used: a replay
	}
	if err != nil {
		return false, err
	}
	if t.KeyID != a.data.current() {
		sealed, keyID, err := a.data.seal(userID, secret)
		if err != nil {
			return false, err
		}
		if err := a.db.q.TOTPReseal(ctx, dbgen.TOTPResealParams{UserID: userID, SecretSealed: sealed, KeyID: keyID}); err != nil {
			return false, err
		}
	}
	return true, nil
}

// matchStep returns the time step within totpSkew of now whose code is
// code.
func matchStep(secret, code string, now time.Time) (int64, bool) {
	cur := now.Unix() / totpPeriod
	for _, d := range []int64{0, -1, 1} {
		if d < -totpSkew || d > totpSkew {
			continue
		}
		step := cur + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
		})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

var recoveryEncoding = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// newRecoveryCodes stores recoveryCodeCount new codes for userID and
// returns them, formatted xxxxx-xxxxx.
func newRecoveryCodes(ctx context.Context, q *dbgen.Queries, userID int64) ([]string, error) {
	codes := make([]string, recoveryCodeCount)
	rows := make([]dbgen.RecoveryCodeInsertParams, recoveryCodeCount)
	for i := range codes {
		var b [recoveryCodeLen * 5 / 8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		c := recoveryEncoding.EncodeToString(b[:])
		codes[i] = c[:5] + "-" + c[5:]
		rows[i] = dbgen.RecoveryCodeInsertParams{UserID: userID, CodeHash: recoveryHash(c)}
	}
	if _, err := q.RecoveryCodeInsert(ctx, rows); err != nil {
		return nil, err
	}
	return codes, nil
}

// recoveryHash is the stored form of a normalized recovery code. A plain
// SHA-256 is enough: each code holds 50 random bits and every guess is a
// limited login attempt.
func recoveryHash(code string) []byte {
	h := sha256.Sum256([]byte("userd/recovery/" + code))
	return h[:]
}

// totpIssuer is the issuer authenticator apps show: the public URL's host.
func totpIssuer(publicURL string) string {
	if u, err := url.Parse(publicURL); err == nil && u.Host != "" {
		return u.Host
	}
	return "userd"
}
