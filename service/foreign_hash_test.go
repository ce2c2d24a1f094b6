package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/userd/userd/password"
	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
)

// TestLoginWithImportedHashes logs in to accounts whose password hash was
// made by another system's tools: a wrong password changes nothing, the
// right one signs in and replaces the stored hash with argon2id of the
// current parameters (read back from the row), after which the password
// still works.
func TestLoginWithImportedHashes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	db := service.NewDB(pool)
	hasher := newHasher(t, cheapParams)
	a := newAccountsWith(t, db, hasher)
	goBcrypt, err := bcrypt.GenerateFromPassword([]byte("bcrypt from Go"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ username, password, hash string }{
		// golang.org/x/crypto/bcrypt, as the apps that store bcrypt write it.
		{"imported_bcrypt", "bcrypt from Go", string(goBcrypt)},
		// pyca/bcrypt's test vector ($2b$, OpenBSD).
		{"imported_bcrypt_2b", "Kk4DQuMMfZL9o", "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm"},
		// Django tests/auth_tests/test_hashers.py test_pbkdf2 (Django 1.5's
		// iteration count); also base64(hashlib.pbkdf2_hmac("sha256",
		// "lètmein".encode(), b"seasalt", 10000)) in Python.
		{"imported_django", "lètmein", "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY="},
		// passlib's django_pbkdf2_sha1 vector.
		{"imported_django_sha1", "not a password", "pbkdf2_sha1$10000$wz5B6WkasRoF$atJmJ1o+XfJxKq1+Nu1f1i57Z5I="},
		// The argon2 reference implementation's src/test.c.
		{"imported_argon2i", "password", "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA"},
		{"imported_argon2id", "password", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	}
	stored := func(username string) string {
		var h string
		err := pool.QueryRow(ctx, `SELECT c.hash FROM password_credentials c JOIN users u ON u.id = c.user_id WHERE u.username = $1`, username).Scan(&h)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	for _, c := range cases {
		_, err := pool.Exec(ctx, `WITH u AS (INSERT INTO users (username) VALUES ($1) RETURNING id)
			INSERT INTO password_credentials (user_id, hash) SELECT id, $2 FROM u`, c.username, c.hash)
		if err != nil {
			t.Fatalf("%s: store the imported hash: %v", c.username, err)
		}
	}
	for _, c := range cases {
		t.Run(c.username, func(t *testing.T) {
			if _, err := a.Login(ctx, c.username, "x"+c.password, service.Client{}); !errors.Is(err, service.ErrInvalidCredentials) {
				t.Fatalf("wrong password: got %v, want invalid_credentials", err)
			}
			if got := stored(c.username); got != c.hash {
				t.Fatalf("a failed login changed the stored hash to %s", got)
			}
			runs := hasher.Runs()
			in, err := a.Login(ctx, c.username, c.password, service.Client{})
			if err != nil {
				t.Fatalf("login with the imported hash: %v", err)
			}
			if *in.User.Username != c.username {
				t.Fatalf("signed in as %v, want %s", in.User.Username, c.username)
			}
			// One run to check the foreign hash and one to make the new
			// one, both through the hasher (and so under the gate's slot).
			if got := hasher.Runs() - runs; got != 2 {
				t.Errorf("hash runs: got %d, want 2 (verify, rehash)", got)
			}
			h := stored(c.username)
			if s, err := password.Check(h); err != nil || s != password.Argon2id || !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
				t.Fatalf("after the first login: stored %s (%v), want argon2id with m=1024,t=1,p=1", h, err)
			}
			if _, err := a.Login(ctx, c.username, c.password, service.Client{}); err != nil {
				t.Fatalf("login with the new hash: %v", err)
			}
			if got := stored(c.username); got != h {
				t.Errorf("a second login changed the hash again: %s", got)
			}
		})
	}
}
