package service_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/userd/userd/password"
	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
	"github.com/userd/userd/signing"
)

const testPassword = "correct horse battery"

// cheapParams keep tests fast; benchmarks use password.DefaultParams.
var cheapParams = password.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func newAccounts(tb testing.TB, db *service.DB, p password.Params) *service.Accounts {
	tb.Helper()
	return newAccountsWith(tb, db, newHasher(tb, p))
}

func newHasher(tb testing.TB, p password.Params) *password.Hasher {
	tb.Helper()
	h, err := password.NewHasher(p)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// newAccountsWith is newAccounts with a hasher the test keeps.
func newAccountsWith(tb testing.TB, db *service.DB, hasher *password.Hasher) *service.Accounts {
	tb.Helper()
	keys, err := signing.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	return service.NewAccounts(db, service.AccountsConfig{
		Keys: keys, Hasher: hasher, Issuer: "http://userd.test", Audience: "userd",
		PublicURL: "http://userd.test", DefaultRegion: "IN",
		// Places for more callers than any burst here: these tests fire
		// bursts at the limits, which a full hashing queue would turn away
		// first (503 overloaded). The gate's bounds are tested in password
		// and httpapi.
		Gate: password.NewGate(password.GateConfig{Queue: 256}),
	})
}

func register(tb testing.TB, a *service.Accounts, username string) service.SignIn {
	tb.Helper()
	in, err := a.Register(context.Background(), service.Registration{Username: &username, Password: testPassword}, service.Client{})
	if err != nil {
		tb.Fatalf("register %s: %v", username, err)
	}
	return in
}

func TestLoginRehashesOutdatedPasswordHashes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	db := service.NewDB(pool)
	register(t, newAccounts(t, db, cheapParams), "rehash_me")
	stronger := cheapParams
	stronger.Memory = 2048
	a := newAccounts(t, db, stronger)
	hash := func() string {
		var h string
		if err := pool.QueryRow(ctx, `SELECT hash FROM password_credentials`).Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	before := hash()
	if _, err := a.Login(ctx, "rehash_me", "wrong password!", service.Client{}); !errors.Is(err, service.ErrInvalidCredentials) {
		t.Fatalf("wrong password: got %v, want invalid_credentials", err)
	}
	if hash() != before {
		t.Fatal("a failed login changed the stored hash")
	}
	if _, err := a.Login(ctx, "rehash_me", testPassword, service.Client{}); err != nil {
		t.Fatalf("login: %v", err)
	}
	if got := hash(); !strings.Contains(got, "m=2048,") {
		t.Fatalf("after login: got hash %s, want it made with m=2048", got)
	}
	if _, err := a.Login(ctx, "rehash_me", testPassword, service.Client{}); err != nil {
		t.Fatalf("login with the new hash: %v", err)
	}
}

func TestRateLimitIsExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAccounts(t, service.NewDB(pgtest.NewPool(t)), cheapParams)
	register(t, a, "hammered")
	var wg sync.WaitGroup
	errs := make([]error, 30)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = a.Login(ctx, "hammered", "wrong password!", service.Client{})
		}()
	}
	wg.Wait()
	counts := map[service.Code]int{}
	for _, err := range errs {
		e, ok := service.ErrorOf(err)
		if !ok {
			t.Fatalf("got %v, want a domain error", err)
		}
		counts[e.Code]++
	}
	if counts[service.CodeInvalidCredentials] != 5 || counts[service.CodeRateLimited] != 25 {
		t.Fatalf("30 concurrent wrong passwords: got %v, want 5 checked and 25 rate_limited", counts)
	}
}

func TestAccountSetupDevUsersIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	db := service.NewDB(pool)
	hasher := newHasher(t, cheapParams)
	first, err := service.SetupDevUsers(ctx, db, hasher)
	if err != nil || !first.Created {
		t.Fatalf("first run: got %+v, %v; want the user created", first, err)
	}
	// Someone changed the superuser meanwhile; a second run restores it.
	if _, err := pool.Exec(ctx, `UPDATE users SET role = 'user', is_active = false WHERE id = $1`, first.UserID); err != nil {
		t.Fatal(err)
	}
	second, err := service.SetupDevUsers(ctx, db, hasher)
	if err != nil || second.Created || second.UserID != first.UserID || second.OrganizationID != first.OrganizationID {
		t.Fatalf("second run: got %+v, %v; want the same user and organization, not created", second, err)
	}
	var role, org string
	var seed, orgAdmin bool
	if err := pool.QueryRow(ctx, `
		SELECT u.role, o.name, u.is_seed_data AND o.is_seed_data,
			EXISTS (SELECT 1 FROM user_permission_groups m JOIN permission_groups g ON g.id = m.group_id WHERE m.user_id = u.id AND g.name = 'org_admin')
		FROM users u JOIN organizations o ON o.id = u.organization_id WHERE u.id = $1`, first.UserID).Scan(&role, &org, &seed, &orgAdmin); err != nil {
		t.Fatal(err)
	}
	if role != "admin" || org != service.DevOrganization || !seed || !orgAdmin {
		t.Fatalf("got role %s org %q seed %v org_admin %v, want admin, %q, true, true", role, org, seed, orgAdmin, service.DevOrganization)
	}
	var orgs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM organizations`).Scan(&orgs); err != nil || orgs != 1 {
		t.Fatalf("got %d organizations (%v), want 1", orgs, err)
	}
	// The documented credentials work, below the password policy.
	a := newAccounts(t, db, cheapParams)
	for _, id := range []string{service.DevUsername, service.DevEmail} {
		in, err := a.Login(ctx, id, service.DevPassword, service.Client{})
		if err != nil || in.User.Role != "admin" {
			t.Fatalf("login as %s: got %+v, %v; want the admin", id, in.User, err)
		}
	}
}
