package signing

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// SignJSON returns claims as a compact JWS (an OpenID Connect ID token)
// signed with the active key, with protected header kid, alg and typ
// "JWT". The caller owns the claims: iss, sub, aud, exp and iat must be
// present, or it returns an error wrapping ErrInvalidClaims.
func (ks *KeySet) SignJSON(claims map[string]any) (string, error) {
	for _, name := range []string{"iss", "sub", "aud", "exp", "iat"} {
		if _, ok := claims[name]; !ok {
			return "", fmt.Errorf("%w: %s is required", ErrInvalidClaims, name)
		}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	k := ks.keys[0]
	hdr := jws.NewHeaders()
	for name, v := range map[string]any{jws.KeyIDKey: k.kid, jws.TypeKey: "JWT"} {
		if err := hdr.Set(name, v); err != nil {
			return "", fmt.Errorf("token header %s: %w", name, err)
		}
	}
	signed, err := jws.Sign(payload, jws.WithKey(k.alg, k.priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return string(signed), nil
}

// HalfHash is the at_hash (or c_hash) of value for a token signed with the
// active key (OpenID Connect Core §3.1.3.6): the left half of its hash by
// the hash function of the key's algorithm (SHA-256 for ES256 and RS256,
// SHA-512 for EdDSA), base64url without padding.
func (ks *KeySet) HalfHash(value string) string {
	var sum []byte
	if ks.keys[0].alg == jwa.EdDSA {
		s := sha512.Sum512([]byte(value))
		sum = s[:]
	} else {
		s := sha256.Sum256([]byte(value))
		sum = s[:]
	}
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// VerifySignature checks a compact JWS token's signature against the set's
// own keys (kid and alg as Verify checks them) and returns its payload,
// without validating any claim: for an id_token_hint, which may have
// expired. Every error wraps ErrInvalidToken.
func (ks *KeySet) VerifySignature(token string) ([]byte, error) {
	if len(token) > maxTokenLen || strings.Count(token, ".") != 2 {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrInvalidToken)
	}
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		return nil, fmt.Errorf("%w: parse: %w", ErrInvalidToken, err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return nil, fmt.Errorf("%w: got %d signatures, want 1", ErrInvalidToken, len(sigs))
	}
	i, ok := ks.byKID[sigs[0].ProtectedHeaders().KeyID()]
	if !ok {
		return nil, fmt.Errorf("%w: unknown kid", ErrInvalidToken)
	}
	k := ks.keys[i]
	payload, err := jws.Verify([]byte(token), jws.WithKey(k.alg, k.pub))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return payload, nil
}
