package httpapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/userd/userd/idp"
)

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestBadTokensAre401(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	good := e.idp.sign("sub-good", nil)
	parts := strings.Split(good, ".")
	var header map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	_ = json.Unmarshal(hb, &header)
	kid := header["kid"].(string)

	// HS256 signed with the public key's bytes: the classic confusion attack.
	e.idp.mu.Lock()
	pub, _ := e.idp.keys[0].PublicKey()
	e.idp.mu.Unlock()
	var rawPub ecdsa.PublicKey
	if err := pub.Raw(&rawPub); err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&rawPub)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	hsInput := b64(map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}) + "." + parts[1]
	mac := hmac.New(sha256.New, pemBytes)
	mac.Write([]byte(hsInput))
	hsToken := hsInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	foreign, _ := jwk.FromRaw(otherKey)
	_ = foreign.Set(jwk.KeyIDKey, kid) // right kid, wrong key: bad signature

	unknown, _ := jwk.FromRaw(otherKey)
	_ = unknown.Set(jwk.KeyIDKey, "kid-nobody-knows")

	tampered := parts[0] + "." + b64(map[string]any{"sub": "someone-else", "iss": testIssuer, "aud": testAudience, "exp": time.Now().Add(time.Hour).Unix()}) + "." + parts[2]

	cases := map[string]string{
		"expired":            e.idp.sign("s", map[string]any{"exp": time.Now().Add(-2 * time.Minute).Unix()}),
		"not yet valid":      e.idp.sign("s", map[string]any{"nbf": time.Now().Add(10 * time.Minute).Unix()}),
		"wrong issuer":       e.idp.sign("s", map[string]any{"iss": "https://evil.example"}),
		"wrong audience":     e.idp.sign("s", map[string]any{"aud": "someone-else"}),
		"alg none":           b64(map[string]any{"alg": "none", "kid": kid}) + "." + parts[1] + ".",
		"hs256 with pub key": hsToken,
		"bad signature":      signWith(t, foreign, jwa.ES256, "s", nil),
		"unknown kid":        signWith(t, unknown, jwa.ES256, "s", nil),
		"tampered payload":   tampered,
		"garbage":            "not.a.token",
		"subject too long":   e.idp.sign(strings.Repeat("s", 3000), nil),
		"empty subject":      e.idp.sign("", nil),
		"empty parts":        "..",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.do("GET", "/api/v1/users/me", tok, nil)
			expect(t, r, http.StatusUnauthorized, "invalid_token")
			if got := r.header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
				t.Fatalf("WWW-Authenticate: got %q", got)
			}
		})
	}
	r := e.do("GET", "/api/v1/users/me", "", nil)
	expect(t, r, http.StatusUnauthorized, "invalid_token")

	// Nothing above created a user.
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("got %d users after bad tokens, want 0", n)
	}
}

func TestKeyRotationWithoutRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.signIn("rot", nil)
	e.idp.rotate()
	tok := e.idp.sign("rot", nil)
	expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")
}

func TestUnknownKIDRefetchIsRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.signIn("a", nil)
	before := e.idp.fetches.Load()
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k, _ := jwk.FromRaw(otherKey)
	_ = k.Set(jwk.KeyIDKey, "kid-unknown")
	for range 5 {
		expect(t, e.do("GET", "/api/v1/users/me", signWith(t, k, jwa.ES256, "a", nil), nil), http.StatusUnauthorized, "invalid_token")
	}
	if got := e.idp.fetches.Load() - before; got != 1 {
		t.Fatalf("got %d JWKS fetches for 5 unknown-kid tokens, want 1", got)
	}
}

func TestIdPOutage(t *testing.T) {
	t.Parallel()
	t.Run("before keys were cached", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(c *idp.Config) { c.OutageRefresh = time.Millisecond })
		e.idp.setDown(true)
		r := e.do("GET", "/api/v1/users/me", e.idp.sign("x", nil), nil)
		expect(t, r, http.StatusServiceUnavailable, "idp_unavailable")
		if got := r.header.Get("Retry-After"); got != "5" {
			t.Fatalf("Retry-After: got %q, want 5", got)
		}
		e.idp.setDown(false)
		time.Sleep(5 * time.Millisecond)
		expect(t, e.do("GET", "/api/v1/users/me", e.idp.sign("x", nil), nil), http.StatusOK, "")
	})
	t.Run("after keys were cached", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		tok, _ := e.signIn("y", nil)
		e.idp.setDown(true)
		expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")
		// A key the cache lacks cannot be fetched: an outage, not a bad token.
		e.idp.rotate()
		r := e.do("GET", "/api/v1/users/me", e.idp.sign("y", nil), nil)
		expect(t, r, http.StatusServiceUnavailable, "idp_unavailable")
	})
}

// The keys are fetched once and kept: many requests, one JWKS fetch. (The
// max-age rule itself is TestDefaultMaxAge in idp.)
func TestJWKSFetchedOnceForManyRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.idp.maxAge = 600
	for i := range 20 {
		e.signIn("m"+string(rune('a'+i)), nil)
	}
	if got := e.idp.fetches.Load(); got != 1 {
		t.Fatalf("got %d JWKS fetches for 20 requests, want 1", got)
	}
}

func TestLegacyHS256Secret(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *idp.Config) { c.JWTSecret = "legacy-secret-of-at-least-32-bytes!!" })
	tok := signWith(t, []byte("legacy-secret-of-at-least-32-bytes!!"), jwa.HS256, "legacy", nil)
	expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")
	bad := signWith(t, []byte("another-secret-of-at-least-32-bytes!"), jwa.HS256, "legacy", nil)
	expect(t, e.do("GET", "/api/v1/users/me", bad, nil), http.StatusUnauthorized, "invalid_token")
}

func TestFirstSightRace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.idp.sign("racer", map[string]any{"email": "racer@example.com", "phone": "919876543210"})
	const n = 50
	var wg sync.WaitGroup
	ids := make([]float64, n)
	statuses := make([]int, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := e.do("GET", "/api/v1/users/me", tok, nil)
			statuses[i] = r.status
			if r.status == http.StatusOK {
				ids[i] = r.json(t)["id"].(float64)
			}
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if statuses[i] != http.StatusOK || ids[i] != ids[0] {
			t.Fatalf("request %d: got status %d id %v, want 200 and id %v", i, statuses[i], ids[i], ids[0])
		}
	}
	var users, identities int
	ctx := context.Background()
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&users); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM user_identities").Scan(&identities); err != nil {
		t.Fatal(err)
	}
	if users != 1 || identities != 1 {
		t.Fatalf("got %d users and %d identities, want 1 and 1", users, identities)
	}
}

// rowVersions returns the xmin of the user's row and identity rows: any
// write changes them.
func rowVersions(t *testing.T, e *env, id int64) string {
	t.Helper()
	var v string
	err := e.pool.QueryRow(context.Background(), `
		SELECT u.xmin::text || '/' || u.updated_at::text || '/' || string_agg(i.xmin::text, ',')
		FROM users u JOIN user_identities i ON i.user_id = u.id WHERE u.id = $1
		GROUP BY u.xmin, u.updated_at`, id).Scan(&v)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestKnownTokenDoesNotWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	claims := map[string]any{"email": "quiet@example.com"}
	tok, id := e.signIn("quiet", claims)
	before := rowVersions(t, e, id)
	for range 5 {
		expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")
	}
	// A fresh token of the same session (same amr) writes nothing either.
	expect(t, e.do("GET", "/api/v1/users/me", e.idp.sign("quiet", claims), nil), http.StatusOK, "")
	if after := rowVersions(t, e, id); after != before {
		t.Fatalf("row versions: got %s, want %s (a request wrote)", after, before)
	}

	// A new login (newer amr timestamp) is recorded.
	later := time.Now().Add(time.Minute).Unix()
	r := e.do("GET", "/api/v1/users/me", e.idp.sign("quiet", map[string]any{
		"email":        "quiet@example.com",
		"amr":          []map[string]any{{"method": "oauth", "timestamp": later}},
		"app_metadata": map[string]any{"provider": "google"},
	}), nil)
	expect(t, r, http.StatusOK, "")
	m := r.json(t)
	if m["last_auth_method"] != "google" || m["last_auth_method_at"] != time.Unix(later, 0).UTC().Format(time.RFC3339) {
		t.Fatalf("got last_auth_method %v at %v, want google at %v", m["last_auth_method"], m["last_auth_method_at"], later)
	}
	// A token of the older sign-in (another device, another method) is no
	// new login: it writes nothing and moves nothing back.
	before = rowVersions(t, e, id)
	for range 3 {
		expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")
	}
	if after := rowVersions(t, e, id); after != before {
		t.Fatalf("row versions: got %s, want %s (an older sign-in wrote)", after, before)
	}
}

func TestClaimMapping(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		method, provider, want string
	}{
		{"password", "email", "password"},
		{"otp", "phone", "phone_otp"},
		{"otp", "email", "email_otp"},
		{"magiclink", "email", "magic_link"},
		{"oauth", "github", "github"},
		{"oauth", "apple", "apple"},
		{"sso/saml", "sso:abc", "sso"},
		{"anonymous", "anonymous", "anonymous"},
	}
	for i, c := range cases {
		r := e.do("GET", "/api/v1/users/me", e.idp.sign("map-"+c.want+string(rune('a'+i)), map[string]any{
			"amr":          []map[string]any{{"method": c.method, "timestamp": time.Now().Unix()}},
			"app_metadata": map[string]any{"provider": c.provider},
		}), nil)
		expect(t, r, http.StatusOK, "")
		if got := r.json(t)["last_auth_method"]; got != c.want {
			t.Errorf("amr %s with provider %s: got %v, want %s", c.method, c.provider, got, c.want)
		}
	}
	// An OTP login alone proves no address; the provider's claim does.
	r := e.do("GET", "/api/v1/users/me", e.idp.sign("otp-only", map[string]any{
		"phone": "919812345678", "email": "otp@example.com",
		"amr":          []map[string]any{{"method": "otp", "timestamp": time.Now().Unix()}},
		"app_metadata": map[string]any{"provider": "email"},
	}), nil)
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); m["email_verified"] != false || m["phone_verified"] != false {
		t.Fatalf("otp alone: got email_verified %v phone_verified %v, want false, false", m["email_verified"], m["phone_verified"])
	}
	r = e.do("GET", "/api/v1/users/me", e.idp.sign("phone-user", map[string]any{
		"phone": "919876543210", "email": "", "phone_verified": true,
		"amr":          []map[string]any{{"method": "otp", "timestamp": time.Now().Unix()}},
		"app_metadata": map[string]any{"provider": "phone"},
	}), nil)
	expect(t, r, http.StatusOK, "")
	m := r.json(t)
	if m["phone"] != "+919876543210" || m["email"] != nil || m["phone_verified"] != true {
		t.Fatalf("got phone %v email %v phone_verified %v, want +919876543210, null, true", m["phone"], m["email"], m["phone_verified"])
	}
}

func TestLinkOnlyOnVerifiedClaim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, owner := e.signIn("first", map[string]any{"email": "shared@example.com", "email_verified": true})

	// Unverified: a separate user, without the address.
	r := e.do("GET", "/api/v1/users/me", e.idp.sign("second", map[string]any{"email": "shared@example.com"}), nil)
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); int64(m["id"].(float64)) == owner || m["email"] != nil {
		t.Fatalf("unverified claim: got id %v email %v, want a new user without email", m["id"], m["email"])
	}
	// Verified: linked to the owner.
	r = e.do("GET", "/api/v1/users/me", e.idp.sign("third", map[string]any{"email": "SHARED@example.com", "email_verified": true}), nil)
	expect(t, r, http.StatusOK, "")
	// The owner already has an identity of this provider, so a second
	// subject of the same provider is not linked: it gets its own user.
	if m := r.json(t); int64(m["id"].(float64)) == owner || m["email"] != nil {
		t.Fatalf("second subject of one provider: got id %v email %v, want a new user without email", m["id"], m["email"])
	}
	var identities int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM user_identities WHERE user_id = $1", owner).Scan(&identities); err != nil {
		t.Fatal(err)
	}
	if identities != 1 {
		t.Fatalf("owner identities: got %d, want 1", identities)
	}
}

// An address is proven only by the provider's own word: user_metadata is
// editable by the user, and a local account that never verified the address
// does not capture the IdP user who did.
func TestNoLinkOnUnprovenAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "victim@example.com", "password": "a long passphrase 42"})
	expect(t, r, http.StatusCreated, "")
	squatter := int64(r.json(t)["user"].(map[string]any)["id"].(float64))

	// An account is never linked through an address it did not prove: the
	// IdP's proof takes the address to a user of its own.
	r = e.do("GET", "/api/v1/users/me", e.idp.sign("victim", map[string]any{"email": "victim@example.com", "email_verified": true}), nil)
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); int64(m["id"].(float64)) == squatter || m["email"] != "victim@example.com" {
		t.Fatalf("verified claim vs unproven holder: got id %v email %v, want a new user (not %d) with the address", m["id"], m["email"], squatter)
	}
	if n := identitiesOf(t, e, squatter); n != 0 {
		t.Fatalf("verified IdP user linked to the unverified local account %d", squatter)
	}

	// A verified local account with no identity of this provider: only
	// the claim's proof decides, and user_metadata is no proof.
	r = e.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "owned@example.com", "password": "a long passphrase 42"})
	expect(t, r, http.StatusCreated, "")
	owner := int64(r.json(t)["user"].(map[string]any)["id"].(float64))
	if _, err := e.pool.Exec(context.Background(), "UPDATE users SET email_verified = true WHERE id = $1", owner); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/api/v1/users/me", e.idp.sign("claimer", map[string]any{
		"email": "owned@example.com", "user_metadata": map[string]any{"email_verified": true},
	}), nil)
	expect(t, r, http.StatusOK, "")
	if got := int64(r.json(t)["id"].(float64)); got == owner {
		t.Fatal("user_metadata.email_verified linked a stranger to the owner")
	}
	// The provider's own word does not link an account with a password
	// either: its owner links signed in with the password.
	r = e.do("GET", "/api/v1/users/me", e.idp.sign("owner-sub", map[string]any{"email": "owned@example.com", "email_verified": true}), nil)
	expect(t, r, http.StatusConflict, "email_taken")
	if n := identitiesOf(t, e, owner); n != 0 {
		t.Fatalf("owner: got %d identities, want 0", n)
	}
}

// identitiesOf counts the identities linked to a user.
func identitiesOf(t *testing.T, e *env, userID int64) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM user_identities WHERE user_id = $1", userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDisabledAccountIs403AtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, id := e.signIn("dis", nil)
	if _, err := e.pool.Exec(context.Background(), "UPDATE users SET is_active = false WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusForbidden, "account_disabled")
}

// The phone twin of TestNoLinkOnUnprovenAddress: a local account with a
// password is never captured by a plain IdP sign-in with its number: held
// unproven, the number moves to the prover (TestUnprovenPhoneMovesToProver);
// held proven, 409 phone_taken says how to link. An unverified claim gets
// a user of its own without the number.
func TestNoLinkOnUnprovenPhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/api/v1/auth/register", "", map[string]any{"phone": "+14155552671", "password": "a long passphrase 42"})
	expect(t, r, http.StatusCreated, "")
	local := int64(r.json(t)["user"].(map[string]any)["id"].(float64))

	if _, err := e.pool.Exec(context.Background(), "UPDATE users SET phone_verified = true WHERE id = $1", local); err != nil {
		t.Fatal(err)
	}
	// An unverified claim does not link, nor copy the number.
	r = e.do("GET", "/api/v1/users/me", e.idp.sign("phone-claimer", map[string]any{"phone": "14155552671"}), nil)
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); int64(m["id"].(float64)) == local || m["phone"] != nil {
		t.Fatalf("unverified phone claim: got id %v phone %v, want a new user (not %d) without the phone", m["id"], m["phone"], local)
	}
	r = e.do("GET", "/api/v1/users/me", e.idp.sign("phone-owner", map[string]any{"phone": "14155552671", "phone_verified": true}), nil)
	expect(t, r, http.StatusConflict, "phone_taken")
	if n := identitiesOf(t, e, local); n != 0 {
		t.Fatalf("local account: got %d identities, want 0", n)
	}

	// An IdP-only owner (no password) of a verified number is not linked
	// to a second subject of the same provider either: it gets a user of
	// its own, without the number.
	_, owner := e.signIn("phone-first", map[string]any{"phone": "447911123456", "phone_verified": true})
	r = e.do("GET", "/api/v1/users/me", e.idp.sign("phone-second", map[string]any{"phone": "447911123456", "phone_verified": true}), nil)
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); int64(m["id"].(float64)) == owner || m["phone"] != nil {
		t.Fatalf("second subject of one provider: got id %v phone %v, want a new user (not %d) without the phone", m["id"], m["phone"], owner)
	}
}

// An account without a password may be linked by an IdP login, but only
// through an address both sides proved: a verified claim does not capture
// an account whose own email or phone was never verified, it takes the
// address from it.
func TestNoLinkToUnprovenPasswordlessAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var byEmail, byPhone int64
	if err := e.pool.QueryRow(ctx, `INSERT INTO users (email) VALUES ('nopw@example.com') RETURNING id`).Scan(&byEmail); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.QueryRow(ctx, `INSERT INTO users (phone) VALUES ('+14155552671') RETURNING id`).Scan(&byPhone); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/api/v1/users/me", e.idp.sign("email-claimer", map[string]any{"email": "nopw@example.com", "email_verified": true}), nil)
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); int64(m["id"].(float64)) == byEmail || m["email"] != "nopw@example.com" {
		t.Fatalf("verified email vs unverified account: got id %v email %v, want a new user (not %d) with the email", m["id"], m["email"], byEmail)
	}
	r = e.do("GET", "/api/v1/users/me", e.idp.sign("phone-claimer", map[string]any{"phone": "14155552671", "phone_verified": true}), nil)
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); int64(m["id"].(float64)) == byPhone || m["phone"] != "+14155552671" {
		t.Fatalf("verified phone vs unverified account: got id %v phone %v, want a new user (not %d) with the phone", m["id"], m["phone"], byPhone)
	}
	// Proven on both sides: linked.
	if _, err := e.pool.Exec(ctx, `INSERT INTO users (email, email_verified) VALUES ('proven@example.com', true) RETURNING id`); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.QueryRow(ctx, `SELECT id FROM users WHERE email = 'proven@example.com'`).Scan(&byEmail); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/api/v1/users/me", e.idp.sign("email-owner", map[string]any{"email": "proven@example.com", "email_verified": true}), nil)
	expect(t, r, http.StatusOK, "")
	if got := int64(r.json(t)["id"].(float64)); got != byEmail {
		t.Fatalf("both sides verified: got user %d, want %d", got, byEmail)
	}
}
