package password

import (
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// foreignVectors are hashes made by other systems' own tools, each with
// its password and where it comes from.
var foreignVectors = []struct {
	name, password, hash string
	scheme               Scheme
}{
	// pyca/bcrypt tests/test_bcrypt.py (OpenBSD bcrypt).
	{"bcrypt 2b pyca", "Kk4DQuMMfZL9o", "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm", Bcrypt},
	// Openwall crypt_blowfish wrapper.c test vectors: $2y$ (PHP) and the
	// 72-byte limit every bcrypt applies.
	{"bcrypt 2a openwall", "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", Bcrypt},
	{"bcrypt 2y openwall", "\xa3", "$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq", Bcrypt},
	{
		"bcrypt 2a openwall 72 bytes",
		"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored",
		"$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui", Bcrypt,
	},
	// Django tests/auth_tests/test_hashers.py, test_pbkdf2: make_password(
	// "lètmein", "seasalt", "pbkdf2_sha256") with Django 1.5's 10000
	// iterations, and with Django 5.1's 870000. Both also recomputed with
	// Python's hashlib: base64.b64encode(hashlib.pbkdf2_hmac("sha256",
	// "lètmein".encode(), b"seasalt", 10000)).
	{"django pbkdf2_sha256 1.5", "lètmein", "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=", PBKDF2SHA256},
	{"django pbkdf2_sha256 5.1", "lètmein", "pbkdf2_sha256$870000$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=", PBKDF2SHA256},
	// passlib tests (django_pbkdf2_sha1 known_correct_hashes); recomputed
	// with hashlib.pbkdf2_hmac("sha1", b"not a password", b"wz5B6WkasRoF", 10000).
	{"django pbkdf2_sha1 passlib", "not a password", "pbkdf2_sha1$10000$wz5B6WkasRoF$atJmJ1o+XfJxKq1+Nu1f1i57Z5I=", PBKDF2SHA1},
	// The reference implementation's src/test.c (phc-winner-argon2).
	{"argon2i reference", "password", "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA", Argon2i},
	{"argon2id reference", "password", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", Argon2id},
}

func TestVerifyForeignVectors(t *testing.T) {
	t.Parallel()
	for _, v := range foreignVectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			if s, err := Check(v.hash); err != nil || s != v.scheme {
				t.Fatalf("Check: got %q, %v; want %q, nil", s, err, v.scheme)
			}
			ok, rehash, err := Verify(v.password, v.hash, DefaultParams)
			if err != nil || !ok || !rehash {
				t.Errorf("Verify(right password): got ok=%v rehash=%v err=%v, want true true nil", ok, rehash, err)
			}
			ok, rehash, err = Verify("x"+v.password, v.hash, DefaultParams)
			if err != nil || ok || rehash {
				t.Errorf("Verify(wrong password): got ok=%v rehash=%v err=%v, want false false nil", ok, rehash, err)
			}
		})
	}
}

// TestVerifyBcrypt72Bytes: bcrypt reads the first 72 bytes of a password,
// in every implementation, so whatever follows them does not matter.
func TestVerifyBcrypt72Bytes(t *testing.T) {
	t.Parallel()
	const hash = "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui" // Openwall crypt_blowfish
	const first72 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for _, pw := range []string{first72, first72 + "anything else"} {
		if ok, _, err := Verify(pw, hash, DefaultParams); err != nil || !ok {
			t.Errorf("Verify(%q): got ok=%v err=%v, want true nil", pw, ok, err)
		}
	}
	if ok, _, err := Verify(first72[:71], hash, DefaultParams); err != nil || ok {
		t.Errorf("Verify(71 bytes): got ok=%v err=%v, want false nil", ok, err)
	}
}

// TestVerifyBcryptFromGo checks hashes made by golang.org/x/crypto/bcrypt,
// under each of the three prefixes (one algorithm: $2a$ is what the
// package writes; $2b$ and $2y$ name the same computation).
func TestVerifyBcryptFromGo(t *testing.T) {
	t.Parallel()
	const pw = "pässwörd from another app"
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		hash := prefix + string(h[4:])
		if ok, rehash, err := Verify(pw, hash, DefaultParams); err != nil || !ok || !rehash {
			t.Errorf("Verify(%s): got ok=%v rehash=%v err=%v, want true true nil", hash, ok, rehash, err)
		}
		if ok, _, err := Verify("wrong", hash, DefaultParams); err != nil || ok {
			t.Errorf("Verify(%s, wrong): got ok=%v err=%v, want false nil", hash, ok, err)
		}
	}
}

func TestCheckRefusesOtherHashes(t *testing.T) {
	t.Parallel()
	good := "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm"
	django := "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY="
	for name, h := range map[string]string{
		"empty":                 "",
		"plain text":            "hunter2",
		"md5 crypt":             "$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0",
		"sha512 crypt":          "$6$rounds=5000$usesomesillystri$D4IrlXatmP7rx3P3InaxBeoomnAihCKRVQP22JZ6EY47Wc6BkroIuUUBOov1i.S5KPgErtP/EN5mcO.ChWQW21",
		"django unsalted md5":   "md5$$5f4dcc3b5aa765d61d8327deb882cf99",
		"django bcrypt_sha256":  "bcrypt_sha256$$2b$12$LZSJchsWG/DrBy1erNs4eeYo6tZNlLFQmONdxN9HPesa1EyXVcTXK",
		"django sha1":           "sha1$seasalt$cff36ea83f5706ce9aa7454e63e431fc726b2dc8",
		"django pbkdf2_sha512":  "pbkdf2_sha512$10000$seasalt$AAAA",
		"argon2d":               "$argon2d$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$Hl6uH5u2Bx9QA6LiWdqzkzCZD0dw6Y9V6nhuB1z0zgs",
		"argon2i version 16":    "$argon2i$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ",
		"bcrypt 2x":             "$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e",
		"bcrypt 2":              "$2$05$" + good[7:],
		"bcrypt short":          good[:59],
		"bcrypt long":           good + "A",
		"bcrypt cost 3":         "$2b$03$" + good[7:],
		"bcrypt cost 17":        "$2b$17$" + good[7:],
		"bcrypt cost letters":   "$2b$ab$" + good[7:],
		"bcrypt cost signed":    "$2b$+7$" + good[7:],
		"bcrypt bad char":       good[:20] + "+" + good[21:],
		"django no salt":        "pbkdf2_sha256$10000$$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
		"django salt space":     "pbkdf2_sha256$10000$sea salt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
		"django zero iter":      "pbkdf2_sha256$0$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
		"django huge iter":      "pbkdf2_sha256$99999999$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
		"django leading zero":   "pbkdf2_sha256$010000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
		"django short key":      "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kv==",
		"django sha1 key sized": "pbkdf2_sha1$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=",
		"django unpadded":       "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY",
		"django extra field":    django + "$x",
	} {
		if s, err := Check(h); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Check(%s %q): got %q, %v; want ErrMalformedHash", name, h, s, err)
		}
		if ok, rehash, err := Verify("lètmein", h, DefaultParams); !errors.Is(err, ErrMalformedHash) || ok || rehash {
			t.Errorf("Verify(%s): got ok=%v rehash=%v err=%v, want false false ErrMalformedHash", name, ok, rehash, err)
		}
	}
}

// TestForeignHashesMatchTheDBCheck holds every accepted vector against the
// CHECK constraint of password_credentials.hash (foreignHashRegex), and a
// hash Check refuses against it too.
func TestForeignHashesMatchTheDBCheck(t *testing.T) {
	t.Parallel()
	for _, v := range foreignVectors {
		if !dbHashRegex.MatchString(v.hash) {
			t.Errorf("%s: %q does not match the DB CHECK", v.name, v.hash)
		}
	}
	if dbHashRegex.MatchString("$6$rounds=5000$usesomesillystri$D4IrlXatmP7rx3P3InaxBeoomnAihCKRVQP22JZ6EY47Wc6BkroIuUUBOov1i.S5KPgErtP/EN5mcO.ChWQW21") {
		t.Error("the DB CHECK accepts a sha512-crypt hash")
	}
}

func FuzzCheck(f *testing.F) {
	for _, v := range foreignVectors {
		f.Add(v.hash)
	}
	f.Fuzz(func(t *testing.T, h string) {
		s, err := Check(h)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Check(%q): error %v does not wrap ErrMalformedHash", h, err)
			}
			return
		}
		if !dbHashRegex.MatchString(h) {
			t.Fatalf("Check(%q) = %q, but the DB CHECK refuses it", h, s)
		}
	})
}
