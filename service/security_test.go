package service_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/userd/userd/password"
	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
	"github.com/userd/userd/signing"
)

// codes tallies the domain error codes of errs ("" for nil).
func codes(t *testing.T, errs []error) map[service.Code]int {
	t.Helper()
	out := map[service.Code]int{}
	for _, err := range errs {
		if err == nil {
			out[""]++
			continue
		}
		e, ok := service.ErrorOf(err)
		if !ok {
			t.Fatalf("got %v, want a domain error", err)
		}
		out[e.Code]++
	}
	return out
}

// 100 parallel failures from one address against a limit of 20: exactly
// 20 are checked, because each attempt reserves its slot before checking.
func TestPerAddressLimitExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAccounts(t, service.NewDB(pgtest.NewPool(t)), cheapParams)
	client := service.Client{IP: netip.MustParseAddr("203.0.113.7")}
	errs := make([]error, 100)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Distinct identifiers: only the per-address limit applies.
			_, errs[i] = a.Login(ctx, fmt.Sprintf("guess%d@example.com", i), "wrong password!", client)
		}()
	}
	wg.Wait()
	if got := codes(t, errs); got[service.CodeInvalidCredentials] != 20 || got[service.CodeRateLimited] != 80 {
		t.Fatalf("100 parallel failures from one address: got %v, want 20 invalid_credentials and 80 rate_limited", got)
	}
	// Another address is not affected.
	if _, err := a.Login(ctx, "guess0@example.com", "wrong password!", service.Client{IP: netip.MustParseAddr("198.51.100.1")}); !errors.Is(err, service.ErrInvalidCredentials) {
		t.Fatalf("from another address: got %v, want invalid_credentials", err)
	}
}

// Five failures from each of five addresses do not lock the owner out:
// the hard limit is per identifier and address; the identifier as a whole
// only slows down.
func TestNoLockoutFromManyAddresses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAccounts(t, service.NewDB(pgtest.NewPool(t)), cheapParams)
	// Only attempts after the 25 failures below wait (1 s), so the test
	// does not sit through twenty delays.
	const delay = time.Second
	a.Limits.DelayAfter = 25
	register(t, a, "victim")
	addr := func(i int) service.Client {
		return service.Client{IP: netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})}
	}
	for i := range 5 {
		for range 5 {
			if _, err := a.Login(ctx, "victim", "wrong password!", addr(i)); !errors.Is(err, service.ErrInvalidCredentials) {
				t.Fatalf("failure from address %d: got %v, want invalid_credentials", i, err)
			}
		}
		// A sixth from the same address hits the hard limit.
		if _, err := a.Login(ctx, "victim", "wrong password!", addr(i)); !isCode(err, service.CodeRateLimited) {
			t.Fatalf("sixth failure from address %d: got %v, want rate_limited", i, err)
		}
	}
	// The owner, from their own address, gets in, after the identifier's
	// delay.
	start := time.Now()
	if _, err := a.Login(ctx, "victim", testPassword, addr(100)); err != nil {
		t.Fatalf("owner after 25 failures from 5 addresses: got %v, want a sign-in", err)
	}
	if took := time.Since(start); took < delay {
		t.Fatalf("owner's login took %v, want the identifier's delay of at least %v", took, delay)
	}
	// The success cleared the identifier: no delay any more.
	start = time.Now()
	if _, err := a.Login(ctx, "victim", testPassword, addr(100)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= delay {
		t.Fatalf("second login took %v, want no delay after a success", took)
	}
}

func TestLoginDelayGrows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newAccounts(t, service.NewDB(pgtest.NewPool(t)), cheapParams)
	a.Limits.DelayAfter, a.Limits.MaxDelay = 2, 10*time.Second
	// From a new address each time: only the identifier's count grows.
	var took []time.Duration
	for i := range 5 {
		start := time.Now()
		_, err := a.Login(ctx, "slow@example.com", "wrong password!", service.Client{IP: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})})
		if !errors.Is(err, service.ErrInvalidCredentials) {
			t.Fatalf("attempt %d: got %v, want invalid_credentials", i, err)
		}
		took = append(took, time.Since(start))
	}
	// No delay for the first two; then 1 s, 2 s, 4 s.
	for i, min := range []time.Duration{0, 0, time.Second, 2 * time.Second, 4 * time.Second} {
		if took[i] < min {
			t.Errorf("attempt %d took %v, want at least %v", i, took[i], min)
		}
	}
	if took[1] >= time.Second {
		t.Errorf("attempt 1 took %v, want no delay yet", took[1])
	}
	// A caller that gives up while waiting still spent the attempt.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := a.Login(short, "slow@example.com", testPassword, service.Client{IP: netip.MustParseAddr("192.0.2.200")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled while waiting: got %v, want the context's error", err)
	}
}

// login_failures keeps no plain hash of what was typed, nor the address,
// and an account's deletion removes the failures recorded against it.
func TestLoginFailuresKeyedAndErased(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	db := service.NewDB(pool)
	a := newAccounts(t, db, cheapParams)
	tel := "+919876543210"
	in, err := a.Register(ctx, service.Registration{Phone: &tel, Password: testPassword}, service.Client{})
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("203.0.113.9")
	for _, typed := range []string{"9876543210", "+91 98765 43210"} {
		if _, err := a.Login(ctx, typed, "wrong password!", service.Client{IP: ip}); !errors.Is(err, service.ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	plain := [][]byte{}
	for _, s := range []string{"9876543210", "+919876543210", "203.0.113.9", "ip:203.0.113.9"} {
		h := sha256.Sum256([]byte(s))
		plain = append(plain, h[:])
	}
	var n, leaked int
	if err := pool.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE identifier_hash = ANY($1) OR ip_hash = ANY($1))
		FROM login_failures WHERE user_id = $2`, plain, in.User.ID).Scan(&n, &leaked); err != nil {
		t.Fatal(err)
	}
	if n != 2 || leaked != 0 {
		t.Fatalf("got %d failures against the user, %d of them plain SHA-256 keys; want 2 and 0", n, leaked)
	}
	if err := service.NewUsers(db, "IN", "").Delete(ctx, as(in.User.ID), in.User.ID); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM login_failures`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after deleting the account: got %d failures (%v), want 0", n, err)
	}
	// Failures that left the window are pruned by the next attempt.
	if _, err := a.Login(ctx, "someone", "wrong password!", service.Client{IP: ip}); !errors.Is(err, service.ErrInvalidCredentials) {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE login_failures SET created_at = now() - interval '16 minutes'`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Login(ctx, "someone.else", "wrong password!", service.Client{IP: ip}); !errors.Is(err, service.ErrInvalidCredentials) {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM login_failures WHERE created_at < now() - interval '15 minutes'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("got %d expired failures (%v), want them pruned", n, err)
	}
}

// A reset with a token that does not exist costs no argon2id run.
func TestResetLooksUpTokenBeforeHashing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys, err := signing.Generate()
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.NewHasher(cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	a := service.NewAccounts(service.NewDB(pgtest.NewPool(t)), service.AccountsConfig{
		Keys: keys, Hasher: hasher, Issuer: "http://userd.test", Audience: "userd", PublicURL: "http://userd.test", DefaultRegion: "IN",
	})
	before := hasher.Runs()
	bogus := strings.Repeat("A", 43) // the form of a token, unknown
	if err := a.ResetPassword(ctx, bogus, "a perfectly fine passphrase"); !errors.Is(err, service.ErrInvalidToken) {
		t.Fatalf("unknown token: got %v, want invalid_token", err)
	}
	if got := hasher.Runs() - before; got != 0 {
		t.Fatalf("a reset with an unknown token ran argon2id %d times, want 0", got)
	}
}
