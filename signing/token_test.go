package signing

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	ks, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	want := baseClaims()
	tok := sign(t, ks, want)

	h := header(t, tok)
	if h["kid"] != ks.KeyID() || h["alg"] != "ES256" || h["typ"] != "JWT" {
		t.Errorf("header: got %v, want kid %q alg ES256 typ JWT", h, ks.KeyID())
	}
	payload := decodeSegment(t, strings.Split(tok, ".")[1])
	wantPayload := map[string]any{
		"iss":  want.Issuer,
		"aud":  want.Audience, // a string, not an array
		"sub":  want.Subject,
		"role": want.Role,
		"sid":  want.SessionID,
		"iat":  float64(want.IssuedAt.Unix()),
		"exp":  float64(want.ExpiresAt.Unix()),
		"jti":  want.ID,
	}
	for name, v := range wantPayload {
		if payload[name] != v {
			t.Errorf("payload %s: got %#v, want %#v", name, payload[name], v)
		}
	}
	if len(payload) != len(wantPayload) {
		t.Errorf("payload: got %v, want exactly %v", payload, wantPayload)
	}

	got, err := ks.Verify(tok, testIssuer, testAudience, 0)
	if err != nil {
		t.Fatalf("Verify: got error %v, want nil", err)
	}
	if !got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("Verify times: got iat %v exp %v, want %v %v", got.IssuedAt, got.ExpiresAt, want.IssuedAt, want.ExpiresAt)
	}
	got.IssuedAt, got.ExpiresAt = want.IssuedAt, want.ExpiresAt
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Verify: got %+v, want %+v", got, want)
	}
}

func TestSignDefaultsAndRole(t *testing.T) {
	t.Parallel()
	ks, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	c := baseClaims()
	c.ID, c.Role, c.SessionID = "", "", ""
	a, b := sign(t, ks, c), sign(t, ks, c)
	pa, pb := decodeSegment(t, strings.Split(a, ".")[1]), decodeSegment(t, strings.Split(b, ".")[1])
	if pa["jti"] == "" || pa["jti"] == nil || pa["jti"] == pb["jti"] {
		t.Errorf("generated jti: got %v and %v, want two different non-empty IDs", pa["jti"], pb["jti"])
	}
	if _, ok := pa["role"]; ok {
		t.Errorf("payload with empty Role: got role %v, want no role claim", pa["role"])
	}
	if _, ok := pa["sid"]; ok {
		t.Errorf("payload with empty SessionID: got sid %v, want no sid claim", pa["sid"])
	}
	got, err := ks.Verify(a, testIssuer, testAudience, 0)
	if err != nil || got.Role != "" || got.SessionID != "" || got.ID != pa["jti"] {
		t.Errorf("Verify: got %+v, %v; want empty role and sid and jti %v", got, err, pa["jti"])
	}
}

func TestSignInvalidClaims(t *testing.T) {
	t.Parallel()
	ks, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(*Claims)
	}{
		{"no issuer", func(c *Claims) { c.Issuer = "" }},
		{"no audience", func(c *Claims) { c.Audience = "" }},
		{"no subject", func(c *Claims) { c.Subject = "" }},
		{"no issued-at", func(c *Claims) { c.IssuedAt = time.Time{} }},
		{"no expiry", func(c *Claims) { c.ExpiresAt = time.Time{} }},
		{"expiry before issued-at", func(c *Claims) { c.ExpiresAt = c.IssuedAt.Add(-time.Second) }},
	}
	for _, tc := range cases {
		c := baseClaims()
		tc.change(&c)
		if tok, err := ks.Sign(c); !errors.Is(err, ErrInvalidClaims) {
			t.Errorf("Sign(%s): got %q, %v; want ErrInvalidClaims", tc.name, tok, err)
		}
	}
}

// forge builds a compact JWS from a header and claims with the given
// signature function (nil: empty signature).
func forge(t *testing.T, hdr, claims map[string]any, sig func(signingInput []byte) []byte) string {
	t.Helper()
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(mustJSON(t, hdr)) + "." + enc.EncodeToString(mustJSON(t, claims))
	var s []byte
	if sig != nil {
		s = sig([]byte(input))
	}
	return input + "." + enc.EncodeToString(s)
}

// es256 signs with k the JWS way: SHA-256, then r||s as 32 bytes each.
func es256(t *testing.T, k *ecdsa.PrivateKey) func([]byte) []byte {
	t.Helper()
	return func(input []byte) []byte {
		digest := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig
	}
}

func hs256(secret []byte) func([]byte) []byte {
	return func(input []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(input)
		return m.Sum(nil)
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	ec := newEC(t)
	ks, err := New(ec)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	good := sign(t, ks, baseClaims())
	parts := strings.Split(good, ".")
	kid := ks.KeyID()
	payload := decodeSegment(t, parts[1])

	jwks, err := ks.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(ec.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pemBlock(t, "PUBLIC KEY", pubDER)
	pubJWK, ok := ks.PublicSet().Key(0)
	if !ok {
		t.Fatal("PublicSet: got no key, want one")
	}
	pubJWKJSON := mustJSON(t, pubJWK)

	withClaims := func(change func(*Claims)) string {
		c := baseClaims()
		change(&c)
		return sign(t, ks, c)
	}
	// tampered flips one character in the middle of segment i.
	tampered := func(i int) string {
		p := strings.Split(good, ".")
		b := []byte(p[i])
		j := len(b) / 2
		if b[j] == 'A' {
			b[j] = 'B'
		} else {
			b[j] = 'A'
		}
		p[i] = string(b)
		return strings.Join(p, ".")
	}
	// signedWithHeader signs the good payload with ec under a custom header.
	signedWithHeader := func(members map[string]any) string {
		hdr := jws.NewHeaders()
		for k, v := range members {
			if err := hdr.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jws.Sign(raw, jws.WithKey(jwa.ES256, ec, jws.WithProtectedHeaders(hdr)))
		if err != nil {
			t.Fatal(err)
		}
		return string(tok)
	}
	// signedClaims signs arbitrary claims with ec under the right header.
	signedClaims := func(claims map[string]any) string {
		hdr := jws.NewHeaders()
		_ = hdr.Set(jws.KeyIDKey, kid)
		tok, err := jws.Sign(mustJSON(t, claims), jws.WithKey(jwa.ES256, ec, jws.WithProtectedHeaders(hdr)))
		if err != nil {
			t.Fatal(err)
		}
		return string(tok)
	}
	without := func(name string) map[string]any {
		m := make(map[string]any, len(payload))
		for k, v := range payload {
			if k != name {
				m[k] = v
			}
		}
		return m
	}

	cases := []struct {
		name, token, issuer, audience string
		leeway                        time.Duration
	}{
		{name: "expired", token: withClaims(func(c *Claims) {
			c.IssuedAt, c.ExpiresAt = now.Add(-time.Hour), now.Add(-10*time.Minute)
		}), leeway: time.Minute},
		{name: "expired beyond leeway", token: withClaims(func(c *Claims) {
			c.IssuedAt, c.ExpiresAt = now.Add(-time.Hour), now.Add(-2*time.Minute)
		}), leeway: time.Minute},
		{name: "issued in the future", token: withClaims(func(c *Claims) {
			c.IssuedAt, c.ExpiresAt = now.Add(time.Hour), now.Add(2*time.Hour)
		}), leeway: time.Minute},
		{name: "not before in the future", token: signedClaims(func() map[string]any {
			m := without("")
			m["nbf"] = now.Add(time.Hour).Unix()
			return m
		}())},
		{name: "wrong issuer", token: withClaims(func(c *Claims) { c.Issuer = "https://evil.example" })},
		{name: "wrong audience", token: withClaims(func(c *Claims) { c.Audience = "other" })},
		{name: "issuer argument differs", token: good, issuer: "https://other.example"},
		{name: "audience argument differs", token: good, audience: "other"},
		{name: "empty issuer argument", token: good, issuer: "-"},
		{name: "empty audience argument", token: good, audience: "-"},
		{name: "no exp", token: signedClaims(without("exp"))},
		{name: "no iat", token: signedClaims(without("iat"))},
		{name: "no sub", token: signedClaims(without("sub"))},
		{name: "no iss", token: signedClaims(without("iss"))},
		{name: "role not a string", token: signedClaims(func() map[string]any {
			m := without("")
			m["role"] = []string{"admin"}
			return m
		}())},
		{name: "unknown kid", token: sign(t, stranger, baseClaims())},
		{name: "no kid", token: signedWithHeader(map[string]any{jws.TypeKey: "JWT"})},
		{name: "typ not JWT", token: signedWithHeader(map[string]any{jws.KeyIDKey: kid, jws.TypeKey: "JOSE"})},
		{name: "crit header", token: signedWithHeader(map[string]any{jws.KeyIDKey: kid, jws.CriticalKey: []string{"exp"}, "exp": 1})},
		{name: "alg none", token: forge(t, map[string]any{"alg": "none", "kid": kid, "typ": "JWT"}, payload, nil)},
		{name: "alg none without kid", token: forge(t, map[string]any{"alg": "none", "typ": "JWT"}, payload, nil)},
		{name: "alg None", token: forge(t, map[string]any{"alg": "None", "kid": kid}, payload, nil)},
		{name: "HS256 keyed with the JWKS", token: forge(t, map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}, payload, hs256(jwks))},
		{name: "HS256 keyed with the public JWK", token: forge(t, map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}, payload, hs256(pubJWKJSON))},
		{name: "HS256 keyed with the public PEM", token: forge(t, map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}, payload, hs256(pubPEM))},
		{name: "HS256 keyed with the public DER", token: forge(t, map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}, payload, hs256(pubDER))},
		{name: "ES384 header on an ES256 key", token: forge(t, map[string]any{"alg": "ES384", "kid": kid, "typ": "JWT"}, payload, es256(t, ec))},
		{name: "RS256 header on an ES256 key", token: forge(t, map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"}, payload, es256(t, ec))},
		{name: "tampered signature", token: tampered(2)},
		{name: "tampered payload", token: tampered(1)},
		{name: "tampered header", token: tampered(0)},
		{name: "signature of another token", token: parts[0] + "." + parts[1] + "." + strings.Split(withClaims(func(c *Claims) { c.Subject = "x" }), ".")[2]},
		{name: "payload of another token", token: parts[0] + "." + strings.Split(withClaims(func(c *Claims) { c.Role = "admin" }), ".")[1] + "." + parts[2]},
		{name: "empty", token: ""},
		{name: "garbage", token: "not.a.token"},
		{name: "two segments", token: parts[0] + "." + parts[1]},
		{name: "four segments", token: good + ".x"},
		{name: "JSON serialization", token: `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`},
		{name: "oversized", token: parts[0] + "." + strings.Repeat("A", 9000) + "." + parts[2]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			iss, aud := testIssuer, testAudience
			if c.issuer != "" {
				iss = strings.TrimPrefix(c.issuer, "-")
			}
			if c.audience != "" {
				aud = strings.TrimPrefix(c.audience, "-")
			}
			got, err := ks.Verify(c.token, iss, aud, c.leeway)
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Verify: got %+v, %v; want ErrInvalidToken", got, err)
			}
			if !reflect.DeepEqual(got, Claims{}) {
				t.Errorf("Verify: got claims %+v with an error, want zero Claims", got)
			}
		})
	}

	// Controls: the good token and a forged one with the right alg verify,
	// and leeway is honoured.
	if _, err := ks.Verify(good, testIssuer, testAudience, 0); err != nil {
		t.Errorf("Verify(good): got %v, want nil", err)
	}
	forged := forge(t, map[string]any{"alg": "ES256", "kid": kid, "typ": "JWT"}, payload, es256(t, ec))
	if _, err := ks.Verify(forged, testIssuer, testAudience, 0); err != nil {
		t.Errorf("Verify(hand-built ES256 token): got %v, want nil", err)
	}
	recent := withClaims(func(c *Claims) { c.IssuedAt, c.ExpiresAt = now.Add(-time.Hour), now.Add(-30*time.Second) })
	if _, err := ks.Verify(recent, testIssuer, testAudience, time.Minute); err != nil {
		t.Errorf("Verify(expired 30s ago, leeway 1m): got %v, want nil", err)
	}
}

// TestIndependentVerification checks a signed token with nothing but the
// published JWKS JSON and stock jwx, as another service would.
func TestIndependentVerification(t *testing.T) {
	t.Parallel()
	ec, ed, rs := newEC(t), newEd(t), newRSA(t)
	for _, tc := range []struct {
		name   string
		active any
	}{{"ES256", ec}, {"EdDSA", ed}, {"RS256", rs}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The active key first, the two others as old keys.
			others := map[string][]any{"ES256": {ed, rs}, "EdDSA": {ec, rs}, "RS256": {ec, ed}}[tc.name]
			ks, err := Load(writeFile(t, pemKeys(t, append([]any{tc.active}, others...))))
			if err != nil {
				t.Fatal(err)
			}
			tok := sign(t, ks, baseClaims())
			data, err := ks.PublicJWKS()
			if err != nil {
				t.Fatal(err)
			}
			set, err := jwk.Parse(data)
			if err != nil {
				t.Fatalf("jwk.Parse(PublicJWKS): got error %v, want nil", err)
			}
			parsed, err := jwt.Parse([]byte(tok),
				jwt.WithKeySet(set),
				jwt.WithValidate(true),
				jwt.WithIssuer(testIssuer),
				jwt.WithAudience(testAudience),
			)
			if err != nil {
				t.Fatalf("jwt.Parse with the published JWKS: got error %v, want nil", err)
			}
			if got, want := parsed.Subject(), baseClaims().Subject; got != want {
				t.Errorf("sub: got %q, want %q", got, want)
			}
			if role, _ := parsed.Get("role"); role != "member" {
				t.Errorf("role: got %v, want member", role)
			}
			var aud struct {
				Aud any `json:"aud"`
			}
			raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &aud); err != nil || aud.Aud != testAudience {
				t.Errorf("aud on the wire: got %#v, want the string %q", aud.Aud, testAudience)
			}
		})
	}
}

func pemKeys(t *testing.T, keys []any) []byte {
	t.Helper()
	var out []byte
	for _, k := range keys {
		out = append(out, pkcs8(t, k)...)
	}
	return out
}
