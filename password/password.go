// Package password hashes and checks user passwords with argon2id and
// enforces the minimal password policy (length and a common-password list).
// It also verifies the hashes of imported accounts (bcrypt, Django PBKDF2,
// argon2i), which a login replaces with argon2id.
//
// Hashes are PHC strings:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// ErrMalformedHash is returned (wrapped) by Verify and Check for a stored
// hash this package cannot check (see Check).
var ErrMalformedHash = errors.New("malformed password hash")

// ErrInvalidParams is returned (wrapped) by Hash and NewHasher for Params
// outside the accepted range (see Params).
var ErrInvalidParams = errors.New("invalid argon2id parameters")

// Params are the argon2id cost parameters and output sizes.
//
// Accepted ranges: Memory 8*Parallelism..1048576 KiB (1 GiB), Iterations
// 1..64, Parallelism ≥ 1, SaltLen 8..64 bytes, KeyLen 16..128 bytes. The
// same bounds apply to parameters read back from a stored hash, so a
// tampered row cannot make a login allocate unbounded memory.
type Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32 // bytes
	KeyLen      uint32 // bytes
}

// DefaultParams is OWASP's recommended argon2id configuration (Password
// Storage Cheat Sheet): m=19456 KiB (19 MiB), t=2, p=1, with a 16-byte salt
// and a 32-byte key. It is sized for an interactive login on a small server:
// roughly 20–40 ms and 19 MiB per hash on one core, so a 2-core machine can
// serve a few dozen logins a second without memory pressure while an
// offline attacker still pays 19 MiB per guess. Treat it as a constant:
// pass a copy to change a field.
var DefaultParams = Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}

const (
	maxMemory     = 1 << 20 // KiB
	maxIterations = 64
	minSaltLen    = 8
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 128
)

func (p Params) validate() error {
	switch {
	case p.Parallelism < 1:
		return fmt.Errorf("%w: parallelism %d < 1", ErrInvalidParams, p.Parallelism)
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxMemory:
		return fmt.Errorf("%w: memory %d KiB outside %d..%d", ErrInvalidParams, p.Memory, 8*uint32(p.Parallelism), maxMemory)
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("%w: iterations %d outside 1..%d", ErrInvalidParams, p.Iterations, maxIterations)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("%w: salt length %d outside %d..%d", ErrInvalidParams, p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("%w: key length %d outside %d..%d", ErrInvalidParams, p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// Hash derives an argon2id key from password with a fresh random salt and
// returns it as a PHC string. It returns an error wrapping ErrInvalidParams
// for out-of-range p, or the error of the system random source.
func Hash(password string, p Params) (string, error) {
	if err := p.validate(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
	return encodePHC(p, salt, key), nil
}

// Verify checks password against a stored hash in constant time (with
// respect to the key contents). The hash is an argon2id PHC string, or a
// foreign one Check accepts (argon2i, bcrypt, Django PBKDF2), verified
// with its own algorithm. ok reports a match; needsRehash reports that the
// hash is not argon2id with want, so the caller should store a fresh
// Hash(password, want) after a successful login: always for a foreign
// hash. It returns an error wrapping ErrMalformedHash when the hash cannot
// be parsed or its parameters are out of range; ok is then false.
func Verify(password, stored string, want Params) (ok, needsRehash bool, err error) {
	if !strings.HasPrefix(stored, "$argon2") {
		ok, err := verifyForeign(password, stored)
		return ok, ok, err
	}
	scheme, got, salt, key, err := parsePHC(stored)
	if err != nil {
		return false, false, err
	}
	var computed []byte
	if scheme == Argon2i {
		computed = argon2.Key([]byte(password), salt, got.Iterations, got.Memory, got.Parallelism, got.KeyLen)
	} else {
		computed = argon2.IDKey([]byte(password), salt, got.Iterations, got.Memory, got.Parallelism, got.KeyLen)
	}
	if subtle.ConstantTimeCompare(computed, key) != 1 {
		return false, false, nil
	}
	return true, scheme != Argon2id || got != want, nil
}

// Hasher hashes and verifies with one set of Params and holds a dummy hash
// made with them, so that a login for an unknown account can spend the same
// time as a real one. A Hasher is safe for concurrent use.
type Hasher struct {
	params Params
	dummy  string
	runs   atomic.Int64
}

// NewHasher returns a Hasher for p, computing its dummy hash (one argon2id
// run). It returns an error wrapping ErrInvalidParams for out-of-range p.
func NewHasher(p Params) (*Hasher, error) {
	dummy, err := Hash("userd dummy password", p)
	if err != nil {
		return nil, fmt.Errorf("dummy hash: %w", err)
	}
	return &Hasher{params: p, dummy: dummy}, nil
}

// Params returns the parameters h hashes with.
func (h *Hasher) Params() Params { return h.params }

// Runs returns how many hash runs h has made (Hash, Verify and
// VerifyDummy each make one), for metrics and for tests that a path does
// not hash at all.
func (h *Hasher) Runs() int64 { return h.runs.Load() }

// Hash is Hash(password, h.Params()). It returns only random-source errors.
func (h *Hasher) Hash(password string) (string, error) {
	h.runs.Add(1)
	return Hash(password, h.params)
}

// Verify is Verify(password, phc, h.Params()): needsRehash is true when phc
// is foreign or was made with other parameters than h's. It returns an error wrapping
// ErrMalformedHash for an unparsable phc.
func (h *Hasher) Verify(password, phc string) (ok, needsRehash bool, err error) {
	h.runs.Add(1)
	return Verify(password, phc, h.params)
}

// VerifyDummy runs one verification against h's dummy hash and always
// returns false. Call it when no account matches a login, so that the
// response time does not reveal whether the account exists.
func (h *Hasher) VerifyDummy(password string) bool {
	h.runs.Add(1)
	_, _, _ = Verify(password, h.dummy, h.params)
	return false
}
