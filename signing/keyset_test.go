package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// rsaKey is generated once: a 2048-bit key takes a noticeable time.
var rsaKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

func newRSA(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsaKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEC(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEd(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func pemBlock(t *testing.T, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8(t *testing.T, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock(t, "PRIVATE KEY", der)
}

// thumbprint computes the RFC 7638 kid independently of the package.
func thumbprint(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	jk, err := jwk.FromRaw(pub)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := jk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// privateJWK encodes k as a private JWK with the given members set.
func privateJWK(t *testing.T, k any, members map[string]any) jwk.Key {
	t.Helper()
	jk, err := jwk.FromRaw(k)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range members {
		if err := jk.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	return jk
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLoadOrGenerate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data", "keys")
	path := filepath.Join(dir, "signing.jwk")

	ks1, err := LoadOrGenerate(path)
	if err != nil {
		t.Fatalf("LoadOrGenerate (new): got error %v, want nil", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), fs.FileMode(0o600); got != want {
		t.Errorf("key file mode: got %v, want %v", got, want)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := di.Mode().Perm(), fs.FileMode(0o700); got != want {
		t.Errorf("key directory mode: got %v, want %v", got, want)
	}
	if got, want := ks1.Algorithm(), "ES256"; got != want {
		t.Errorf("Algorithm: got %q, want %q", got, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("key directory: got %d entries, want only the key (no temp file left)", len(entries))
	}

	// The file is a private JWK with kid, alg and use.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	jk, err := jwk.ParseKey(data)
	if err != nil {
		t.Fatalf("parse written key: got error %v, want a JWK", err)
	}
	if priv, _ := jwk.IsPrivateKey(jk); !priv {
		t.Errorf("written key: got a public key, want a private JWK")
	}
	if jk.KeyID() != ks1.KeyID() || jk.Algorithm().String() != "ES256" || jk.KeyUsage() != "sig" {
		t.Errorf("written key: got kid=%q alg=%q use=%q, want kid=%q alg=ES256 use=sig", jk.KeyID(), jk.Algorithm(), jk.KeyUsage(), ks1.KeyID())
	}

	for name, load := range map[string]func(string) (*KeySet, error){"LoadOrGenerate": LoadOrGenerate, "Load": Load} {
		ks2, err := load(path)
		if err != nil {
			t.Fatalf("%s (existing): got error %v, want nil", name, err)
		}
		if got, want := ks2.KeyID(), ks1.KeyID(); got != want {
			t.Errorf("%s (existing): got kid %q, want %q", name, got, want)
		}
		tok := sign(t, ks1, baseClaims())
		if _, err := ks2.Verify(tok, testIssuer, testAudience, 0); err != nil {
			t.Errorf("%s (existing): token of the first KeySet: got error %v, want valid", name, err)
		}
	}
}

func TestLoadOrGenerateConcurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "signing.jwk")
	const n = 8
	kids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ks, err := LoadOrGenerate(path)
			errs[i] = err
			if err == nil {
				kids[i] = ks.KeyID()
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || kids[i] != kids[0] {
			t.Errorf("caller %d: got kid %q err %v, want kid %q nil", i, kids[i], errs[i], kids[0])
		}
	}
}

func TestLoadPEM(t *testing.T) {
	t.Parallel()
	ec, ed, rs := newEC(t), newEd(t), newRSA(t)
	ecDER, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	// What `openssl ecparam -genkey -name prime256v1` writes.
	ecParams := pemBlock(t, "EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})
	cases := []struct {
		name string
		data []byte
		pub  crypto.PublicKey
		alg  string
	}{
		{"EC P-256 PKCS#8", pkcs8(t, ec), ec.Public(), "ES256"},
		{"EC P-256 SEC1 with parameters", append(ecParams, pemBlock(t, "EC PRIVATE KEY", ecDER)...), ec.Public(), "ES256"},
		{"Ed25519 PKCS#8", pkcs8(t, ed), ed.Public(), "EdDSA"},
		{"RSA 2048 PKCS#1", pemBlock(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rs)), rs.Public(), "RS256"},
		{"RSA 2048 PKCS#8", pkcs8(t, rs), rs.Public(), "RS256"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ks, err := Load(writeFile(t, c.data))
			if err != nil {
				t.Fatalf("Load: got error %v, want nil", err)
			}
			if got, want := ks.KeyID(), thumbprint(t, c.pub); got != want {
				t.Errorf("KeyID: got %q, want thumbprint %q", got, want)
			}
			if got := ks.Algorithm(); got != c.alg {
				t.Errorf("Algorithm: got %q, want %q", got, c.alg)
			}
			tok := sign(t, ks, baseClaims())
			if got := header(t, tok)["alg"]; got != c.alg {
				t.Errorf("token alg: got %v, want %q", got, c.alg)
			}
			if _, err := ks.Verify(tok, testIssuer, testAudience, 0); err != nil {
				t.Errorf("Verify: got error %v, want nil", err)
			}
		})
	}
}

func TestLoadSeveralPEMKeys(t *testing.T) {
	t.Parallel()
	active, old := newEd(t), newEC(t)
	ks, err := Load(writeFile(t, append(pkcs8(t, active), pkcs8(t, old)...)))
	if err != nil {
		t.Fatalf("Load: got error %v, want nil", err)
	}
	if got, want := ks.KeyID(), thumbprint(t, active.Public()); got != want {
		t.Errorf("KeyID: got %q, want the first key's %q", got, want)
	}
	if got, want := ks.PublicSet().Len(), 2; got != want {
		t.Errorf("PublicSet: got %d keys, want %d", got, want)
	}
}

func TestLoadJWKKeepsKID(t *testing.T) {
	t.Parallel()
	cases := []struct {
		kid, alg string
		key      any
	}{
		{"ec-2024", "ES256", newEC(t)},
		{"ed-2024", "EdDSA", newEd(t)},
		{"rsa-2024", "RS256", newRSA(t)},
	}
	for _, c := range cases {
		t.Run(c.alg, func(t *testing.T) {
			t.Parallel()
			members := map[string]any{jwk.KeyIDKey: c.kid, jwk.AlgorithmKey: c.alg, jwk.KeyUsageKey: "sig"}
			ks, err := Load(writeFile(t, mustJSON(t, privateJWK(t, c.key, members))))
			if err != nil {
				t.Fatalf("Load: got error %v, want nil", err)
			}
			if ks.KeyID() != c.kid || ks.Algorithm() != c.alg {
				t.Errorf("Load: got kid=%q alg=%q, want %s %s", ks.KeyID(), ks.Algorithm(), c.kid, c.alg)
			}
			if _, err := ks.Verify(sign(t, ks, baseClaims()), testIssuer, testAudience, 0); err != nil {
				t.Errorf("Verify: got error %v, want nil", err)
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	ec, other, rs := newEC(t), newEC(t), newRSA(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(ec.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubJWK, err := jwk.FromRaw(ec.Public())
	if err != nil {
		t.Fatal(err)
	}
	octJWK, err := jwk.FromRaw([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	// A JWK whose d belongs to another key than its x and y.
	var mismatched map[string]any
	if err := json.Unmarshal(mustJSON(t, privateJWK(t, ec, nil)), &mismatched); err != nil {
		t.Fatal(err)
	}
	var otherMembers map[string]any
	if err := json.Unmarshal(mustJSON(t, privateJWK(t, other, nil)), &otherMembers); err != nil {
		t.Fatal(err)
	}
	mismatched["d"] = otherMembers["d"]
	dupSet := jwk.NewSet()
	for _, k := range []any{ec, other} {
		if err := dupSet.AddKey(privateJWK(t, k, map[string]any{jwk.KeyIDKey: "same"})); err != nil {
			t.Fatal(err)
		}
	}
	encrypted := pem.EncodeToMemory(&pem.Block{
		Type:    "EC PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000"},
		Bytes:   []byte("ciphertext"),
	})

	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not a key")},
		{"bad JSON", []byte(`{"kty":`)},
		{"empty JWK Set", []byte(`{"keys":[]}`)},
		{"public JWK", mustJSON(t, pubJWK)},
		{"symmetric JWK", mustJSON(t, octJWK)},
		{"P-384 JWK", mustJSON(t, privateJWK(t, p384, nil))},
		{"P-384 PEM", pkcs8(t, p384)},
		{"RSA 1024 PEM", pemBlock(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa1024))},
		{"EC JWK with alg RS256", mustJSON(t, privateJWK(t, ec, map[string]any{jwk.AlgorithmKey: jwa.RS256}))},
		{"RSA JWK with alg PS256", mustJSON(t, privateJWK(t, rs, map[string]any{jwk.AlgorithmKey: jwa.PS256}))},
		{"JWK with use enc", mustJSON(t, privateJWK(t, ec, map[string]any{jwk.KeyUsageKey: "enc"}))},
		{"JWK private and public parts differ", mustJSON(t, mismatched)},
		{"JWK Set with a duplicate kid", mustJSON(t, dupSet)},
		{"public key PEM", pemBlock(t, "PUBLIC KEY", pubDER)},
		{"encrypted PEM", encrypted},
		{"PEM with trailing garbage", append(pkcs8(t, ec), "junk"...)},
		{"PEM with a bad body", pemBlock(t, "PRIVATE KEY", []byte("nope"))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ks, err := Load(writeFile(t, c.data))
			if !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Load: got %v, %v; want ErrInvalidKey", ks, err)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		_, err := Load(filepath.Join(t.TempDir(), "absent"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load: got %v, want fs.ErrNotExist", err)
		}
	})
}

func TestNew(t *testing.T) {
	t.Parallel()
	ec := newEC(t)
	if _, err := New(); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("New(): got %v, want ErrInvalidKey", err)
	}
	if _, err := New(ec, ec); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("New(same key twice): got %v, want ErrInvalidKey", err)
	}
	ks, err := New(ec, newEd(t))
	if err != nil {
		t.Fatalf("New: got %v, want nil", err)
	}
	if got, want := ks.KeyID(), thumbprint(t, ec.Public()); got != want {
		t.Errorf("KeyID: got %q, want %q", got, want)
	}
}

// TestRotation: a token signed before a rotation verifies with the rotated
// set (new active key + old key), and new tokens use the new key.
func TestRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := newEd(t), newEC(t)
	before, err := New(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	oldToken := sign(t, before, baseClaims())

	set := jwk.NewSet()
	for _, k := range []jwk.Key{
		privateJWK(t, newKey, map[string]any{jwk.KeyIDKey: "2025-06"}),
		privateJWK(t, oldKey, nil), // no kid: gets its thumbprint, as before
	} {
		if err := set.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	after, err := Load(writeFile(t, mustJSON(t, set)))
	if err != nil {
		t.Fatalf("Load(JWK Set): got error %v, want nil", err)
	}
	if got, want := after.KeyID(), "2025-06"; got != want {
		t.Errorf("KeyID after rotation: got %q, want %q", got, want)
	}
	if got, want := after.Algorithms(), []string{"ES256", "EdDSA"}; !slices.Equal(got, want) {
		t.Errorf("Algorithms after rotation: got %v, want %v (active first, then the old key's)", got, want)
	}
	if got, want := before.Algorithms(), []string{"EdDSA"}; !slices.Equal(got, want) {
		t.Errorf("Algorithms before rotation: got %v, want %v", got, want)
	}
	two, err := New(newEC(t), newEC(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := two.Algorithms(); !slices.Equal(got, []string{"ES256"}) {
		t.Errorf("Algorithms of two ES256 keys: got %v, want [ES256] (each once)", got)
	}
	if got, err := after.Verify(oldToken, testIssuer, testAudience, 0); err != nil || got.Subject != baseClaims().Subject {
		t.Errorf("Verify(old token) after rotation: got %+v, %v; want valid", got, err)
	}
	newToken := sign(t, after, baseClaims())
	if h := header(t, newToken); h["kid"] != "2025-06" || h["alg"] != "ES256" {
		t.Errorf("new token header: got %v, want kid 2025-06 alg ES256", h)
	}
	if _, err := before.Verify(newToken, testIssuer, testAudience, 0); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify(new token) with the old set: got %v, want ErrInvalidToken (unknown kid)", err)
	}
	var jwks struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	data, err := after.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &jwks); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range jwks.Keys {
		kids = append(kids, k.KID)
	}
	if got, want := strings.Join(kids, ","), "2025-06,"+before.KeyID(); got != want {
		t.Errorf("PublicJWKS kids: got %s, want %s", got, want)
	}
}

func TestPublicJWKS(t *testing.T) {
	t.Parallel()
	ec, ed, rs := newEC(t), newEd(t), newRSA(t)
	ks, err := New(ec, ed, rs)
	if err != nil {
		t.Fatal(err)
	}
	data, err := ks.PublicJWKS()
	if err != nil {
		t.Fatalf("PublicJWKS: got error %v, want nil", err)
	}
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(data, &jwks); err != nil {
		t.Fatalf("PublicJWKS: got %s, want a JSON JWK Set: %v", data, err)
	}
	want := []struct{ kty, alg, kid string }{
		{"EC", "ES256", thumbprint(t, ec.Public())},
		{"OKP", "EdDSA", thumbprint(t, ed.Public())},
		{"RSA", "RS256", thumbprint(t, rs.Public())},
	}
	if len(jwks.Keys) != len(want) {
		t.Fatalf("PublicJWKS: got %d keys, want %d", len(jwks.Keys), len(want))
	}
	for i, k := range jwks.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := k[private]; ok {
				t.Errorf("key %d: got private member %q, want none", i, private)
			}
		}
		if k["kty"] != want[i].kty || k["alg"] != want[i].alg || k["kid"] != want[i].kid || k["use"] != "sig" {
			t.Errorf("key %d: got kty=%v alg=%v kid=%v use=%v, want %s %s %s sig", i, k["kty"], k["alg"], k["kid"], k["use"], want[i].kty, want[i].alg, want[i].kid)
		}
	}
	// PublicSet hands out copies: changing one does not change the next.
	set := ks.PublicSet()
	k0, _ := set.Key(0)
	if err := k0.Set(jwk.KeyIDKey, "changed"); err != nil {
		t.Fatal(err)
	}
	if got, _ := ks.PublicSet().Key(0); got.KeyID() != ks.KeyID() {
		t.Errorf("PublicSet after the caller changed a key: got kid %q, want %q", got.KeyID(), ks.KeyID())
	}
}

// sign signs c or fails the test.
func sign(t *testing.T, ks *KeySet, c Claims) string {
	t.Helper()
	tok, err := ks.Sign(c)
	if err != nil {
		t.Fatalf("Sign: got error %v, want nil", err)
	}
	return tok
}

// header decodes the protected header of a compact JWS.
func header(t *testing.T, token string) map[string]any {
	t.Helper()
	return decodeSegment(t, strings.Split(token, ".")[0])
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const (
	testIssuer   = "https://userd.example"
	testAudience = "userd"
)

func baseClaims() Claims {
	now := time.Now().Truncate(time.Second)
	return Claims{
		Issuer:    testIssuer,
		Audience:  testAudience,
		Subject:   "0190f3c2-7d1e-7a3b-9c4d-5e6f7a8b9c0d",
		Role:      "member",
		SessionID: "42",
		IssuedAt:  now,
		ExpiresAt: now.Add(15 * time.Minute),
		ID:        "jti-1",
	}
}
