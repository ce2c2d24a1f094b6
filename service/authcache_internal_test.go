package service

import (
	"testing"
	"time"
)

func TestBoundedKeepsItsBounds(t *testing.T) {
	t.Parallel()
	var evicted int
	b := newBounded[int, string](3, 100, func(int, string) { evicted++ })
	for i := range 10 {
		b.put(i, "v", 10)
	}
	if len(b.m) != 3 || b.bytes != 30 || evicted != 7 {
		t.Fatalf("by entries: got %d entries, %d bytes, %d evicted; want 3, 30, 7", len(b.m), b.bytes, evicted)
	}
	b.put(100, "big", 95)
	if len(b.m) != 1 || b.bytes != 95 {
		t.Fatalf("by bytes: got %d entries, %d bytes; want 1, 95", len(b.m), b.bytes)
	}
	b.put(101, "too big", 101)
	if _, ok := b.get(101); ok || b.bytes != 95 {
		t.Fatalf("an entry larger than the bound: stored %v, %d bytes", ok, b.bytes)
	}
	b.put(100, "again", 50)
	if len(b.m) != 1 || b.bytes != 50 {
		t.Fatalf("replaced: got %d entries, %d bytes; want 1, 50", len(b.m), b.bytes)
	}
}

func TestTokenVerdictEndsAtExpiryAndKeyChange(t *testing.T) {
	t.Parallel()
	c := newTokenCache(DefaultCacheConfig())
	now := time.Now()
	local := &verdict{expires: now.Add(time.Minute), access: Access{UserID: 1}}
	ext := &verdict{expires: now.Add(time.Minute), external: true, gen: 1}
	c.put([32]byte{1}, local)
	c.put([32]byte{2}, ext)
	if _, ok := c.get([32]byte{1}, now, 1); !ok {
		t.Fatal("a live verdict was not found")
	}
	if _, ok := c.get([32]byte{1}, now.Add(time.Minute), 1); ok {
		t.Fatal("a verdict was found at its token's exp")
	}
	if _, ok := c.get([32]byte{2}, now, 2); ok {
		t.Fatal("an external verdict was found under another key generation")
	}
	c.keysAre(2)
	if _, ok := c.m.get([32]byte{2}); ok {
		t.Fatal("a new key generation kept the external verdict")
	}
	if _, ok := c.get([32]byte{1}, now, 2); !ok {
		t.Fatal("a new key generation of the IdP dropped a verdict on userd's own token")
	}
}

func TestPrincipalPutAfterInvalidation(t *testing.T) {
	t.Parallel()
	cfg := DefaultCacheConfig()
	cfg.ListenerStale = time.Hour
	c := newPrincipalCache(cfg)
	k := principalKey{userID: 7, sessionID: 1}
	e := &principalEntry{user: User{ID: 7}}
	c.put(k, e, 0)
	if _, ok := c.get(k); ok {
		t.Fatal("stored while offline")
	}
	c.proved(time.Now())
	c.setOnline(true)
	gen, ok := c.generation()
	if !ok {
		t.Fatal("online cache says it is off")
	}
	c.invalidate(8) // another user: the read of 7 stays good
	c.put(k, e, gen)
	if _, ok := c.get(k); !ok {
		t.Fatal("an invalidation of another user refused the store")
	}
	gen, _ = c.generation()
	c.invalidate(7)
	c.put(k, e, gen)
	if _, ok := c.get(k); ok {
		t.Fatal("a read from before its user's invalidation was stored")
	}
	gen, _ = c.generation()
	for i := range recentInvalidations {
		c.invalidate(int64(1000 + i))
	}
	c.put(k, e, gen)
	if _, ok := c.get(k); ok {
		t.Fatal("a read older than the remembered invalidations was stored")
	}
	gen, _ = c.generation()
	c.put(k, e, gen)
	c.setOnline(false)
	if _, ok := c.get(k); ok {
		t.Fatal("an offline cache answered")
	}
	c.setOnline(true)
	if _, ok := c.get(k); ok {
		t.Fatal("the cache came back online with old entries")
	}
}

// TestPrincipalCacheNeedsProof: an online cache is used only while the
// listener's last heartbeat is less than ListenerStale old; a proof after
// a longer gap starts it again empty (changes in the gap may have been
// missed), one within it keeps the entries.
func TestPrincipalCacheNeedsProof(t *testing.T) {
	t.Parallel()
	cfg := DefaultCacheConfig()
	cfg.ListenerStale = time.Minute
	c := newPrincipalCache(cfg)
	k := principalKey{userID: 7, sessionID: 1}
	e := &principalEntry{user: User{ID: 7}}
	now := time.Now()
	c.proved(now.Add(-50 * time.Second))
	c.setOnline(true)
	gen, _ := c.generation()
	c.put(k, e, gen)
	if _, ok := c.get(k); !ok || !c.isOnline() {
		t.Fatal("a proven cache did not answer")
	}
	c.proved(now) // 50 s after the last proof: within ListenerStale
	if _, ok := c.get(k); !ok {
		t.Fatal("a proof within ListenerStale of the last one dropped the entries")
	}
	c.proved(now.Add(-2 * time.Minute)) // the last proof is now 2 min old
	if _, ok := c.get(k); ok || c.isOnline() {
		t.Fatal("a cache whose listener has not proved itself for 2 min answered")
	}
	if _, ok := c.generation(); ok {
		t.Fatal("an unproven cache would store reads")
	}
	c.proved(now) // after a gap of 2 min
	if _, ok := c.get(k); ok {
		t.Fatal("a proof after a stale gap kept the old entries")
	}
	if !c.isOnline() {
		t.Fatal("a freshly proven cache says it is off")
	}
}
