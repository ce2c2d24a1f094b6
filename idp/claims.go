package idp

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Claims is what userd takes from a provider's token.
type Claims struct {
	Subject       string
	Email         string // "" when absent (Supabase sends "")
	Phone         string // as sent: Supabase sends digits without "+"
	EmailVerified bool
	PhoneVerified bool
	// AuthMethod is the users.last_auth_method value of the newest amr
	// entry, or "" when the token does not say.
	AuthMethod string
	// AuthTime is when that authentication happened (amr timestamp, else
	// auth_time, else iat).
	AuthTime time.Time
	// ExpiresAt is the token's exp: no verdict on it outlives this.
	ExpiresAt time.Time
	// IssuedAt is the token's iat (zero when absent).
	IssuedAt time.Time
}

// amrEntry is one element of Supabase's amr claim.
type amrEntry struct {
	Method    string `json:"method"`
	Provider  string `json:"provider"`
	Timestamp int64  `json:"timestamp"`
}

// oauthProviders are the oauth providers users.last_auth_method knows.
var oauthProviders = map[string]bool{"google": true, "apple": true, "facebook": true, "github": true}

// AuthMethod maps an amr method and the app_metadata provider to a
// users.last_auth_method value; "" when there is no such value.
func AuthMethod(method, provider string) string {
	switch strings.ToLower(method) {
	case "password", "pwd":
		return "password"
	case "otp":
		if provider == "phone" {
			return "phone_otp"
		}
		return "email_otp"
	case "magiclink":
		return "magic_link"
	case "oauth":
		if oauthProviders[provider] {
			return provider
		}
	case "sso/saml", "sso":
		return "sso"
	case "anonymous":
		return "anonymous"
	}
	return ""
}

// maxSubject bounds the subject, as user_identities does.
const maxSubject = 255

func mapClaims(tok jwt.Token) (Claims, error) {
	c := Claims{Subject: tok.Subject(), AuthTime: tok.IssuedAt(), ExpiresAt: tok.Expiration(), IssuedAt: tok.IssuedAt()}
	if c.Subject == "" || len(c.Subject) > maxSubject {
		return Claims{}, fmt.Errorf("%w: sub must be 1 to %d bytes", ErrInvalidToken, maxSubject)
	}
	str := func(name string) string {
		v, _ := tok.Get(name)
		s, _ := v.(string)
		return strings.TrimSpace(s)
	}
	obj := func(name string) map[string]any {
		v, _ := tok.Get(name)
		m, _ := v.(map[string]any)
		return m
	}
	c.Email = str("email")
	c.Phone = str("phone")
	// user_metadata is editable by the user (Supabase updateUser), so its
	// email_verified proves nothing; app_metadata and the top-level claims
	// are the provider's word.
	provider, _ := obj("app_metadata")["provider"].(string)
	c.EmailVerified = truthy(tok, "email_verified")
	c.PhoneVerified = truthy(tok, "phone_verified")

	var authTime time.Time // the auth_time claim, zero when absent
	if v, ok := tok.Get("auth_time"); ok {
		if f, ok := v.(float64); ok && f > 0 {
			authTime = time.Unix(int64(f), 0)
			c.AuthTime = authTime
		}
	}
	if raw, ok := tok.Get("amr"); ok {
		entries, err := amrEntries(raw)
		if err != nil {
			return Claims{}, fmt.Errorf("%w: amr: %v", ErrInvalidToken, err)
		}
		var newest int64 = -1
		for _, e := range entries {
			m := AuthMethod(e.Method, provider)
			if m == "" || e.Timestamp < newest {
				continue
			}
			newest, c.AuthMethod = e.Timestamp, m
			if e.Timestamp > 0 {
				c.AuthTime = time.Unix(e.Timestamp, 0)
			}
		}
		// A magic link can only have gone to the email address, but amr
		// keeps every method of the session: an old magic link proved
		// the address of its day, not this claim. So only the newest
		// entry counts, and only when it is this token's authentication
		// (auth_time, else iat, give or take magicLinkSkew). A one-time
		// code proves nothing here: "otp" does not say whether it went to
		// the email or the phone (app_metadata.provider is the sign-up
		// provider, not this login's).
		if last, ok := newestEntry(entries); ok && AuthMethod(last.Method, provider) == "magic_link" {
			at := authTime
			if at.IsZero() {
				at = c.IssuedAt
			}
			if d := time.Unix(last.Timestamp, 0).Sub(at); last.Timestamp > 0 && !at.IsZero() && d <= magicLinkSkew && d >= -magicLinkSkew {
				c.EmailVerified = c.EmailVerified || c.Email != ""
			}
		}
	}
	c.AuthTime = c.AuthTime.UTC().Truncate(time.Second)
	if c.Email == "" {
		c.EmailVerified = false
	}
	if c.Phone == "" {
		c.PhoneVerified = false
	}
	return c, nil
}

func truthy(tok jwt.Token, name string) bool {
	v, _ := tok.Get(name)
	return v == true
}

// magicLinkSkew is how far a magic-link amr timestamp may be from the
// token's authentication time (auth_time, else iat) and still be it: the
// IdP stamps the two in the same request, not always in the same second.
const magicLinkSkew = 60 * time.Second

// newestEntry is the amr entry with the greatest timestamp (the last of
// equals); false for an empty amr.
func newestEntry(entries []amrEntry) (amrEntry, bool) {
	if len(entries) == 0 {
		return amrEntry{}, false
	}
	last := entries[0]
	for _, e := range entries[1:] {
		if e.Timestamp >= last.Timestamp {
			last = e
		}
	}
	return last, true
}

// amrEntries reads amr as Supabase's objects or as RFC 8176 strings.
func amrEntries(raw any) ([]amrEntry, error) {
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	var objs []amrEntry
	if err := json.Unmarshal(b, &objs); err == nil {
		return objs, nil
	}
	var strs []string
	if err := json.Unmarshal(b, &strs); err != nil {
		return nil, err
	}
	out := make([]amrEntry, len(strs))
	for i, s := range strs {
		out[i] = amrEntry{Method: s}
	}
	return out, nil
}
