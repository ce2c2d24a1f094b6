package password

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// testParams keep the tests fast; DefaultParams is exercised where the
// result depends on it.
var testParams = Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// dbHashRegex is the CHECK constraint on password_credentials.hash
// (password_credentials_hash_chk): argon2id or argon2i PHC, bcrypt, Django
// PBKDF2.
var dbHashRegex = regexp.MustCompile(`^(\$argon2id?\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+|\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}|pbkdf2_sha(256|1)\$[0-9]+\$[!-#%-~]+\$[A-Za-z0-9+/]+={0,2})$`)

func TestHashVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{"correct horse battery staple", "", "pässwörd ✓ 密码", strings.Repeat("x", 256)} {
		phc, err := Hash(pw, testParams)
		if err != nil {
			t.Fatalf("Hash(%q): got error %v, want nil", pw, err)
		}
		ok, rehash, err := Verify(pw, phc, testParams)
		if err != nil || !ok || rehash {
			t.Errorf("Verify(%q, %q): got ok=%v rehash=%v err=%v, want true false nil", pw, phc, ok, rehash, err)
		}
		ok, _, err = Verify(pw+"x", phc, testParams)
		if err != nil || ok {
			t.Errorf("Verify(wrong password): got ok=%v err=%v, want false nil", ok, err)
		}
	}
}

func TestHashIsSalted(t *testing.T) {
	t.Parallel()
	a, err := Hash("same password", testParams)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Hash("same password", testParams)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two hashes of one password: got equal %q, want different salts", a)
	}
}

func TestDefaultParamsHashFormat(t *testing.T) {
	t.Parallel()
	phc, err := Hash("hunter2hunter2", DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !dbHashRegex.MatchString(phc) {
		t.Errorf("Hash: got %q, want a match for the DB CHECK regex", phc)
	}
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(phc, want) {
		t.Errorf("Hash: got %q, want prefix %q", phc, want)
	}
	parts := strings.Split(phc, "$")
	if got, want := len(parts[4]), 22; got != want { // 16 bytes
		t.Errorf("salt: got %d base64 chars, want %d", got, want)
	}
	if got, want := len(parts[5]), 43; got != want { // 32 bytes
		t.Errorf("key: got %d base64 chars, want %d", got, want)
	}
}

func TestVerifyKnownVector(t *testing.T) {
	t.Parallel()
	// The argon2id test vector of golang.org/x/crypto/argon2 (password
	// "password", salt "somesalt", t=2, m=64, p=1, 24-byte key
	// 068d62b26455936aa6ebe60060b0a65870dbfa3ddf8d41f7), written as PHC.
	const phc = "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3"
	ok, rehash, err := Verify("password", phc, DefaultParams)
	if err != nil || !ok || !rehash {
		t.Errorf("Verify(reference vector): got ok=%v rehash=%v err=%v, want true true nil", ok, rehash, err)
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	t.Parallel()
	phc, err := Hash("password", testParams)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		want Params
		need bool
	}{
		{"same", testParams, false},
		{"memory", Params{Memory: 128, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, true},
		{"iterations", Params{Memory: 64, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}, true},
		{"parallelism", Params{Memory: 64, Iterations: 1, Parallelism: 2, SaltLen: 16, KeyLen: 32}, true},
		{"salt length", Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 32, KeyLen: 32}, true},
		{"key length", Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 64}, true},
		{"defaults", DefaultParams, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := Verify("password", phc, c.want)
			if err != nil || !ok || rehash != c.need {
				t.Errorf("Verify: got ok=%v rehash=%v err=%v, want true %v nil", ok, rehash, err, c.need)
			}
		})
	}
	// A wrong password never asks for a rehash.
	if ok, rehash, _ := Verify("nope", phc, DefaultParams); ok || rehash {
		t.Errorf("Verify(wrong password): got ok=%v rehash=%v, want false false", ok, rehash)
	}
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	good, err := Hash("password", testParams)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..,t=..,p=.., salt, key
	join := func(p ...string) string { return strings.Join(p, "$") }
	cases := []struct{ name, phc string }{
		{"empty", ""},
		{"argon2d", join("", "argon2d", parts[2], parts[3], parts[4], parts[5])},
		{"no leading $", strings.TrimPrefix(good, "$")},
		{"missing key", join(parts[:5]...)},
		{"extra field", good + "$abc"},
		{"version 16", join("", "argon2id", "v=16", parts[3], parts[4], parts[5])},
		{"version missing", join("", "argon2id", parts[3], parts[4], parts[5])},
		{"params reordered", join("", "argon2id", parts[2], "t=1,m=64,p=1", parts[4], parts[5])},
		{"params missing p", join("", "argon2id", parts[2], "m=64,t=1", parts[4], parts[5])},
		{"param leading zero", join("", "argon2id", parts[2], "m=064,t=1,p=1", parts[4], parts[5])},
		{"param sign", join("", "argon2id", parts[2], "m=+64,t=1,p=1", parts[4], parts[5])},
		{"param not a number", join("", "argon2id", parts[2], "m=x,t=1,p=1", parts[4], parts[5])},
		{"p overflows uint8", join("", "argon2id", parts[2], "m=4096,t=1,p=256", parts[4], parts[5])},
		{"t zero", join("", "argon2id", parts[2], "m=64,t=0,p=1", parts[4], parts[5])},
		{"memory too large", join("", "argon2id", parts[2], "m=4294967295,t=1,p=1", parts[4], parts[5])},
		{"memory below 8p", join("", "argon2id", parts[2], "m=8,t=1,p=2", parts[4], parts[5])},
		{"salt padded", join("", "argon2id", parts[2], parts[3], parts[4]+"==", parts[5])},
		{"salt bad char", join("", "argon2id", parts[2], parts[3], "!"+parts[4][1:], parts[5])},
		{"salt url alphabet", join("", "argon2id", parts[2], parts[3], "-_"+parts[4][2:], parts[5])},
		{"salt too short", join("", "argon2id", parts[2], parts[3], "c2FsdA", parts[5])},
		{"key truncated", join("", "argon2id", parts[2], parts[3], parts[4], parts[5][:20])},
		{"key empty", join("", "argon2id", parts[2], parts[3], parts[4], "")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := Verify("password", c.phc, testParams)
			if !errors.Is(err, ErrMalformedHash) || ok || rehash {
				t.Errorf("Verify(%q): got ok=%v rehash=%v err=%v, want false false ErrMalformedHash", c.phc, ok, rehash, err)
			}
		})
	}
}

func TestVerifyTamperedKey(t *testing.T) {
	t.Parallel()
	good, err := Hash("password", testParams)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndexByte(good, '$') + 1
	flip := byte('A')
	if good[i] == 'A' {
		flip = 'B'
	}
	tampered := good[:i] + string(flip) + good[i+1:]
	ok, _, err := Verify("password", tampered, testParams)
	if err != nil || ok {
		t.Errorf("Verify(tampered key): got ok=%v err=%v, want false nil", ok, err)
	}
}

func TestHashInvalidParams(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		p    Params
	}{
		{"zero", Params{}},
		{"no parallelism", Params{Memory: 64, Iterations: 1, SaltLen: 16, KeyLen: 32}},
		{"short salt", Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 4, KeyLen: 32}},
		{"short key", Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 8}},
		{"huge memory", Params{Memory: 1<<20 + 1, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}},
	}
	for _, c := range cases {
		if _, err := Hash("password", c.p); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("Hash(%s): got err %v, want ErrInvalidParams", c.name, err)
		}
		if _, err := NewHasher(c.p); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("NewHasher(%s): got err %v, want ErrInvalidParams", c.name, err)
		}
	}
}

func TestHasher(t *testing.T) {
	t.Parallel()
	h, err := NewHasher(testParams)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Params(); got != testParams {
		t.Errorf("Params: got %+v, want %+v", got, testParams)
	}
	phc, err := h.Hash("password")
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := h.Verify("password", phc); err != nil || !ok || rehash {
		t.Errorf("Verify: got ok=%v rehash=%v err=%v, want true false nil", ok, rehash, err)
	}
	if h.VerifyDummy("userd dummy password") {
		t.Errorf("VerifyDummy: got true, want false")
	}
	if !dbHashRegex.MatchString(h.dummy) {
		t.Errorf("dummy hash: got %q, want a valid PHC string", h.dummy)
	}
	if ok, _, err := Verify("userd dummy password", h.dummy, testParams); err != nil || !ok {
		t.Errorf("dummy hash: got ok=%v err=%v, want it verifiable with h's params", ok, err)
	}
}

func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("correct horse battery staple", DefaultParams); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	phc, err := Hash("correct horse battery staple", DefaultParams)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := Verify("correct horse battery staple", phc, DefaultParams); err != nil || !ok {
			b.Fatalf("Verify: got ok=%v err=%v, want true nil", ok, err)
		}
	}
}

func BenchmarkVerifyDummy(b *testing.B) {
	h, err := NewHasher(DefaultParams)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		h.VerifyDummy("correct horse battery staple")
	}
}
