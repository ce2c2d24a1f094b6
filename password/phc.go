package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// b64 returns the PHC encoding of salt and key: standard alphabet, no
// padding, and (Strict) no stray bits in the last character.
func b64() *base64.Encoding { return base64.RawStdEncoding.Strict() }

// encodePHC formats $argon2id$v=19$m=…,t=…,p=…$salt$key.
func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		b64().EncodeToString(salt), b64().EncodeToString(key))
}

// parsePHC reads an argon2 PHC string: one made by encodePHC, or an
// argon2i one ($argon2i$…, same fields) made elsewhere. The returned
// Params carry the decoded salt and key lengths. Errors wrap
// ErrMalformedHash.
func parsePHC(phc string) (Scheme, Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" {
		return "", p, nil, nil, fmt.Errorf("%w: want 5 $-separated fields", ErrMalformedHash)
	}
	scheme := Scheme(parts[1])
	if scheme != Argon2id && scheme != Argon2i {
		return "", p, nil, nil, fmt.Errorf("%w: algorithm %q is not argon2id or argon2i", ErrMalformedHash, parts[1])
	}
	v, ok := strings.CutPrefix(parts[2], "v=")
	if !ok {
		return "", p, nil, nil, fmt.Errorf("%w: missing version", ErrMalformedHash)
	}
	version, err := parseUint(v, 32)
	if err != nil || version != argon2.Version {
		return "", p, nil, nil, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, v)
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return "", p, nil, nil, fmt.Errorf("%w: want m=,t=,p= parameters", ErrMalformedHash)
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		s, ok := strings.CutPrefix(fields[i], name)
		if !ok {
			return "", p, nil, nil, fmt.Errorf("%w: parameter %d is not %s", ErrMalformedHash, i+1, name)
		}
		bits := 32
		if name == "p=" {
			bits = 8
		}
		if vals[i], err = parseUint(s, bits); err != nil {
			return "", p, nil, nil, fmt.Errorf("%w: parameter %s%q", ErrMalformedHash, name, s)
		}
	}
	salt, err := b64().DecodeString(parts[4])
	if err != nil {
		return "", p, nil, nil, fmt.Errorf("%w: salt: %w", ErrMalformedHash, err)
	}
	key, err := b64().DecodeString(parts[5])
	if err != nil {
		return "", p, nil, nil, fmt.Errorf("%w: key: %w", ErrMalformedHash, err)
	}
	p = Params{
		Memory:      uint32(vals[0]),
		Iterations:  uint32(vals[1]),
		Parallelism: uint8(vals[2]),
		SaltLen:     uint32(len(salt)),
		KeyLen:      uint32(len(key)),
	}
	if err := p.validate(); err != nil {
		return "", p, nil, nil, fmt.Errorf("%w: %w", ErrMalformedHash, err)
	}
	return scheme, p, salt, key, nil
}

// parseUint accepts only plain decimal digits without a leading zero (no
// sign, no spaces), so every hash has exactly one spelling.
func parseUint(s string, bits int) (uint64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("not a canonical decimal: %q", s)
	}
	return strconv.ParseUint(s, 10, bits)
}
