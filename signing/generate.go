package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Algorithms are the algorithms GenerateAlg accepts, the default first.
var Algorithms = []string{"ES256", "EdDSA", "RS256"}

// generatedRSABits is the modulus of generated RSA keys (loading accepts
// 2048 and up).
const generatedRSABits = 3072

// Generate returns a KeySet holding one fresh ES256 (P-256) key. It returns
// only random-source errors.
func Generate() (*KeySet, error) { return GenerateAlg("ES256") }

// GenerateAlg returns a KeySet holding one fresh key for alg: "ES256"
// (ECDSA P-256), "EdDSA" (Ed25519) or "RS256" (RSA, 3072 bits). Its kid is
// the key's RFC 7638 thumbprint. It returns an error wrapping
// ErrInvalidKey for another alg, or a random-source error.
func GenerateAlg(alg string) (*KeySet, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, generatedRSABits)
	default:
		return nil, fmt.Errorf("%w: algorithm %q, want ES256, EdDSA or RS256", ErrInvalidKey, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	return New(priv)
}

// PrivateJWK returns the active key as an indented private JWK with its
// kid, alg and use=sig, followed by a newline: the file Load reads. It
// holds the private key; treat it as a secret. It returns only encoding
// errors.
func (ks *KeySet) PrivateJWK() ([]byte, error) {
	jk, err := ks.keys[0].privateJWK()
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(jk, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	return append(data, '\n'), nil
}

// WriteNew generates a key for alg (see GenerateAlg) and writes it to path as
// a private JWK with mode 0600, creating the parent directory (mode 0700)
// as needed, and returns its kid. It never replaces a file: when path
// exists it returns an error wrapping fs.ErrExist. The file appears
// complete or not at all: it is written to a temporary file and
// hard-linked into place, which fails if path exists by then.
func WriteNew(path, alg string) (kid string, err error) {
	ks, err := GenerateAlg(alg)
	if err != nil {
		return "", err
	}
	data, err := ks.PrivateJWK()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create signing key directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".signing-key-*")
	if err != nil {
		return "", fmt.Errorf("create signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("create signing key: %w", err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write signing key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("signing key %s already exists: %w", path, fs.ErrExist)
		}
		return "", fmt.Errorf("install signing key: %w", err)
	}
	return ks.KeyID(), nil
}
