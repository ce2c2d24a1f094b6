package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/userd/userd/mail"
	"github.com/userd/userd/mail/smtptest"
	"github.com/userd/userd/password"
	"github.com/userd/userd/service"
	"github.com/userd/userd/signing"
)

const (
	localIssuer   = "http://userd.test"
	localAudience = "userd"
	testPassword  = "correct horse battery"
)

// testHashParams are cheap argon2id parameters: these tests check
// behaviour, not cost.
var testHashParams = password.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func newTestAccounts(t testing.TB, db *service.DB, keys *signing.KeySet, gate *password.Gate, issuer string) (*service.Accounts, service.LocalVerifier) {
	t.Helper()
	hasher, err := password.NewHasher(testHashParams)
	if err != nil {
		t.Fatal(err)
	}
	a := service.NewAccounts(db, service.AccountsConfig{
		Keys: keys, Hasher: hasher, Issuer: issuer, Audience: localAudience,
		PublicURL: "http://userd.test", DefaultRegion: "IN", Gate: gate,
	})
	return a, service.NewLocalVerifier(keys, issuer, localAudience)
}

func newTestMailer(t testing.TB, srv *smtptest.Server) service.Mailer {
	t.Helper()
	m, err := mail.NewSMTP("smtp://"+srv.Addr, "userd <no-reply@userd.test>")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// register creates a local account and returns the 201 body.
func (e *env) register(body map[string]any) map[string]any {
	e.t.Helper()
	if _, ok := body["password"]; !ok {
		body["password"] = testPassword
	}
	r := e.do("POST", "/api/v1/auth/register", "", body)
	expect(e.t, r, http.StatusCreated, "")
	return r.json(e.t)
}

func (e *env) login(identifier, pw string, headers ...string) response {
	e.t.Helper()
	return e.do("POST", "/api/v1/auth/login", "", map[string]any{"identifier": identifier, "password": pw}, headers...)
}

// tokens reads the access and refresh tokens of a sign-in or refresh body.
func tokens(m map[string]any) (access, refresh string) {
	a, _ := m["access_token"].(string)
	r, _ := m["refresh_token"].(string)
	return a, r
}

func userID(t testing.TB, m map[string]any) int64 {
	t.Helper()
	u, ok := m["user"].(map[string]any)
	if !ok {
		t.Fatalf("got no user in %v", m)
	}
	return int64(u["id"].(float64))
}

// sameProblem fails unless a and b are byte-identical apart from their
// request ids.
func sameProblem(t testing.TB, a, b response) {
	t.Helper()
	strip := func(r response) []byte {
		return bytes.ReplaceAll(r.body, []byte(r.header.Get("X-Request-Id")), nil)
	}
	if a.status != b.status || !bytes.Equal(strip(a), strip(b)) {
		t.Fatalf("got different answers:\n%d %s\n%d %s", a.status, a.body, b.status, b.body)
	}
}

// mailsTo works the outbox and returns the decoded text of the mail
// delivered to address so far.
func (e *env) mailsTo(address string) []string {
	e.t.Helper()
	var out []string
	for _, m := range e.messagesTo(address) {
		_, body, err := m.Text()
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, body)
	}
	return out
}

// messagesTo works the outbox and returns the messages delivered to
// address so far.
func (e *env) messagesTo(address string) []smtptest.Message {
	e.t.Helper()
	if _, err := e.outbox.RunOnce(context.Background(), 50); err != nil {
		e.t.Fatal(err)
	}
	var out []smtptest.Message
	for _, m := range e.mail.Messages() {
		if len(m.To) == 1 && m.To[0] == address {
			out = append(out, m)
		}
	}
	return out
}

var linkRE = regexp.MustCompile(`(http://userd\.test/[a-z-]+)\?token=([A-Za-z0-9_-]+)`)

// tokenIn returns the token of the link to page (e.g. "/reset-password")
// in a mail body.
func tokenIn(t testing.TB, body, page string) string {
	t.Helper()
	m := linkRE.FindStringSubmatch(body)
	if m == nil || m[1] != "http://userd.test"+page {
		t.Fatalf("got no %s link in mail %q", page, body)
	}
	return m[2]
}

func TestRegisterAndLoginByEveryIdentifier(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.register(map[string]any{
		"email": "Ann@Example.com", "username": "Ann_1", "phone": "098765 43210", "first_name": " Ann ",
	})
	u := m["user"].(map[string]any)
	want := map[string]any{
		"email": "ann@example.com", "username": "ann_1", "phone": "+919876543210", "first_name": "Ann",
		"last_auth_method": "password", "email_verified": false, "role": "user",
	}
	for k, v := range want {
		if u[k] != v {
			t.Errorf("user %s: got %v, want %v", k, u[k], v)
		}
	}
	if u["last_login_at"] == nil || u["last_auth_method_at"] == nil {
		t.Errorf("got last_login_at %v last_auth_method_at %v, want both set", u["last_login_at"], u["last_auth_method_at"])
	}
	if m["token_type"] != "Bearer" || m["expires_in"] != float64(900) {
		t.Errorf("got token_type %v expires_in %v, want Bearer 900", m["token_type"], m["expires_in"])
	}
	access, refresh := tokens(m)
	if access == "" || len(refresh) != 43 {
		t.Fatalf("got access %q refresh %q, want a JWT and a 43-character refresh token", access, refresh)
	}
	id := userID(t, m)
	me := e.do("GET", "/api/v1/users/me", access, nil)
	expect(t, me, http.StatusOK, "")
	if got := int64(me.json(t)["id"].(float64)); got != id {
		t.Fatalf("GET /users/me with the local token: got id %d, want %d", got, id)
	}

	for _, identifier := range []string{
		"ann@example.com", "ANN@EXAMPLE.COM", " Ann_1 ", "ANN_1",
		"+91 98765-43210", "9876543210", "098765 43210", "0091 98765 43210", "919876543210",
	} {
		r := e.login(identifier, testPassword)
		expect(t, r, http.StatusOK, "")
		if got := userID(t, r.json(t)); got != id {
			t.Fatalf("login as %q: got user %d, want %d", identifier, got, id)
		}
	}
	expect(t, e.login("ann@example.com", testPassword+"x"), http.StatusUnauthorized, "invalid_credentials")
}

func TestLoginPhoneFallbackToLastTenDigits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := userID(t, e.register(map[string]any{"phone": "+44 7911 123456"}))
	// Read in the default region (IN) this is +917911123456: no exact
	// match, and the one number ending in the same ten digits wins.
	r := e.login("07911 123456", testPassword)
	expect(t, r, http.StatusOK, "")
	if got := userID(t, r.json(t)); got != id {
		t.Fatalf("got user %d, want %d", got, id)
	}
	// A second number with those ten digits makes the fallback ambiguous:
	// no match, so invalid_credentials like any unknown identifier, even
	// though both look-alikes have that very password (whichever row the
	// query returns first, picking one would sign in).
	// (Inserted directly: the number need only be E.164, not valid.)
	if _, err := e.pool.Exec(context.Background(), `
		WITH twin AS (INSERT INTO users (phone) VALUES ('+17911123456') RETURNING id)
		INSERT INTO password_credentials (user_id, hash)
		SELECT twin.id, p.hash FROM twin, password_credentials p WHERE p.user_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	expect(t, e.login("07911 123456", testPassword), http.StatusUnauthorized, "invalid_credentials")
	// The exact number still works.
	expect(t, e.login("+447911123456", testPassword), http.StatusOK, "")
}

func TestRegisterValidationAndConflicts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fieldsOf := func(r response) map[string]bool {
		out := map[string]bool{}
		for _, fe := range r.json(t)["errors"].([]any) {
			out[fe.(map[string]any)["field"].(string)] = true
		}
		return out
	}
	r := e.do("POST", "/api/v1/auth/register", "", map[string]any{"password": testPassword, "email": " "})
	expect(t, r, http.StatusUnprocessableEntity, "validation_failed")
	if f := fieldsOf(r); !f["email"] || !f["username"] || !f["phone"] {
		t.Fatalf("no identifier: got fields %v, want email, username and phone", f)
	}
	for pw, msg := range map[string]string{"short": "at least 8", "password123": "too common", strings.Repeat("x", 257): "at most 256"} {
		r := e.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "p@example.com", "password": pw})
		expect(t, r, http.StatusUnprocessableEntity, "validation_failed")
		if !fieldsOf(r)["password"] || !strings.Contains(string(r.body), msg) {
			t.Fatalf("password %q: got %s, want a password error saying %q", pw, r.body, msg)
		}
	}
	r = e.do("POST", "/api/v1/auth/register", "", map[string]any{
		"email": "nope", "username": "x", "phone": "12", "first_name": strings.Repeat("f", 51), "password": testPassword,
	})
	expect(t, r, http.StatusUnprocessableEntity, "validation_failed")
	if f := fieldsOf(r); !f["email"] || !f["username"] || !f["phone"] || !f["first_name"] {
		t.Fatalf("bad fields: got %v", f)
	}
	expect(t, e.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "a@example.com", "password": testPassword, "nickname": "x"}),
		http.StatusBadRequest, "invalid_json")

	e.register(map[string]any{"email": "taken@example.com", "username": "taken", "phone": "+14155552671"})
	for body, code := range map[string]string{
		`{"email": "TAKEN@example.com", "password": "` + testPassword + `"}`: "email_taken",
		`{"username": "Taken", "password": "` + testPassword + `"}`:          "username_taken",
		`{"phone": "+1 (415) 555-2671", "password": "` + testPassword + `"}`: "phone_taken",
	} {
		expect(t, e.do("POST", "/api/v1/auth/register", "", body), http.StatusConflict, code)
	}
	// Nothing half-written: one user, one credential.
	var users, creds int
	if err := e.pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM password_credentials)`).Scan(&users, &creds); err != nil {
		t.Fatal(err)
	}
	if users != 1 || creds != 1 {
		t.Fatalf("got %d users and %d credentials, want 1 and 1", users, creds)
	}
}

func TestLoginEnumeration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(map[string]any{"email": "real@example.com", "username": "real"})
	e.signIn("idp-only", map[string]any{"email": "idp@example.com", "email_verified": true}) // no password
	wrongPassword := e.login("real@example.com", "wrong password!")
	expect(t, wrongPassword, http.StatusUnauthorized, "invalid_credentials")
	for _, r := range []response{
		e.login("nobody@example.com", "wrong password!"),
		e.login("nobody", "wrong password!"),
		e.login("+1 415 555 0000", "wrong password!"),
		e.login("idp@example.com", "wrong password!"),
		e.login("", ""),
	} {
		sameProblem(t, wrongPassword, r)
	}
}

func TestLoginDeactivatedAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.register(map[string]any{"username": "sleeper"})
	access, refresh := tokens(m)
	if _, err := e.pool.Exec(context.Background(), `UPDATE users SET is_active = false WHERE id = $1`, userID(t, m)); err != nil {
		t.Fatal(err)
	}
	// The local access token is refused at once, not when it expires.
	expect(t, e.do("GET", "/api/v1/users/me", access, nil), http.StatusForbidden, "account_disabled")
	expect(t, e.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": refresh}), http.StatusForbidden, "account_disabled")
	// Only the right password learns that the account is disabled.
	sameProblem(t, e.login("sleeper", testPassword), e.login("sleeper", "wrong password!"))
	sameProblem(t, e.login("sleeper", "wrong password!"), e.login("nobody", "wrong password!"))
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(map[string]any{"email": "target@example.com", "phone": "+919876543210"})

	// A success clears the identifier's failures.
	for range 4 {
		expect(t, e.login("target@example.com", "wrong password!"), http.StatusUnauthorized, "invalid_credentials")
	}
	expect(t, e.login("target@example.com", testPassword), http.StatusOK, "")
	for range 5 {
		expect(t, e.login("Target@Example.com", "wrong password!"), http.StatusUnauthorized, "invalid_credentials")
	}
	r := e.login("target@example.com", testPassword)
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 890 || ra > 900 {
		t.Fatalf("Retry-After: got %q, want about 900 seconds", r.header.Get("Retry-After"))
	}
	// Unknown identifiers are limited the same way.
	for range 5 {
		expect(t, e.login("ghost@example.com", "wrong password!"), http.StatusUnauthorized, "invalid_credentials")
	}
	sameProblem(t, r, e.login("ghost@example.com", "wrong password!"))

	// Every way of writing one phone number shares one limit.
	for _, p := range []string{"+91 98765 43210", "9876543210", "098765-43210", "0091 9876543210", "919876543210"} {
		expect(t, e.login(p, "wrong password!"), http.StatusUnauthorized, "invalid_credentials")
	}
	expect(t, e.login("+919876543210", testPassword), http.StatusTooManyRequests, "rate_limited")

	// Once the failures leave the window, the right password works.
	if _, err := e.pool.Exec(context.Background(), `UPDATE login_failures SET created_at = created_at - interval '15 minutes'`); err != nil {
		t.Fatal(err)
	}
	expect(t, e.login("target@example.com", testPassword), http.StatusOK, "")
	// Later failures prune rows that left the window.
	expect(t, e.login("someone@example.com", "wrong password!"), http.StatusUnauthorized, "invalid_credentials")
	var old int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM login_failures WHERE created_at < now() - interval '15 minutes'`).Scan(&old); err != nil {
		t.Fatal(err)
	}
	if old != 0 {
		t.Fatalf("got %d expired failures after a failed login, want them pruned", old)
	}
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(map[string]any{"username": "bystander"})
	for i := range 20 {
		expect(t, e.login(fmt.Sprintf("guess%d@example.com", i/4), "wrong password!"), http.StatusUnauthorized, "invalid_credentials")
	}
	// The address is limited, whatever the identifier.
	expect(t, e.login("bystander", testPassword), http.StatusTooManyRequests, "rate_limited")
}

func TestRateLimitIgnoresFailedSignups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(map[string]any{"email": "owner@example.com"})
	for range 10 {
		expect(t, e.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "owner@example.com", "password": testPassword}), http.StatusConflict, "email_taken")
		expect(t, e.do("POST", "/api/v1/auth/register", "", map[string]any{"email": "owner@example.com", "password": "short"}), http.StatusUnprocessableEntity, "validation_failed")
	}
	expect(t, e.login("owner@example.com", testPassword), http.StatusOK, "")
}

func TestJWKSVerifiesLocalTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.register(map[string]any{"username": "jwks_user"})
	access, _ := tokens(m)

	r := e.do("GET", "/.well-known/jwks.json", "", nil)
	expect(t, r, http.StatusOK, "")
	if ct, cc := r.header.Get("Content-Type"), r.header.Get("Cache-Control"); ct != "application/jwk-set+json" || cc != "public, max-age=300" {
		t.Fatalf("got Content-Type %q Cache-Control %q, want application/jwk-set+json and public, max-age=300", ct, cc)
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(r.body, &raw); err != nil || len(raw.Keys) != 1 {
		t.Fatalf("JWKS %s: %v", r.body, err)
	}
	if _, private := raw.Keys[0]["d"]; private {
		t.Fatal("the JWKS publishes a private key member")
	}

	// An independent verifier: nothing of userd but the published keys.
	set, err := jwk.Parse(r.body)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Parse([]byte(access), jwt.WithKeySet(set), jwt.WithValidate(true),
		jwt.WithIssuer(localIssuer), jwt.WithAudience(localAudience))
	if err != nil {
		t.Fatalf("verify the access token against the JWKS: %v", err)
	}
	if got, want := tok.Subject(), strconv.FormatInt(userID(t, m), 10); got != want {
		t.Errorf("sub: got %q, want %q", got, want)
	}
	if role, _ := tok.Get("role"); role != "user" {
		t.Errorf("role: got %v, want user", role)
	}
	if ttl := tok.Expiration().Sub(tok.IssuedAt()); ttl != 15*time.Minute {
		t.Errorf("exp - iat: got %v, want 15m", ttl)
	}

	// A token with userd's issuer signed by any other key is refused.
	other, err := signing.Generate()
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Sign(signing.Claims{Issuer: localIssuer, Audience: localAudience, Subject: tok.Subject(), IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, e.do("GET", "/api/v1/users/me", forged, nil), http.StatusUnauthorized, "invalid_token")
}

// post sends a JSON POST without the test's helpers, for goroutines.
func (e *env) post(path string, body any) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	res, err := e.client.Post(e.srv.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}

// The owner of a look-alike number (same last ten digits, another country)
// shares the victim's phone limit but cannot reset it by logging in.
func TestLookAlikePhoneCannotResetLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(map[string]any{"phone": "+917911123456"})
	attacker, _ := tokens(e.register(map[string]any{"phone": "+447911123456", "email": "attacker@example.com"}))
	for range 4 {
		expect(t, e.login("+917911123456", "wrong password!"), http.StatusUnauthorized, "invalid_credentials")
	}
	expect(t, e.login("+447911123456", testPassword), http.StatusOK, "")
	// Neither a password change nor deleting the look-alike account
	// clears the shared key.
	expect(t, e.do("POST", "/api/v1/auth/password/change", attacker, map[string]any{"current_password": testPassword, "new_password": "another long passphrase"}), http.StatusNoContent, "")
	expect(t, e.do("DELETE", "/api/v1/users/me", attacker, nil), http.StatusOK, "")
	// The attacker's success left the four failures standing.
	expect(t, e.login("+917911123456", "wrong password!"), http.StatusUnauthorized, "invalid_credentials")
	expect(t, e.login("+917911123456", "wrong password!"), http.StatusTooManyRequests, "rate_limited")
}
