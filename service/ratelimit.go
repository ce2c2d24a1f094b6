package service

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/phone"
)

// LoginLimits bound failed password checks. Failures are rows of
// login_failures, so the limits hold across any number of instances.
//
// An identifier (what was typed at login, canonicalized) is refused after
// PerIdentifier failures within Window, and a client address after PerIP
// failures within Window, whatever identifiers they were for. A refused
// attempt is not checked and not counted; it gets rate_limited with the
// seconds until enough failures have left the window. A successful login
// clears the failures of its identifier (not those of its address), except
// for a phone number: its key is shared by every number with the same last
// ten digits, so a success there removes only its own attempt, and
// someone who owns a look-alike number cannot reset a victim's count.
//
// The per-identifier limit is exact under concurrency: every attempt is
// recorded as a failure before its password is checked (and deleted when
// it succeeds), under a per-identifier advisory lock. The per-address
// limit counts only confirmed failures, so parallel attempts from one
// address may overshoot it by their number in flight. Behind a reverse
// proxy every client has the proxy's address: set PerIP to 0 there.
type LoginLimits struct {
	Window        time.Duration
	PerIdentifier int
	PerIP         int // 0: no per-address limit
}

// DefaultLoginLimits: 5 failures per identifier or 20 per address in 15
// minutes.
var DefaultLoginLimits = LoginLimits{Window: 15 * time.Minute, PerIdentifier: 5, PerIP: 20}

// pruneBatch bounds how many expired failures one failed login deletes.
const pruneBatch = 100

// loginKey is the login_failures key of an identifier typed at login:
// IdentifierHash of the email or username, and for anything that parses
// as a phone number the key of that number, so that every way of writing
// one number shares one limit; shared reports the phone case.
func loginKey(identifier, defaultRegion string) (key []byte, shared bool) {
	s := strings.TrimSpace(identifier)
	if !strings.Contains(s, "@") {
		if p, err := phone.Normalize(s, defaultRegion); err == nil {
			return phoneKey(p), true
		}
	}
	return IdentifierHash(s), false
}

// phoneKey keys a number by its last ten digits, which the fallback lookup
// matches on, so that a number written with another country prefix counts
// against the same limit.
func phoneKey(e164 string) []byte {
	if l := phone.Last10(e164); l != "" {
		return IdentifierHash(l)
	}
	return IdentifierHash(e164)
}

// userKey keys the password checks of a signed-in user (password change).
func userKey(userID int64) []byte {
	return IdentifierHash("user:" + strconv.FormatInt(userID, 10))
}

// loginKeys are the login_failures keys that name u alone: its user key,
// email and username (not its shared phone key).
func loginKeys(u dbgen.User) [][]byte {
	keys := [][]byte{userKey(u.ID)}
	if u.Email != nil {
		keys = append(keys, IdentifierHash(*u.Email))
	}
	if u.Username != nil {
		keys = append(keys, IdentifierHash(*u.Username))
	}
	// The phone key is left out: numbers with the same last ten digits
	// share it, so clearing it would reset other people's counts. Its rows
	// hold only a hash and leave the window within minutes.
	return keys
}

// loginAttempt is a password check recorded as a failure until it
// succeeds.
type loginAttempt struct {
	id     int64
	key    []byte
	shared bool // a phone key, shared by look-alike numbers
}

// beginAttempt refuses key or ip when they are over their limits, and
// otherwise records the attempt as a (pending) failure of key. ip may be
// the zero Addr.
// Errors: rate_limited, db_unavailable.
func (a *Accounts) beginAttempt(ctx context.Context, key []byte, shared bool, ip netip.Addr) (loginAttempt, error) {
	l := a.Limits
	window := l.Window.Seconds()
	return inTx(ctx, a.db, func(q *dbgen.Queries) (loginAttempt, error) {
		if err := q.LoginFailureLock(ctx, int64(binary.BigEndian.Uint64(key[:8]))); err != nil {
			return loginAttempt{}, err
		}
		secs, err := q.LoginFailureIdentifierRetryAfter(ctx, dbgen.LoginFailureIdentifierRetryAfterParams{
			WindowSeconds: window, IdentifierHash: key, Skip: int32(l.PerIdentifier - 1),
		})
		if err := limited(secs, err); err != nil {
			return loginAttempt{}, err
		}
		if l.PerIP > 0 && ip.IsValid() {
			ip = ip.Unmap()
			secs, err := q.LoginFailureIPRetryAfter(ctx, dbgen.LoginFailureIPRetryAfterParams{
				WindowSeconds: window, IP: &ip, Skip: int32(l.PerIP - 1),
			})
			if err := limited(secs, err); err != nil {
				return loginAttempt{}, err
			}
		}
		id, err := q.LoginFailureCreate(ctx, key)
		return loginAttempt{id: id, key: key, shared: shared}, err
	})
}

// limited turns the answer of a RetryAfter query into rate_limited (a row)
// or nil (no row).
func limited(secs int64, err error) error {
	if err != nil {
		if err = mapDBError(err); errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	return RateLimited(time.Duration(max(secs, 1)) * time.Second)
}

// failAttempt confirms a failed attempt, counting it against ip too, and
// prunes a batch of failures that left the window.
func (a *Accounts) failAttempt(ctx context.Context, at loginAttempt, ip netip.Addr) error {
	if ip.IsValid() {
		ip = ip.Unmap()
		if err := a.db.q.LoginFailureConfirm(ctx, dbgen.LoginFailureConfirmParams{ID: at.id, IP: &ip}); err != nil {
			return mapDBError(err)
		}
	}
	_, err := a.db.q.LoginFailurePrune(ctx, dbgen.LoginFailurePruneParams{WindowSeconds: a.Limits.Window.Seconds(), Batch: pruneBatch})
	return mapDBError(err)
}

// forgetAttempt removes an attempt that was not a failure.
func (a *Accounts) forgetAttempt(ctx context.Context, at loginAttempt) error {
	return mapDBError(a.db.q.LoginFailureDelete(ctx, at.id))
}
