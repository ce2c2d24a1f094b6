package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
)

// DeriveSecret returns a 32-byte secret for purpose (e.g. "cursor"),
// derived from the active private key: every instance sharing the key file
// derives the same secret, and no one without the key can. Rotating the
// active key changes it.
func (ks *KeySet) DeriveSecret(purpose string) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(ks.keys[0].priv)
	if err != nil {
		return nil, fmt.Errorf("signing: derive %s secret: %w", purpose, err)
	}
	mac := hmac.New(sha256.New, der)
	mac.Write([]byte("userd/" + purpose))
	return mac.Sum(nil), nil
}
