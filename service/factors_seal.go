package service

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/userd/userd/signing"
)

// DataKeys seal secrets kept at rest (TOTP secrets) with AES-256-GCM. The
// first key seals; every key opens what it sealed, found by its id (the
// first 8 bytes of its SHA-256, in hex, stored beside each sealed value).
// Rotation: put a new key first and keep the old ones after it; a secret is
// sealed again under the first key when it is next used, and an old key can
// go once nothing sealed under it is left (docs/mfa.md).
type DataKeys struct {
	keys []dataKey
}

type dataKey struct {
	id   string
	aead cipher.AEAD
}

// ErrDataKey is wrapped by ParseDataKeys for a malformed USERD_DATA_KEY.
var ErrDataKey = errors.New("invalid data key")

// ParseDataKeys reads USERD_DATA_KEY: comma-separated keys, each 32 bytes
// in base64 (standard or URL alphabet, padded or not), the sealing key
// first. An empty value gives no keys (see DeriveDataKeys).
// Errors: wrap ErrDataKey.
func ParseDataKeys(s string) (DataKeys, error) {
	var raw [][]byte
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var k []byte
		var err error
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if k, err = enc.DecodeString(part); err == nil {
				break
			}
		}
		if err != nil || len(k) != 32 {
			return DataKeys{}, fmt.Errorf("%w: each key is 32 bytes in base64 (openssl rand -base64 32)", ErrDataKey)
		}
		raw = append(raw, k)
	}
	return newDataKeys(raw)
}

// DeriveDataKeys is the data key derived from the active signing key, for
// when USERD_DATA_KEY is unset: rotating the signing key then makes the
// sealed secrets unreadable, so set USERD_DATA_KEY before rotating it.
func DeriveDataKeys(keys *signing.KeySet) DataKeys {
	k, err := newDataKeys([][]byte{derivedKey(keys, "data-key")})
	if err != nil {
		panic("service: derived data key: " + err.Error())
	}
	return k
}

func newDataKeys(raw [][]byte) (DataKeys, error) {
	var d DataKeys
	for _, k := range raw {
		block, err := aes.NewCipher(k)
		if err != nil {
			return DataKeys{}, fmt.Errorf("%w: %w", ErrDataKey, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return DataKeys{}, fmt.Errorf("%w: %w", ErrDataKey, err)
		}
		sum := sha256.Sum256(k)
		d.keys = append(d.keys, dataKey{id: hex.EncodeToString(sum[:8]), aead: aead})
	}
	return d, nil
}

// Empty reports whether there is no key.
func (d DataKeys) Empty() bool { return len(d.keys) == 0 }

// seal encrypts plain for the row of userID (bound in as associated data,
// so a sealed value moved to another user does not open) under the first
// key, and returns it with that key's id.
func (d DataKeys) seal(userID int64, plain []byte) (sealed []byte, keyID string, err error) {
	k := d.keys[0]
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", fmt.Errorf("seal: nonce: %w", err)
	}
	return k.aead.Seal(nonce, nonce, plain, sealAD(userID)), k.id, nil
}

// open decrypts what seal made under the key keyID.
func (d DataKeys) open(userID int64, sealed []byte, keyID string) ([]byte, error) {
	for _, k := range d.keys {
		if k.id != keyID {
			continue
		}
		n := k.aead.NonceSize()
		if len(sealed) < n {
			return nil, errors.New("open sealed secret: too short")
		}
		plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], sealAD(userID))
		if err != nil {
			return nil, fmt.Errorf("open sealed secret of user %d: %w", userID, err)
		}
		return plain, nil
	}
	return nil, fmt.Errorf("open sealed secret of user %d: no data key %s (USERD_DATA_KEY)", userID, keyID)
}

// current is the id of the sealing key.
func (d DataKeys) current() string { return d.keys[0].id }

func sealAD(userID int64) []byte { return fmt.Appendf(nil, "userd/totp/%d", userID) }
