package service

import (
	"cmp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/userd/userd/idp"
)

// CacheConfig bounds the caches of the hot path: the verified-token cache
// of Auth and the principal cache of DB (OpenDB). A zero bound turns that
// cache off; the zero value turns both off (USERD_CACHE=off).
//
// Both are derived and bounded: a verified token is remembered at most
// until its exp and forgotten when its issuer's key set changes; a
// principal is remembered only while the change feed listens and is
// dropped when a write to its users, user_identities or sessions rows is
// announced (see OpenDB).
type CacheConfig struct {
	// Tokens and TokenBytes bound the verified-token cache: entries, and
	// their estimated memory.
	Tokens     int
	TokenBytes int
	// Principals and PrincipalBytes bound the principal cache likewise.
	Principals     int
	PrincipalBytes int
	// ListenerStale is how long the change listener may go without
	// proving its connection (a heartbeat round trip, every half of it)
	// before the principal cache is bypassed: a listener whose packets
	// are dropped while its socket stays open hears no change. 0: 2 s.
	ListenerStale time.Duration
}

// DefaultListenerStale is CacheConfig.ListenerStale when zero.
const DefaultListenerStale = 2 * time.Second

// DefaultCacheConfig is the configuration userd runs with unless
// USERD_CACHE=off: 100,000 tokens in 64 MiB, 100,000 principals in
// 128 MiB.
func DefaultCacheConfig() CacheConfig {
	return CacheConfig{Tokens: 100_000, TokenBytes: 64 << 20, Principals: 100_000, PrincipalBytes: 128 << 20}
}

// bounded is a map with at most max entries of at most maxBytes estimated
// bytes in all; putting beyond a bound evicts arbitrary entries (Go's map
// order), which costs nothing to keep and is fair enough for a cache whose
// entries are all equally cheap to make again. Its methods take no lock:
// its owner holds one.
type bounded[K comparable, V any] struct {
	m             map[K]sized[V]
	bytes         int
	max, maxBytes int
	onEvict       func(K, V)
}

type sized[V any] struct {
	v    V
	size int
}

func newBounded[K comparable, V any](maxEntries, maxBytes int, onEvict func(K, V)) *bounded[K, V] {
	return &bounded[K, V]{m: make(map[K]sized[V]), max: maxEntries, maxBytes: maxBytes, onEvict: onEvict}
}

func (b *bounded[K, V]) get(k K) (V, bool) {
	e, ok := b.m[k]
	return e.v, ok
}

// put stores v (of estimated size bytes) under k, evicting others to stay
// within the bounds; a v larger than all the memory is not stored.
func (b *bounded[K, V]) put(k K, v V, size int) {
	if size > b.maxBytes {
		return
	}
	b.remove(k)
	for k2 := range b.m {
		if len(b.m) < b.max && b.bytes+size <= b.maxBytes {
			break
		}
		e := b.m[k2]
		b.remove(k2)
		if b.onEvict != nil {
			b.onEvict(k2, e.v)
		}
	}
	b.m[k] = sized[V]{v: v, size: size}
	b.bytes += size
}

func (b *bounded[K, V]) remove(k K) {
	if e, ok := b.m[k]; ok {
		b.bytes -= e.size
		delete(b.m, k)
	}
}

func (b *bounded[K, V]) clear() {
	clear(b.m)
	b.bytes = 0
}

// verdict is what verifying a token established, kept under the token's
// SHA-256 until exp.
type verdict struct {
	expires time.Time
	// external: an IdP token, verified with key generation gen; its
	// claims, and the login they normalize to.
	external bool
	gen      uint64
	claims   idp.Claims
	login    externalLogin
	// access: a token of userd's own.
	access Access
}

// size estimates the memory a verdict holds.
func (v *verdict) size() int {
	n := 256 + len(v.claims.Subject) + len(v.claims.Email) + len(v.claims.Phone) + len(v.login.subject)
	for _, s := range []*string{v.login.email, v.login.phone, v.login.authMethod} {
		if s != nil {
			n += len(*s)
		}
	}
	return n
}

// tokenCache maps SHA-256(token) to its verdict. Only verified tokens are
// kept; a refused one is checked again each time.
type tokenCache struct {
	mu sync.RWMutex
	m  *bounded[[32]byte, *verdict]
	// gen is the external key generation the entries were last checked
	// against; a new one flushes every external entry. It is written
	// with mu held and read without, so that a request under unchanged
	// keys (all of them but the first after a rotation) takes no lock
	// for it.
	gen atomic.Uint64
}

func newTokenCache(cfg CacheConfig) *tokenCache {
	if cfg.Tokens <= 0 || cfg.TokenBytes <= 0 {
		return nil
	}
	return &tokenCache{m: newBounded[[32]byte, *verdict](cfg.Tokens, cfg.TokenBytes, nil)}
}

// get returns the live verdict of a token hash: not expired at now and,
// for an external token, verified with key generation gen (the one in use
// now).
func (c *tokenCache) get(k [32]byte, now time.Time, gen uint64) (*verdict, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	v, ok := c.m.get(k)
	c.mu.RUnlock()
	if !ok || !now.Before(v.expires) || (v.external && v.gen != gen) {
		return nil, false
	}
	return v, true
}

func (c *tokenCache) put(k [32]byte, v *verdict) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.m.put(k, v, v.size())
	c.mu.Unlock()
}

// keysAre records the external issuer's current key generation: when it
// differs from the last one recorded, every verdict on that issuer's
// tokens is dropped (a removed key stops verifying at once).
func (c *tokenCache) keysAre(gen uint64) {
	if c == nil {
		return
	}
	if c.gen.Load() == gen {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() == gen {
		return
	}
	c.gen.Store(gen)
	for k, e := range c.m.m {
		if e.v.external {
			c.m.remove(k)
		}
	}
}

// Memo holds one value derived from a cached principal's user (the HTTP
// layer keeps its JSON there), computed once and dropped with the entry.
type Memo struct {
	once sync.Once
	v    any
}

// Value returns the memo's value, computing it with make the first time.
// A nil Memo (a principal that was not cached) computes it every time.
func (m *Memo) Value(make func() any) any {
	if m == nil {
		return make()
	}
	m.once.Do(func() { m.v = make() })
	return m.v
}

// principalKey names a cached principal: an external identity (provider,
// subject), or a user and session of userd's own tokens.
type principalKey struct {
	provider, subject string
	userID, sessionID int64
}

// principalEntry is an immutable snapshot: the user, and for external
// identities the claims on record (IdentityGetUser), for sessions whether
// it was live and until when.
type principalEntry struct {
	user                       User
	memo                       *Memo
	identityEmail, identityPhn *string
	sessionLive                bool
	sessionExpires             time.Time
}

func (e *principalEntry) size() int {
	n := 1024 + len(e.user.Preferences) // the struct, its strings, the memo's JSON
	for _, s := range []*string{e.user.Username, e.user.Email, e.user.Bio, e.user.AvatarURL, e.user.City} {
		if s != nil {
			n += 2 * len(*s)
		}
	}
	return n
}

// principalCache keeps principals while the change feed listens, and
// drops a user's entries when the feed (or the writing connection itself)
// announces a change to that user. gen counts invalidations and recent
// remembers the last ones, so that a principal read from the database
// before its user's invalidation is not stored after it.
type principalCache struct {
	mu     sync.RWMutex
	m      *bounded[principalKey, *principalEntry]
	byUser map[int64][]principalKey
	gen    uint64
	recent [recentInvalidations]int64 // user of invalidation gen at gen%len; 0: all
	online bool
	// proven is when (UnixNano) the listener last proved its connection;
	// an entry is used only while that is less than stale ago.
	proven atomic.Int64
	stale  time.Duration
}

// recentInvalidations is how many invalidations a read may overlap and
// still be stored (if none was of its user).
const recentInvalidations = 256

func newPrincipalCache(cfg CacheConfig) *principalCache {
	if cfg.Principals <= 0 || cfg.PrincipalBytes <= 0 {
		return nil
	}
	c := &principalCache{byUser: make(map[int64][]principalKey), stale: cmp.Or(cfg.ListenerStale, DefaultListenerStale)}
	c.m = newBounded(cfg.Principals, cfg.PrincipalBytes, func(k principalKey, e *principalEntry) { c.unindex(k, e.user.ID) })
	return c
}

// get returns the cached principal of k, if the feed listens.
func (c *principalCache) get(k principalKey) (*principalEntry, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.live() {
		return nil, false
	}
	return c.m.get(k)
}

// live reports whether the cache may be used: the listener listens and
// proved its connection less than stale ago. The lock is held.
func (c *principalCache) live() bool {
	return c.online && time.Since(time.Unix(0, c.proven.Load())) < c.stale
}

// proved records that the listener's connection worked at t (a heartbeat
// sent then was answered). After a gap longer than stale, in which the
// cache was bypassed, it starts again empty.
func (c *principalCache) proved(t time.Time) {
	if c == nil {
		return
	}
	prev := c.proven.Swap(t.UnixNano())
	if t.Sub(time.Unix(0, prev)) >= c.stale {
		c.flush()
	}
}

// generation is read before the database is: put stores only if no
// invalidation of the user came in between (ok false: the cache is off or
// bypassed).
func (c *principalCache) generation() (gen uint64, ok bool) {
	if c == nil {
		return 0, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen, c.live()
}

// put stores e under k unless its user was invalidated (or everything
// was flushed) since generation gen.
func (c *principalCache) put(k principalKey, e *principalEntry, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live() || c.invalidatedSince(gen, e.user.ID) {
		return
	}
	if old, ok := c.m.get(k); ok {
		c.unindex(k, old.user.ID)
	}
	c.m.put(k, e, e.size())
	if _, ok := c.m.get(k); ok {
		c.byUser[e.user.ID] = append(c.byUser[e.user.ID], k)
	}
}

// invalidatedSince reports whether userID, or everyone, was invalidated
// after generation gen, or whether that is too long ago to know; the lock
// is held.
func (c *principalCache) invalidatedSince(gen uint64, userID int64) bool {
	if c.gen-gen >= recentInvalidations {
		return c.gen != gen
	}
	for g := gen + 1; g <= c.gen; g++ {
		if u := c.recent[g%recentInvalidations]; u == 0 || u == userID {
			return true
		}
	}
	return false
}

// unindex forgets k in its user's index; the lock is held.
func (c *principalCache) unindex(k principalKey, userID int64) {
	keys := c.byUser[userID]
	for i, x := range keys {
		if x == k {
			keys[i] = keys[len(keys)-1]
			keys = keys[:len(keys)-1]
			break
		}
	}
	if len(keys) == 0 {
		delete(c.byUser, userID)
	} else {
		c.byUser[userID] = keys
	}
}

// invalidate drops every entry of a user.
func (c *principalCache) invalidate(userID int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.recent[c.gen%recentInvalidations] = userID
	for _, k := range c.byUser[userID] {
		c.m.remove(k)
	}
	delete(c.byUser, userID)
}

// setOnline turns the cache on (the feed listens) or off (it does not:
// nothing is read or stored), flushing it either way.
func (c *principalCache) setOnline(online bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	c.online = online
}

// flush drops every entry.
func (c *principalCache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
}

func (c *principalCache) flushLocked() {
	c.gen++
	c.recent[c.gen%recentInvalidations] = 0
	c.m.clear()
	clear(c.byUser)
}

// listening reports whether the listener has said it listens (proven or
// not).
func (c *principalCache) listening() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.online
}

// isOnline reports whether the cache is in use: the listener listens
// and proved its connection less than stale ago.
func (c *principalCache) isOnline() bool {
	if c == nil {
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.live()
}
