package idp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

const (
	testIssuer   = "https://ref.supabase.co/auth/v1"
	testAudience = "authenticated"
	testSecret   = "a-legacy-hs256-secret-of-some-length"
)

// mint signs a token for sub whose claims override the defaults (issuer,
// audience, issued now, expiring in an hour); a nil claim value drops it.
func mint(t *testing.T, alg jwa.SignatureAlgorithm, key any, claims map[string]any) string {
	t.Helper()
	now := time.Now()
	std := map[string]any{
		jwt.IssuerKey: testIssuer, jwt.AudienceKey: []string{testAudience}, jwt.SubjectKey: "user-1",
		jwt.IssuedAtKey: now, jwt.ExpirationKey: now.Add(time.Hour),
	}
	for k, v := range claims {
		std[k] = v
	}
	tok := jwt.New()
	for k, v := range std {
		if v == nil {
			continue
		}
		if err := tok.Set(k, v); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}
	s, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

func newHS256Verifier(t *testing.T) *Verifier {
	t.Helper()
	v, err := NewVerifier(t.Context(), Config{Issuer: testIssuer, Audience: testAudience, JWTSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Verify checks the issuer, audience, signature and times itself, with
// the default 30 s leeway on exp and nbf: it does not rely on the caller
// routing tokens by issuer.
func TestVerifyClaimsAndLeeway(t *testing.T) {
	t.Parallel()
	v := newHS256Verifier(t)
	secret := []byte(testSecret)
	now := time.Now()
	cases := []struct {
		name   string
		token  string
		wantOK bool
	}{
		{"valid", mint(t, jwa.HS256, secret, nil), true},
		{"expired 10 s ago, inside the leeway", mint(t, jwa.HS256, secret, map[string]any{jwt.ExpirationKey: now.Add(-10 * time.Second)}), true},
		{"expired 45 s ago", mint(t, jwa.HS256, secret, map[string]any{jwt.ExpirationKey: now.Add(-45 * time.Second)}), false},
		{"not before 10 s from now, inside the leeway", mint(t, jwa.HS256, secret, map[string]any{jwt.NotBeforeKey: now.Add(10 * time.Second)}), true},
		{"not before 45 s from now", mint(t, jwa.HS256, secret, map[string]any{jwt.NotBeforeKey: now.Add(45 * time.Second)}), false},
		{"other issuer", mint(t, jwa.HS256, secret, map[string]any{jwt.IssuerKey: "https://evil.example/auth/v1"}), false},
		{"no issuer", mint(t, jwa.HS256, secret, map[string]any{jwt.IssuerKey: nil}), false},
		{"other audience", mint(t, jwa.HS256, secret, map[string]any{jwt.AudienceKey: []string{"service_role"}}), false},
		{"no expiry", mint(t, jwa.HS256, secret, map[string]any{jwt.ExpirationKey: nil}), false},
		{"no subject", mint(t, jwa.HS256, secret, map[string]any{jwt.SubjectKey: nil}), false},
		{"other secret", mint(t, jwa.HS256, []byte("another secret of the same kind"), nil), false},
		{"not a token", "abc.def", false},
	}
	for _, c := range cases {
		claims, err := v.Verify(context.Background(), c.token)
		switch {
		case c.wantOK && (err != nil || claims.Subject != "user-1"):
			t.Errorf("%s: got %+v, %v; want subject user-1", c.name, claims, err)
		case !c.wantOK && !errors.Is(err, ErrInvalidToken):
			t.Errorf("%s: got %+v, %v; want ErrInvalidToken", c.name, claims, err)
		}
	}
}

// jwksServer publishes the public half of key, or fails while down is set.
func jwksServer(t *testing.T, key jwk.Key, down *atomic.Bool) *httptest.Server {
	t.Helper()
	pub, err := key.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newES256Key(t *testing.T, kid string) jwk.Key {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Set(jwk.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	if err := k.Set(jwk.AlgorithmKey, jwa.ES256); err != nil {
		t.Fatal(err)
	}
	return k
}

// With a JWKS and no secret: the key its kid names decides, with that
// key's algorithm; HS256 is refused; a provider down before any key was
// fetched is ErrUnavailable, not an invalid token.
func TestVerifyWithJWKS(t *testing.T) {
	t.Parallel()
	key := newES256Key(t, "kid-1")
	var down atomic.Bool
	srv := jwksServer(t, key, &down)
	v, err := NewVerifier(t.Context(), Config{Issuer: testIssuer, Audience: testAudience, JWKSURL: srv.URL, UnknownKIDRefresh: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	down.Store(true)
	if _, err := v.Verify(ctx, mint(t, jwa.ES256, key, nil)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("provider down: got %v, want ErrUnavailable", err)
	}
	down.Store(false)
	v.mu.Lock()
	v.lastOutage = time.Time{} // the next call may fetch again at once
	v.mu.Unlock()

	claims, err := v.Verify(ctx, mint(t, jwa.ES256, key, map[string]any{"email": "a@example.com", "email_verified": true}))
	if err != nil || claims.Subject != "user-1" || claims.Email != "a@example.com" || !claims.EmailVerified {
		t.Fatalf("valid ES256: got %+v, %v; want user-1 with a verified email", claims, err)
	}
	stranger := newES256Key(t, "kid-1") // same kid, other key
	unknown := newES256Key(t, "kid-2")
	for name, tok := range map[string]string{
		"HS256 without a configured secret": mint(t, jwa.HS256, []byte(testSecret), nil),
		"signed by another key":             mint(t, jwa.ES256, stranger, nil),
		"unknown kid":                       mint(t, jwa.ES256, unknown, nil),
		"other issuer":                      mint(t, jwa.ES256, key, map[string]any{jwt.IssuerKey: "https://evil.example"}),
	} {
		if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: got %v, want ErrInvalidToken", name, err)
		}
	}
}

// TestKeyGeneration: the generation is that of the key set last fetched;
// a refetch of the same keys keeps it, another key set changes it, and a
// token verified under one set carries that set's generation.
func TestKeyGeneration(t *testing.T) {
	t.Parallel()
	first, second := newES256Key(t, "kid-1"), newES256Key(t, "kid-2")
	var serveSecond atomic.Bool
	sets := map[bool]jwk.Set{}
	for b, k := range map[bool]jwk.Key{false: first, true: second} {
		pub, err := k.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		sets[b] = jwk.NewSet()
		_ = sets[b].AddKey(pub)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(sets[serveSecond.Load()])
	}))
	t.Cleanup(srv.Close)
	v, err := NewVerifier(t.Context(), Config{Issuer: testIssuer, Audience: testAudience, JWKSURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if g := v.KeyGeneration(ctx); g != 0 {
		t.Fatalf("before any fetch: got generation %d, want 0", g)
	}
	_, g1, err := v.VerifyGeneration(ctx, mint(t, jwa.ES256, first, nil))
	if err != nil || g1 == 0 || v.KeyGeneration(ctx) != g1 {
		t.Fatalf("first set: got generation %d (now %d), %v", g1, v.KeyGeneration(ctx), err)
	}
	if _, err := v.cache.Refresh(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if g := v.KeyGeneration(ctx); g != g1 {
		t.Fatalf("the same keys fetched again: got generation %d, want %d", g, g1)
	}
	serveSecond.Store(true)
	if _, err := v.cache.Refresh(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if g := v.KeyGeneration(ctx); g == g1 {
		t.Fatalf("another key set: the generation stayed %d", g)
	}
	if _, _, err := v.VerifyGeneration(ctx, mint(t, jwa.ES256, first, nil)); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a token of the withdrawn key: got %v, want ErrInvalidToken", err)
	}
}
