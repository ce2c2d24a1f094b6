package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/mail"
)

// Opaque tokens (refresh tokens, mailed tokens) are 32 random bytes in
// base64url without padding; only their SHA-256 is stored.
const (
	opaqueTokenBytes = 32
	opaqueTokenLen   = 43 // base64url of 32 bytes
)

// Purposes of user_tokens rows.
const (
	purposeEmailVerification = "email_verification"
	purposePasswordReset     = "password_reset"
	purposeEmailChange       = "email_change"
)

// newOpaqueToken returns a fresh token and its stored hash.
func newOpaqueToken() (token string, hash []byte, err error) {
	var b [opaqueTokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("random token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(token))
	return token, h[:], nil
}

// tokenHash returns the stored hash of a presented token, or false for
// anything that cannot be one of ours (no database round trip).
func tokenHash(token string) ([]byte, bool) {
	if len(token) != opaqueTokenLen {
		return nil, false
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(token); err != nil {
		return nil, false
	}
	h := sha256.Sum256([]byte(token))
	return h[:], true
}

// link is a URL under the public URL that carries token.
func (a *Accounts) link(path, token string) string {
	return a.publicURL + path + "?token=" + url.QueryEscape(token)
}

// mailToken creates a token of purpose for email, valid for ttl, and
// queues the mail made of it, in q's transaction. It sends nothing when
// MailsPerHour mails of that purpose went to the address in the last hour,
// whichever accounts they were for, so that nobody can flood an inbox
// through userd (re-registering with someone's address, say).
func (a *Accounts) mailToken(ctx context.Context, q *dbgen.Queries, userID int64, email, purpose string, ttl time.Duration) error {
	if ok, err := a.mailAllowed(ctx, q, email, purpose); !ok || err != nil {
		return err
	}
	token, hash, err := newOpaqueToken()
	if err != nil {
		return err
	}
	if err := q.UserTokenCreate(ctx, dbgen.UserTokenCreateParams{
		UserID: userID, Purpose: purpose, TokenHash: hash, Email: email, TtlSeconds: ttl.Seconds(),
	}); err != nil {
		return err
	}
	kind, page := mail.Verify, "/verify-email"
	switch purpose {
	case purposeEmailVerification:
	case purposeEmailChange:
		kind = mail.EmailChange
	case purposePasswordReset:
		kind, page = mail.PasswordReset, "/reset-password"
	default:
		return fmt.Errorf("mail token: unknown purpose %q", purpose)
	}
	return a.enqueueRendered(ctx, q, userID, kind, email, mail.Data{Link: a.link(page, token), Expires: humanDuration(ttl)})
}

// mailAllowed counts a mail of kind to address against MailsPerHour and
// reports whether it may go. The address is kept as an HMAC only.
func (a *Accounts) mailAllowed(ctx context.Context, q *dbgen.Queries, address, kind string) (bool, error) {
	l := rateLimit{bucket: "mail." + kind, limit: a.MailsPerHour, window: time.Hour}
	ok, _, err := take(ctx, q, l, a.keys.of("mail:"+strings.ToLower(strings.TrimSpace(address))))
	return ok, err
}

// useToken spends the live token with this hash, of one of purposes, and
// locks its user's row, in q's transaction.
// Errors: invalid_token (unknown, used or expired token).
func useToken(ctx context.Context, q *dbgen.Queries, hash []byte, purposes ...string) (dbgen.UserToken, dbgen.User, error) {
	t, err := q.UserTokenUseAny(ctx, dbgen.UserTokenUseAnyParams{TokenHash: hash, Purposes: purposes})
	if err != nil {
		return t, dbgen.User{}, notFoundAs(err, ErrInvalidToken)
	}
	u, err := q.UserGetByIDForUpdate(ctx, t.UserID)
	return t, u, err
}

// humanDuration writes whole hours as "1 hour" / "24 hours", else minutes.
func humanDuration(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "1 hour"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	default:
		return strconv.Itoa(int(d/time.Minute)) + " minutes"
	}
}

// ResendVerification mails a new verification link to the user's email.
// It does nothing when the email is verified already or MailsPerHour links
// went out in the last hour.
// Errors: validation_failed (the user has no email), not_found.
func (a *Accounts) ResendVerification(ctx context.Context, by Principal) error {
	userID := by.User.ID
	return inTx(ctx, a.db, func(q *dbgen.Queries) error {
		u, err := q.UserGetByIDForUpdate(ctx, userID)
		if err != nil {
			return err
		}
		switch {
		case u.DeletedAt != nil:
			return ErrNotFound
		case u.Email == nil:
			return Invalid(FieldError{Field: "email", Message: "there is no email address to verify"})
		case u.EmailVerified:
			return nil
		}
		return a.mailToken(ctx, q, u.ID, *u.Email, purposeEmailVerification, a.VerifyTTL)
	})
}

// MailedLink is what a live mailed token (a verification, email-change or
// password-reset link) is for, so that its page can show the right form.
type MailedLink struct {
	UserID int64
	Email  string // the address the link went to
	Change bool   // an email change (else a verification), for Verify links
}

// CheckEmailLink reads a live verification or email-change token without
// spending it.
// Errors: invalid_token (unknown, used or expired).
func (a *Accounts) CheckEmailLink(ctx context.Context, token string) (MailedLink, error) {
	return a.checkLink(ctx, token, purposeEmailVerification, purposeEmailChange)
}

// CheckResetLink reads a live password-reset token without spending it.
// Errors: invalid_token (unknown, used or expired).
func (a *Accounts) CheckResetLink(ctx context.Context, token string) (MailedLink, error) {
	return a.checkLink(ctx, token, purposePasswordReset)
}

func (a *Accounts) checkLink(ctx context.Context, token string, purposes ...string) (MailedLink, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return MailedLink{}, ErrInvalidToken
	}
	t, err := a.db.q.UserTokenGetLiveAny(ctx, dbgen.UserTokenGetLiveAnyParams{TokenHash: hash, Purposes: purposes})
	if err != nil {
		return MailedLink{}, notFoundAs(err, ErrInvalidToken)
	}
	return MailedLink{UserID: t.UserID, Email: t.Email, Change: t.Purpose == purposeEmailChange}, nil
}
