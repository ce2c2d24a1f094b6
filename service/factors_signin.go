package service

import (
	"context"
	"slices"
	"time"

	"github.com/userd/userd/dbgen"
)

// Sign-in with a second factor: Login (or WebSignIn) of an account with a
// factor answers mfa_required with a challenge; CompleteSignIn (or
// WebCompleteSignIn) takes it with a code and opens the session, whose
// tokens then say aal2 and amr [otp pwd].

// assuranceLevel is the aal claim of a session that proved amr: aal2 when
// a second factor is among them.
func assuranceLevel(amr []string) string {
	for _, m := range amr {
		if m != amrPassword {
			return "aal2"
		}
	}
	return "aal1"
}

// factorChallenge returns the mfa_required error, with a new challenge
// stored in q's transaction, when userID has a second factor; nil when it
// has none.
func (a *Accounts) factorChallenge(ctx context.Context, q *dbgen.Queries, userID int64, web bool) (*Error, error) {
	f, err := factorsOf(ctx, q, userID)
	if err != nil || !f.Any() {
		return nil, err
	}
	token, hash, err := newOpaqueToken()
	if err != nil {
		return nil, err
	}
	if err := q.FactorChallengeCreate(ctx, dbgen.FactorChallengeCreateParams{
		TokenHash: hash, UserID: userID, Kind: sessionKind(web), TtlSeconds: a.FactorChallengeTTL.Seconds(),
	}); err != nil {
		return nil, err
	}
	if _, err := q.FactorChallengePrune(ctx, pruneBatch); err != nil {
		return nil, err
	}
	return FactorRequired(token, f.Methods()), nil
}

func sessionKind(web bool) string {
	if web {
		return "web"
	}
	return "api"
}

// CompleteSignIn finishes a sign-in that answered mfa_required: the
// challenge and a code of the account's authenticator or one of its
// recovery codes. The challenge is spent on success only, so a mistyped
// code can be tried again (within the login limits) until it expires.
// Errors: invalid_token (unknown, used or expired challenge, or one of a
// browser sign-in), invalid_credentials (wrong or used code),
// rate_limited, account_disabled.
func (a *Accounts) CompleteSignIn(ctx context.Context, challenge, code string, c Client) (SignIn, error) {
	res, err := a.completeSignIn(ctx, challenge, code, c, false)
	if err != nil {
		return SignIn{}, err
	}
	t, err := a.issue(res.user, res.session, res.refresh, res.amr)
	return SignIn{User: res.user, Tokens: t}, err
}

// WebCompleteSignIn is CompleteSignIn for a browser: it starts a browser
// session (revoking the one named by previous).
// Errors: as CompleteSignIn.
func (a *Accounts) WebCompleteSignIn(ctx context.Context, challenge, code string, c Client, previous string) (WebSession, error) {
	if err := a.WebSignOut(ctx, previous); err != nil {
		return WebSession{}, err
	}
	res, err := a.completeSignIn(ctx, challenge, code, c, true)
	if err != nil {
		return WebSession{}, err
	}
	return webSession(res), nil
}

// CheckFactorChallenge reports whether a browser sign-in challenge is
// live, so the code page can say so before a code is typed.
// Errors: invalid_token.
func (a *Accounts) CheckFactorChallenge(ctx context.Context, challenge string) error {
	_, err := a.liveChallenge(ctx, challenge, true)
	return err
}

func (a *Accounts) liveChallenge(ctx context.Context, challenge string, web bool) (dbgen.FactorChallenge, error) {
	hash, ok := tokenHash(challenge)
	if !ok {
		return dbgen.FactorChallenge{}, ErrInvalidToken
	}
	ch, err := a.db.q.FactorChallengeGet(ctx, hash)
	if err != nil {
		return dbgen.FactorChallenge{}, notFoundAs(err, ErrInvalidToken)
	}
	if ch.Kind != sessionKind(web) {
		return dbgen.FactorChallenge{}, ErrInvalidToken
	}
	return ch, nil
}

func (a *Accounts) completeSignIn(ctx context.Context, challenge, code string, c Client, web bool) (issued, error) {
	ch, err := a.liveChallenge(ctx, challenge, web)
	if err != nil {
		return issued{}, err
	}
	method, err := a.spendCode(ctx, ch.UserID, code, c.IP, false)
	if err != nil {
		if e, ok := ErrorOf(err); ok && e.Code == CodeValidation {
			return issued{}, ErrInvalidCredentials // the words of a failed login
		}
		return issued{}, err
	}
	amr := []string{method, amrPassword}
	slices.Sort(amr)
	now := time.Now().UTC()
	return inTxV(ctx, a.db, func(q *dbgen.Queries) (issued, error) {
		if _, err := q.FactorChallengeUse(ctx, ch.TokenHash); err != nil {
			return issued{}, notFoundAs(err, ErrInvalidToken)
		}
		authMethod := "password"
		r, err := q.UserUpdateLogin(ctx, dbgen.UserUpdateLoginParams{ID: ch.UserID, LastAuthMethod: &authMethod, LastAuthMethodAt: &now, LastLoginAt: &now})
		if err != nil {
			return issued{}, err
		}
		u := userFromRow(r)
		if !u.Usable() {
			return issued{}, ErrInvalidCredentials
		}
		res, err := a.startSession(ctx, q, u, c, web)
		if err != nil {
			return issued{}, err
		}
		if err := proveInSession(ctx, q, Principal{User: u, SessionID: res.session}, method); err != nil {
			return issued{}, err
		}
		res.amr = amr
		return res, nil
	})
}
