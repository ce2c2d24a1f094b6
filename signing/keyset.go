// Package signing holds the keys userd signs its own access tokens with:
// loading them from a file (JWK, JWK Set or PEM), generating one for
// development, signing and verifying tokens, and publishing the public keys
// as a JWK Set for /.well-known/jwks.json.
package signing

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// ErrInvalidKey is returned (wrapped) by Load, LoadOrGenerate and New for
// key material that cannot be used: unparsable, public-only, symmetric, an
// unsupported type or curve, an RSA key under 2048 bits, an alg or use that
// does not fit the key, or a kid used twice.
var ErrInvalidKey = errors.New("invalid signing key")

// minRSABits is the smallest RSA modulus accepted.
const minRSABits = 2048

// key is one signing key with everything derived from it at load time.
type key struct {
	kid  string
	alg  jwa.SignatureAlgorithm
	priv crypto.Signer
	pub  crypto.PublicKey
}

// KeySet is an active signing key plus older keys still accepted when
// verifying, so tokens signed before a rotation stay valid until they expire.
// Supported keys: ECDSA P-256 (ES256, the default), Ed25519 (EdDSA) and RSA
// of at least 2048 bits (RS256). Make one with Load, LoadOrGenerate, New or
// Generate; the zero KeySet is not usable. A KeySet is immutable and safe
// for concurrent use.
type KeySet struct {
	keys  []key // keys[0] signs
	byKID map[string]int
}

// New returns a KeySet whose first signer is the active key and the rest
// verification-only. Each key's kid is its RFC 7638 SHA-256 thumbprint
// (base64url). It returns an error wrapping ErrInvalidKey for no signers or
// an unsupported or duplicate key.
func New(signers ...crypto.Signer) (*KeySet, error) {
	keys := make([]key, 0, len(signers))
	for i, s := range signers {
		k, err := newKey(s, "", "")
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return newKeySet(keys)
}

// Load reads the private signing keys in path. The file holds one of:
//   - a private JWK;
//   - a JWK Set of private keys: the first signs, the rest only verify;
//   - one or more PEM private keys ("PRIVATE KEY" PKCS#8, "EC PRIVATE KEY",
//     "RSA PRIVATE KEY" PKCS#1; "EC PARAMETERS" blocks are skipped): the
//     first signs, the rest only verify.
//
// A JWK keeps its own kid; other keys get their RFC 7638 SHA-256
// thumbprint (base64url). A JWK's alg, if present, must be the one its key
// type implies (ES256, EdDSA, RS256), and its use, if present, "sig".
//
// Load returns the file error (errors.Is(err, fs.ErrNotExist) for a
// missing file) or an error wrapping ErrInvalidKey.
func Load(path string) (*KeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	ks, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return ks, nil
}

// LoadOrGenerate is Load, except that when path does not exist it first
// generates an ES256 key and writes it there as a private JWK with mode
// 0600, creating the parent directory (mode 0700) as needed. It is meant for
// development. If another process creates the file at the same time, the
// file written first wins and both load it. It returns the errors of Load
// and of creating the file.
func LoadOrGenerate(path string) (*KeySet, error) {
	_, err := os.Stat(path)
	if err == nil {
		return Load(path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("stat signing key: %w", err)
	}
	if _, err := WriteNew(path, "ES256"); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return Load(path)
}

// KeyID returns the kid of the active (signing) key.
func (ks *KeySet) KeyID() string { return ks.keys[0].kid }

// Algorithm returns the JWS algorithm of the active key (ES256, EdDSA or
// RS256).
func (ks *KeySet) Algorithm() string { return ks.keys[0].alg.String() }

// Algorithms returns the JWS algorithms of the keys, the active key's
// first, each once: what a verifier of userd's tokens must accept (the
// id_token_signing_alg_values_supported of the discovery document).
func (ks *KeySet) Algorithms() []string {
	var algs []string
	for _, k := range ks.keys {
		if a := k.alg.String(); !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	return algs
}

func newKeySet(keys []key) (*KeySet, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrInvalidKey)
	}
	ks := &KeySet{keys: keys, byKID: make(map[string]int, len(keys))}
	for i, k := range keys {
		if _, dup := ks.byKID[k.kid]; dup {
			return nil, fmt.Errorf("%w: kid %q used twice", ErrInvalidKey, k.kid)
		}
		ks.byKID[k.kid] = i
	}
	return ks, nil
}

// parse reads a JWK, a JWK Set or PEM blocks.
func parse(data []byte) (*KeySet, error) {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(data, []byte("{")):
		return parseJWK(data)
	case bytes.HasPrefix(data, []byte("-----BEGIN ")):
		return parsePEM(data)
	default:
		return nil, fmt.Errorf("%w: neither JSON (JWK) nor PEM", ErrInvalidKey)
	}
}

func parseJWK(data []byte) (*KeySet, error) {
	set, err := jwk.Parse(data) // a single JWK parses as a set of one
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	keys := make([]key, 0, set.Len())
	for i := range set.Len() {
		jk, _ := set.Key(i)
		var raw any
		if err := jk.Raw(&raw); err != nil {
			return nil, fmt.Errorf("%w: key %d: %w", ErrInvalidKey, i+1, err)
		}
		signer, ok := raw.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%w: key %d: %s key %T is not a private key", ErrInvalidKey, i+1, jk.KeyType(), raw)
		}
		if use := jk.KeyUsage(); use != "" && use != jwk.ForSignature.String() {
			return nil, fmt.Errorf("%w: key %d: use %q, want %q", ErrInvalidKey, i+1, use, jwk.ForSignature)
		}
		var alg jwa.SignatureAlgorithm
		if a := jk.Algorithm(); a != nil {
			alg = jwa.SignatureAlgorithm(a.String())
		}
		k, err := newKey(signer, jk.KeyID(), alg)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return newKeySet(keys)
}

func parsePEM(data []byte) (*KeySet, error) {
	var keys []key
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if len(block.Headers) > 0 {
			return nil, fmt.Errorf("%w: PEM block %d: encrypted or has headers", ErrInvalidKey, n)
		}
		var raw any
		var err error
		switch block.Type {
		case "EC PARAMETERS":
			continue
		case "PRIVATE KEY":
			raw, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			raw, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			raw, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			return nil, fmt.Errorf("%w: PEM block %d: type %q is not a private key", ErrInvalidKey, n, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: PEM block %d: %w", ErrInvalidKey, n, err)
		}
		signer, ok := raw.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%w: PEM block %d: unsupported key type %T", ErrInvalidKey, n, raw)
		}
		k, err := newKey(signer, "", "")
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		keys = append(keys, k)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%w: trailing data after the PEM blocks", ErrInvalidKey)
	}
	return newKeySet(keys)
}

// newKey checks s, derives its algorithm, and names it kid (or its
// thumbprint when kid is empty). A non-empty alg must match the key type.
// It signs and verifies a test message so that a JWK whose private and
// public members disagree is caught at load rather than at first use.
func newKey(s crypto.Signer, kid string, alg jwa.SignatureAlgorithm) (key, error) {
	var want jwa.SignatureAlgorithm
	switch k := s.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve == nil || k.Curve.Params().Name != "P-256" {
			return key{}, fmt.Errorf("%w: ECDSA keys must use P-256 (ES256)", ErrInvalidKey)
		}
		want = jwa.ES256
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return key{}, fmt.Errorf("%w: Ed25519 key of %d bytes", ErrInvalidKey, len(k))
		}
		want = jwa.EdDSA
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < minRSABits {
			return key{}, fmt.Errorf("%w: RSA key of %d bits, want at least %d", ErrInvalidKey, bits, minRSABits)
		}
		want = jwa.RS256
	default:
		return key{}, fmt.Errorf("%w: unsupported key type %T (want ECDSA P-256, Ed25519 or RSA)", ErrInvalidKey, s)
	}
	if alg != "" && alg != want {
		return key{}, fmt.Errorf("%w: alg %q does not fit a %T (want %s)", ErrInvalidKey, alg, s, want)
	}
	k := key{kid: kid, alg: want, priv: s, pub: s.Public()}
	if err := k.selfTest(); err != nil {
		return key{}, err
	}
	pk, err := k.publicJWK() // PublicSet relies on this succeeding
	if err != nil {
		return key{}, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	if k.kid == "" {
		tp, err := pk.Thumbprint(crypto.SHA256)
		if err != nil {
			return key{}, fmt.Errorf("%w: thumbprint: %w", ErrInvalidKey, err)
		}
		k.kid = base64.RawURLEncoding.EncodeToString(tp)
	}
	return k, nil
}

// selfTest signs a fixed message with k.priv and verifies it with k.pub.
func (k key) selfTest() error {
	msg := []byte("userd signing key self-test")
	digest := sha256.Sum256(msg)
	var ok bool
	switch pub := k.pub.(type) {
	case *ecdsa.PublicKey:
		sig, err := k.priv.Sign(rand.Reader, digest[:], crypto.SHA256)
		ok = err == nil && ecdsa.VerifyASN1(pub, digest[:], sig)
	case ed25519.PublicKey:
		sig, err := k.priv.Sign(rand.Reader, msg, crypto.Hash(0))
		ok = err == nil && ed25519.Verify(pub, msg, sig)
	case *rsa.PublicKey:
		sig, err := k.priv.Sign(rand.Reader, digest[:], crypto.SHA256)
		ok = err == nil && rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
	}
	if !ok {
		return fmt.Errorf("%w: private and public parts do not match", ErrInvalidKey)
	}
	return nil
}

// privateJWK returns k as a private JWK with kid, alg and use=sig.
func (k key) privateJWK() (jwk.Key, error) {
	return k.jwk(k.priv)
}

// publicJWK returns k's public key as a JWK with kid, alg and use=sig and
// no other members.
func (k key) publicJWK() (jwk.Key, error) {
	return k.jwk(k.pub)
}

func (k key) jwk(raw any) (jwk.Key, error) {
	jk, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("encode JWK: %w", err)
	}
	for name, v := range map[string]any{
		jwk.KeyIDKey:     k.kid,
		jwk.AlgorithmKey: k.alg,
		jwk.KeyUsageKey:  jwk.ForSignature,
	} {
		if err := jk.Set(name, v); err != nil {
			return nil, fmt.Errorf("encode JWK %s: %w", name, err)
		}
	}
	return jk, nil
}

// PublicSet returns a new JWK Set of the public keys, active first, each
// with kid, alg and use=sig, for verifiers outside this package. The caller
// may modify it.
func (ks *KeySet) PublicSet() jwk.Set {
	set := jwk.NewSet()
	for _, k := range ks.keys {
		jk, err := k.publicJWK()
		if err != nil {
			// Unreachable: newKey built this very JWK before accepting the key.
			panic(fmt.Sprintf("signing: public JWK of loaded key %q: %v", k.kid, err))
		}
		_ = set.AddKey(jk) // fresh keys in a fresh set: no duplicates
	}
	return set
}

// PublicJWKS returns the JSON JWK Set ({"keys":[…]}) served at
// /.well-known/jwks.json: the public part of every key, active and old,
// each with kid, alg and use=sig, and never a private member. It returns
// only JSON encoding errors.
func (ks *KeySet) PublicJWKS() ([]byte, error) {
	data, err := json.Marshal(ks.PublicSet())
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	return data, nil
}
