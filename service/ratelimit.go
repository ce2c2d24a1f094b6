package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/password"
	"github.com/userd/userd/phone"
)

// LoginLimits bound failed password checks. Failures are rows of
// login_failures, so the limits hold across any number of instances.
//
// Two hard limits answer rate_limited with the seconds until enough
// failures have left Window: PerIdentifierIP failures of one identifier
// (what was typed at login, canonicalized) from one client address, and
// PerIP failures from one address whatever identifiers they were for. An
// identifier alone is never locked: failures against it from every address
// together only slow its next attempts down, by one second after
// DelayAfter failures, doubling with each further one up to MaxDelay. So
// nobody can lock an owner out by failing from many addresses, and
// guessing from many addresses gets slower the longer it runs.
//
// Both limits are exact under concurrency: an attempt is recorded (a
// reserved failure) before its password is checked, under an advisory
// lock on the client address, and deleted when it succeeds. A successful
// login clears the failures of its identifier, except for a phone number:
// its key is shared by every number with the same last ten digits, so a
// success there removes only its own attempt, and someone who owns a
// look-alike number cannot reset a victim's count. Behind a reverse proxy
// every client has the proxy's address: set PerIP to 0 there.
type LoginLimits struct {
	Window          time.Duration
	PerIdentifierIP int // failures of one identifier from one address
	PerIP           int // failures from one address; 0: no per-address limit
	DelayAfter      int // failures of an identifier before its attempts slow down; 0: never
	MaxDelay        time.Duration
}

// DefaultLoginLimits: 5 failures per identifier and address or 20 per
// address in 15 minutes; after 5 failures of an identifier, each attempt
// waits 1 s, 2 s, 4 s … up to 10 s.
var DefaultLoginLimits = LoginLimits{Window: 15 * time.Minute, PerIdentifierIP: 5, PerIP: 20, DelayAfter: 5, MaxDelay: 10 * time.Second}

// pruneBatch bounds how many expired rows one call deletes.
const pruneBatch = 100

// keyed makes the keys of login_failures and rate_events: HMAC-SHA256
// under a secret derived from the signing key, so a stored key reveals
// nothing about the address, phone number or username it stands for (a
// plain hash of a phone number's last ten digits is a lookup table away).
// Rotating the signing key resets the counts.
type keyed struct{ secret []byte }

// of returns the key of a canonical string.
func (k keyed) of(s string) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// identifier keys a login identifier: trimmed and lower-cased.
func (k keyed) identifier(s string) []byte {
	return k.of("id:" + strings.ToLower(strings.TrimSpace(s)))
}

// ip keys a client address; nil for none.
func (k keyed) ip(ip netip.Addr) []byte {
	if !ip.IsValid() {
		return nil
	}
	return k.of("ip:" + ip.Unmap().String())
}

// loginKey is the login_failures key of an identifier typed at login: the
// key of the email or username, and for anything that parses as a phone
// number the key of that number, so that every way of writing one number
// shares one limit; shared reports the phone case.
func (k keyed) loginKey(identifier, defaultRegion string) (key []byte, shared bool) {
	s := strings.TrimSpace(identifier)
	if !strings.Contains(s, "@") {
		if p, err := phone.Normalize(s, defaultRegion); err == nil {
			return k.phone(p), true
		}
	} else if e, ok := NormalizeEmail(s); ok {
		s = e // every spelling of an address counts against one limit
	}
	return k.identifier(s), false
}

// phone keys a number by its last ten digits, which the fallback lookup
// matches on, so that a number written with another country prefix counts
// against the same limit.
func (k keyed) phone(e164 string) []byte {
	if l := phone.Last10(e164); l != "" {
		return k.identifier(l)
	}
	return k.identifier(e164)
}

// user keys the password checks of a signed-in user (password change).
func (k keyed) user(userID int64) []byte {
	return k.of("user:" + strconv.FormatInt(userID, 10))
}

// loginKeys are the login_failures keys that name u alone: its user key,
// email and username (not its shared phone key; failures recorded against
// u through it carry u's id).
func (k keyed) loginKeys(u dbgen.User) [][]byte {
	keys := [][]byte{k.user(u.ID)}
	if u.Email != nil {
		keys = append(keys, k.identifier(*u.Email))
	}
	if u.Username != nil {
		keys = append(keys, k.identifier(*u.Username))
	}
	return keys
}

// lockKey is an advisory lock key taken from a 32-byte key.
func lockKey(key []byte) int64 { return int64(binary.BigEndian.Uint64(key[:8])) }

// loginAttempt is a password check recorded as a failure until it
// succeeds.
type loginAttempt struct {
	id     int64
	key    []byte
	shared bool // a phone key, shared by look-alike numbers
}

// beginAttempt refuses the attempt when key from ip, or ip, is over its
// limit, and otherwise records it as a (reserved) failure of key, then
// waits out the identifier's delay. ip may be the zero Addr. The hashing
// place (nil: none) is given back during the delay and taken again after
// it, so attempts that wait their delay cannot fill the hashing queue; the
// delay does not count against ctx's database budget (DBBudget).
// Errors: rate_limited, db_unavailable, ctx's error while waiting,
// overloaded when no place is free after the delay (the attempt is then
// taken back).
func (a *Accounts) beginAttempt(ctx context.Context, key []byte, shared bool, ip netip.Addr, place *password.Ticket) (loginAttempt, error) {
	l := a.Limits
	window := l.Window.Seconds()
	ipKey := a.keys.ip(ip)
	if l.PerIP <= 0 {
		// Without a per-address limit the address only splits the
		// per-identifier count, which then cannot be trusted: count the
		// identifier alone.
		ipKey = nil
	}
	type reserved struct {
		at    loginAttempt
		delay time.Duration
	}
	res, err := inTxV(ctx, a.db, func(q *dbgen.Queries) (reserved, error) {
		lock := key
		if ipKey != nil {
			lock = ipKey
		}
		if err := q.LoginFailureLock(ctx, lockKey(lock)); err != nil {
			return reserved{}, err
		}
		secs, err := q.LoginFailurePairRetryAfter(ctx, dbgen.LoginFailurePairRetryAfterParams{
			WindowSeconds: window, IdentifierHash: key, IpHash: ipKey, Skip: int32(l.PerIdentifierIP - 1),
		})
		if err := limited(secs, err); err != nil {
			return reserved{}, err
		}
		if ipKey != nil {
			secs, err := q.LoginFailureIPRetryAfter(ctx, dbgen.LoginFailureIPRetryAfterParams{
				WindowSeconds: window, IpHash: ipKey, Skip: int32(l.PerIP - 1),
			})
			if err := limited(secs, err); err != nil {
				return reserved{}, err
			}
		}
		var delay time.Duration
		if l.DelayAfter > 0 {
			n, err := q.LoginFailureCountRecent(ctx, dbgen.LoginFailureCountRecentParams{
				IdentifierHash: key, WindowSeconds: window, Cap: int32(l.DelayAfter + 32),
			})
			if err != nil {
				return reserved{}, err
			}
			delay = loginDelay(int(n), l)
		}
		id, err := q.LoginFailureCreate(ctx, dbgen.LoginFailureCreateParams{IdentifierHash: key, IpHash: ipKey})
		if err != nil {
			return reserved{}, err
		}
		if _, err := q.LoginFailurePrune(ctx, dbgen.LoginFailurePruneParams{WindowSeconds: window, Batch: pruneBatch}); err != nil {
			return reserved{}, err
		}
		return reserved{at: loginAttempt{id: id, key: key, shared: shared}, delay: delay}, nil
	})
	if err != nil {
		return loginAttempt{}, err
	}
	if res.delay > 0 {
		if place != nil {
			place.Cancel()
		}
		t := time.NewTimer(res.delay)
		defer t.Stop()
		resume := pauseDB(ctx) // the delay is no database time
		select {
		case <-t.C:
			resume()
		case <-ctx.Done():
			resume()
			// The reservation stays a failure: an attempt given up while
			// waiting must not be free.
			return loginAttempt{}, ctx.Err()
		}
		if place != nil {
			if err := place.Rejoin(); err != nil {
				// Not checked, so not a failure: the attempt is taken back.
				return loginAttempt{}, errors.Join(withCause(ErrOverloaded, err), a.forgetAttempt(context.WithoutCancel(ctx), res.at))
			}
		}
	}
	return res.at, nil
}

// loginDelay is the wait before checking a password of an identifier that
// failed n times within the window (not counting this attempt).
func loginDelay(n int, l LoginLimits) time.Duration {
	if l.DelayAfter <= 0 || n < l.DelayAfter {
		return 0
	}
	d := time.Second << min(n-l.DelayAfter, 20)
	return min(d, l.MaxDelay)
}

// limited turns the answer of a RetryAfter query into rate_limited (a row)
// or nil (no row).
func limited(secs int64, err error) error {
	if err != nil {
		if noRows(err) {
			return nil
		}
		return err
	}
	return RateLimited(time.Duration(max(secs, 1)) * time.Second)
}

// failAttempt confirms a failed attempt, recording whose account it was
// against (0: none), so that deleting the account deletes it.
func (a *Accounts) failAttempt(ctx context.Context, at loginAttempt, userID int64) error {
	if userID == 0 {
		return nil
	}
	return a.db.q.LoginFailureSetUser(ctx, dbgen.LoginFailureSetUserParams{ID: at.id, UserID: &userID})
}

// forgetAttempt removes an attempt that was not a failure.
func (a *Accounts) forgetAttempt(ctx context.Context, at loginAttempt) error {
	return a.db.q.LoginFailureDelete(ctx, at.id)
}

// rateLimit is one fixed-window limit kept in rate_events.
type rateLimit struct {
	bucket string
	limit  int
	window time.Duration
}

// take records one event of key in l's bucket when it is under the limit,
// and reports whether it was, in q's transaction. Checks of one key run one
// at a time (advisory lock), so the limit is exact across instances.
func take(ctx context.Context, q *dbgen.Queries, l rateLimit, key []byte) (ok bool, retryAfter time.Duration, err error) {
	if err := q.RateEventLock(ctx, lockKey(key)); err != nil {
		return false, 0, err
	}
	secs, err := q.RateEventRetryAfter(ctx, dbgen.RateEventRetryAfterParams{
		Bucket: l.bucket, KeyHash: key, WindowSeconds: l.window.Seconds(), Skip: int32(l.limit - 1),
	})
	if err := limited(secs, err); err != nil {
		if e, ok := ErrorOf(err); ok && e.Code == CodeRateLimited {
			return false, e.RetryAfter, nil
		}
		return false, 0, err
	}
	if err := q.RateEventInsert(ctx, dbgen.RateEventInsertParams{Bucket: l.bucket, KeyHash: key}); err != nil {
		return false, 0, err
	}
	_, err = q.RateEventPrune(ctx, pruneBatch)
	return true, 0, err
}

// takeAlone is take in a transaction of its own: rate_limited, with the
// wait, when key is at l's limit.
// Errors: rate_limited, db_unavailable.
func takeAlone(ctx context.Context, db *DB, l rateLimit, key []byte) error {
	retry, err := inTxV(ctx, db, func(q *dbgen.Queries) (time.Duration, error) {
		_, retry, err := take(ctx, q, l, key)
		return retry, err
	})
	if err != nil {
		return err
	}
	if retry > 0 {
		return RateLimited(retry)
	}
	return nil
}

// SignupLimits bound registrations and forgot-password requests per
// client address: each registration costs an argon2id run and each
// forgot-password request may cost a mail. They are events of the
// "signup_ip" bucket of rate_events, so the limit holds across instances
// and is exact under concurrency (see take). Every attempt that passes
// validation counts, whatever its outcome.
type SignupLimits struct {
	Window time.Duration
	PerIP  int // 0: no limit
}

// spendAddress refuses ip when it made PerIP attempts within the window,
// and otherwise records one more. An unknown address is not limited.
// Errors: rate_limited, db_unavailable.
func (a *Accounts) spendAddress(ctx context.Context, ip netip.Addr) error {
	l := a.Signups
	if l.PerIP <= 0 || !ip.IsValid() {
		return nil
	}
	return takeAlone(ctx, a.db, rateLimit{bucket: "signup_ip", limit: l.PerIP, window: l.Window}, a.keys.ip(ip))
}
