package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Scheme names the algorithm of a stored hash.
type Scheme string

// The schemes Verify checks. Argon2id with the current Params is the one
// Hash makes; every other is a hash brought from another system (see
// Check), verified with its own algorithm and replaced at the first
// successful login.
const (
	Argon2id     Scheme = "argon2id"
	Argon2i      Scheme = "argon2i"       // PHC $argon2i$v=19$…
	Bcrypt       Scheme = "bcrypt"        // $2a$, $2b$, $2y$
	PBKDF2SHA256 Scheme = "pbkdf2_sha256" // Django pbkdf2_sha256$iter$salt$b64
	PBKDF2SHA1   Scheme = "pbkdf2_sha1"   // Django pbkdf2_sha1$iter$salt$b64
)

// Bounds on the cost of foreign hashes, so that a stored hash cannot make
// one login run for minutes: bcrypt cost 4..16 (16 is about 5 s), PBKDF2
// 1..5,000,000 iterations (Django 5.2 uses 1,000,000).
const (
	minBcryptCost    = bcrypt.MinCost
	maxBcryptCost    = 16
	maxPBKDF2Iter    = 5_000_000
	maxDjangoSaltLen = 128
)

// Check parses a stored hash without computing anything and returns its
// scheme: an argon2id or argon2i PHC string, a bcrypt hash ($2a$, $2b$ or
// $2y$, cost 4..16) or a Django PBKDF2 hash (pbkdf2_sha256 or pbkdf2_sha1).
// It returns an error wrapping ErrMalformedHash for anything else,
// including costs outside the bounds Verify accepts.
func Check(stored string) (Scheme, error) {
	switch {
	case strings.HasPrefix(stored, "$argon2"):
		s, _, _, _, err := parsePHC(stored)
		return s, err
	case strings.HasPrefix(stored, "$2"):
		_, err := parseBcrypt(stored)
		return Bcrypt, err
	case strings.HasPrefix(stored, "pbkdf2_"):
		d, err := parseDjango(stored)
		return d.scheme, err
	}
	return "", fmt.Errorf("%w: not argon2id, argon2i, bcrypt or Django pbkdf2", ErrMalformedHash)
}

// verifyForeign checks password against a hash of a scheme other than
// argon2 (see Check), comparing in constant time.
func verifyForeign(password, stored string) (bool, error) {
	switch {
	case strings.HasPrefix(stored, "$2"):
		if _, err := parseBcrypt(stored); err != nil {
			return false, err
		}
		// bcrypt reads at most 72 bytes of the password, as every
		// implementation does; CompareHashAndPassword compares in
		// constant time.
		err := bcrypt.CompareHashAndPassword([]byte(stored), []byte(password))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("%w: %w", ErrMalformedHash, err)
		}
		return true, nil
	case strings.HasPrefix(stored, "pbkdf2_"):
		d, err := parseDjango(stored)
		if err != nil {
			return false, err
		}
		key, err := pbkdf2.Key(d.hash, password, []byte(d.salt), d.iterations, len(d.key))
		if err != nil {
			return false, fmt.Errorf("pbkdf2: %w", err)
		}
		return subtle.ConstantTimeCompare(key, d.key) == 1, nil
	}
	_, err := Check(stored)
	return false, err
}

// parseBcrypt checks the form of a bcrypt hash: $2a$, $2b$ or $2y$, a
// two-digit cost within bounds, 53 characters of bcrypt's base64.
func parseBcrypt(stored string) (int, error) {
	if len(stored) != 60 || stored[0] != '$' || stored[1] != '2' || !strings.ContainsRune("aby", rune(stored[2])) ||
		stored[3] != '$' || stored[6] != '$' {
		return 0, fmt.Errorf("%w: not a $2a$, $2b$ or $2y$ bcrypt hash of 60 characters", ErrMalformedHash)
	}
	for _, c := range stored[7:] {
		if !(c == '.' || c == '/' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return 0, fmt.Errorf("%w: bcrypt salt and hash hold %q", ErrMalformedHash, c)
		}
	}
	digits := stored[4:6]
	cost, err := strconv.Atoi(digits)
	if err != nil || digits[0] < '0' || digits[0] > '9' || cost < minBcryptCost || cost > maxBcryptCost {
		return 0, fmt.Errorf("%w: bcrypt cost %q outside %d..%d", ErrMalformedHash, digits, minBcryptCost, maxBcryptCost)
	}
	return cost, nil
}

// django is a parsed Django PBKDF2 hash: algorithm$iterations$salt$key,
// the key in padded standard base64 of the digest's size.
type django struct {
	scheme     Scheme
	hash       func() hash.Hash
	iterations int
	salt       string
	key        []byte
}

func parseDjango(stored string) (django, error) {
	var d django
	parts := strings.Split(stored, "$")
	if len(parts) != 4 {
		return d, fmt.Errorf("%w: want algorithm$iterations$salt$hash", ErrMalformedHash)
	}
	size := 0
	switch Scheme(parts[0]) {
	case PBKDF2SHA256:
		d.hash, size = sha256.New, sha256.Size
	case PBKDF2SHA1:
		d.hash, size = sha1.New, sha1.Size
	default:
		return d, fmt.Errorf("%w: algorithm %q is not pbkdf2_sha256 or pbkdf2_sha1", ErrMalformedHash, parts[0])
	}
	d.scheme = Scheme(parts[0])
	iter, err := parseUint(parts[1], 32)
	if err != nil || iter < 1 || iter > maxPBKDF2Iter {
		return d, fmt.Errorf("%w: iterations %q outside 1..%d", ErrMalformedHash, parts[1], maxPBKDF2Iter)
	}
	d.iterations = int(iter)
	d.salt = parts[2]
	if d.salt == "" || len(d.salt) > maxDjangoSaltLen || strings.IndexFunc(d.salt, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return d, fmt.Errorf("%w: salt must be 1 to %d printable ASCII characters", ErrMalformedHash, maxDjangoSaltLen)
	}
	d.key, err = base64.StdEncoding.Strict().DecodeString(parts[3])
	if err != nil {
		return d, fmt.Errorf("%w: hash: %w", ErrMalformedHash, err)
	}
	if len(d.key) != size {
		return d, fmt.Errorf("%w: hash of %d bytes, want %d", ErrMalformedHash, len(d.key), size)
	}
	return d, nil
}
