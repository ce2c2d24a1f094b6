package service_test

import (
	"context"
	crand "crypto/rand"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/userd/userd/dburl"
	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
)

// socialFixture is the social service (and users, for deletes) over a
// fresh database.
type socialFixture struct {
	*fixture
	social *service.Social
}

func newSocialFixture(t *testing.T) *socialFixture {
	t.Helper()
	f := newFixture(t)
	key := make([]byte, 32)
	_, _ = crand.Read(key)
	return &socialFixture{fixture: f, social: service.NewSocial(service.NewDB(f.pool), key)}
}

// trueCounts is what the counters must say: the rows of follows.
func (f *socialFixture) trueCounts(id int64) service.FollowStats {
	f.t.Helper()
	return service.FollowStats{
		Followers: int64(f.count("SELECT count(*) FROM follows WHERE followee_id = $1", id)),
		Following: int64(f.count("SELECT count(*) FROM follows WHERE follower_id = $1", id)),
	}
}

// stats reads id's counters as an admin would (no visibility rule).
func (f *socialFixture) stats(id int64) service.FollowStats {
	f.t.Helper()
	s, err := f.social.Stats(context.Background(), asUser(service.User{ID: -1, Role: "admin"}), id)
	if err != nil {
		f.t.Fatalf("stats of %d: %v", id, err)
	}
	return s
}

func (f *socialFixture) mismatches() int64 {
	f.t.Helper()
	n, err := f.social.CounterMismatches(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestFollowRules(t *testing.T) {
	t.Parallel()
	f := newSocialFixture(t)
	ctx := context.Background()
	alice, bob := f.mkUser(userSpec{}), f.mkUser(userSpec{})
	inactive := f.mkUser(userSpec{inactive: true})
	deleted := f.mkUser(userSpec{})
	if err := f.users.Delete(ctx, as(deleted), deleted); err != nil {
		t.Fatal(err)
	}
	blocker, blockedByAlice := f.mkUser(userSpec{}), f.mkUser(userSpec{})
	f.exec("INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2), ($3, $4)", blocker, alice, alice, blockedByAlice)

	for _, tc := range []struct {
		name   string
		target int64
		op     func(context.Context, service.Principal, int64) error
		want   service.Code
	}{
		{"follow self", alice, f.social.Follow, service.CodeValidation},
		{"unfollow self", alice, f.social.Unfollow, service.CodeValidation},
		{"block self", alice, f.social.Block, service.CodeValidation},
		{"unblock self", alice, f.social.Unblock, service.CodeValidation},
		{"follow unknown", 1 << 40, f.social.Follow, service.CodeNotFound},
		{"follow deleted", deleted, f.social.Follow, service.CodeNotFound},
		{"follow inactive", inactive, f.social.Follow, service.CodeNotFound},
		{"block inactive", inactive, f.social.Block, service.CodeNotFound},
		{"unfollow deleted", deleted, f.social.Unfollow, service.CodeNotFound},
		{"follow who blocks you", blocker, f.social.Follow, service.CodeBlocked},
		{"follow whom you block", blockedByAlice, f.social.Follow, service.CodeBlocked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.op(ctx, as(alice), tc.target), tc.want)
		})
	}
	if n := f.count("SELECT count(*) FROM follows"); n != 0 {
		t.Fatalf("refused requests left %d follows, want 0", n)
	}
	if n := f.count("SELECT count(*) FROM blocks"); n != 2 {
		t.Fatalf("refused requests left %d blocks, want the 2 of the setup", n)
	}

	// A deleted or disabled actor cannot act (a token checked moments
	// before the account went).
	wantCode(t, f.social.Follow(ctx, as(deleted), bob), service.CodeAccountDisabled)
	wantCode(t, f.social.Follow(ctx, as(inactive), bob), service.CodeAccountDisabled)

	// Idempotent: following twice is one follow, unfollowing a stranger
	// changes nothing.
	for range 2 {
		if err := f.social.Follow(ctx, as(alice), bob); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := f.stats(bob), (service.FollowStats{Followers: 1}); got != want {
		t.Fatalf("bob after two follows: got %+v, want %+v", got, want)
	}
	if got, want := f.stats(alice), (service.FollowStats{Following: 1}); got != want {
		t.Fatalf("alice after two follows: got %+v, want %+v", got, want)
	}
	if err := f.social.Unfollow(ctx, as(bob), alice); err != nil {
		t.Fatalf("unfollow a stranger: %v", err)
	}
	if got, want := f.stats(alice), (service.FollowStats{Following: 1}); got != want {
		t.Fatalf("alice after bob unfollowed a stranger: got %+v, want %+v", got, want)
	}
	for range 2 {
		if err := f.social.Unfollow(ctx, as(alice), bob); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.stats(bob); got != (service.FollowStats{}) {
		t.Fatalf("bob after unfollow: got %+v, want zeros", got)
	}
	if n := f.mismatches(); n != 0 {
		t.Fatalf("got %d users with counters off, want 0", n)
	}
}

func TestBlockRemovesFollowsBothWays(t *testing.T) {
	t.Parallel()
	f := newSocialFixture(t)
	ctx := context.Background()
	alice, bob, carol := f.mkUser(userSpec{}), f.mkUser(userSpec{}), f.mkUser(userSpec{})
	for _, p := range [][2]int64{{alice, bob}, {bob, alice}, {carol, bob}, {alice, carol}} {
		if err := f.social.Follow(ctx, as(p[0]), p[1]); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // idempotent
		if err := f.social.Block(ctx, as(bob), alice); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count("SELECT count(*) FROM follows WHERE $1 IN (follower_id, followee_id) AND $2 IN (follower_id, followee_id)", alice, bob); n != 0 {
		t.Fatalf("follows between alice and bob after the block: got %d, want 0", n)
	}
	for id, want := range map[int64]service.FollowStats{
		alice: {Following: 1},
		bob:   {Followers: 1},
		carol: {Followers: 1, Following: 1},
	} {
		if got := f.stats(id); got != want {
			t.Fatalf("counters of %d: got %+v, want %+v", id, got, want)
		}
	}
	// The block works both ways.
	wantCode(t, f.social.Follow(ctx, as(alice), bob), service.CodeBlocked)
	wantCode(t, f.social.Follow(ctx, as(bob), alice), service.CodeBlocked)
	// alice blocking back, then bob unblocking: alice's block stays.
	if err := f.social.Block(ctx, as(alice), bob); err != nil {
		t.Fatal(err)
	}
	if err := f.social.Unblock(ctx, as(bob), alice); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.social.Follow(ctx, as(bob), alice), service.CodeBlocked)
	if err := f.social.Unblock(ctx, as(alice), bob); err != nil {
		t.Fatal(err)
	}
	if err := f.social.Follow(ctx, as(bob), alice); err != nil {
		t.Fatalf("follow after both unblocked: %v", err)
	}
	if n := f.mismatches(); n != 0 {
		t.Fatalf("got %d users with counters off, want 0", n)
	}
}

// TestSocialVisibility checks who sees whose counters and lists, and what
// the lists leave out.
func TestSocialVisibility(t *testing.T) {
	t.Parallel()
	f := newSocialFixture(t)
	ctx := context.Background()
	viewer := service.User{ID: f.mkUser(userSpec{}), Role: "user"}
	admin := service.User{ID: f.mkUser(userSpec{role: "admin"}), Role: "admin"}
	star := f.mkUser(userSpec{})
	plain, gone, quiet, hostile := f.mkUser(userSpec{}), f.mkUser(userSpec{}), f.mkUser(userSpec{}), f.mkUser(userSpec{})
	for _, id := range []int64{plain, gone, quiet, hostile} {
		if err := f.social.Follow(ctx, as(id), star); err != nil {
			t.Fatal(err)
		}
		if err := f.social.Follow(ctx, as(star), id); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.users.Delete(ctx, as(gone), gone); err != nil {
		t.Fatal(err)
	}
	f.exec("UPDATE users SET is_active = false WHERE id = $1", quiet)
	if err := f.social.Block(ctx, as(hostile), viewer.ID); err != nil {
		t.Fatal(err)
	}
	// Deactivated users' follows stay and count; deleted users' go.
	if got, want := f.stats(star), (service.FollowStats{Followers: 3, Following: 3}); got != want {
		t.Fatalf("star's counters: got %+v, want %+v", got, want)
	}
	if got, want := f.stats(star), f.trueCounts(star); got != want {
		t.Fatalf("star's counters: got %+v, true counts %+v", got, want)
	}
	// The lists show live, active users who do not block the viewer.
	for name, list := range map[string]func(context.Context, service.Principal, int64, service.PageRequest) (service.SocialPage, error){
		"followers": f.social.Followers, "following": f.social.Following,
	} {
		page, err := list(ctx, asUser(viewer), star, service.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(page.Items), []int64{plain}; !slices.Equal(got, want) || page.NextCursor != nil {
			t.Fatalf("%s of star: got %v (next %v), want %v", name, got, page.NextCursor, want)
		}
	}
	// A blocker, a deactivated and a deleted user are not found; staff see
	// the first two.
	for _, tc := range []struct {
		name   string
		viewer service.User
		target int64
		want   service.Code
	}{
		{"blocks the viewer", viewer, hostile, service.CodeNotFound},
		{"inactive", viewer, quiet, service.CodeNotFound},
		{"deleted", viewer, gone, service.CodeNotFound},
		{"unknown", viewer, 1 << 40, service.CodeNotFound},
		{"blocks the viewer, to admin", admin, hostile, ""},
		{"inactive, to admin", admin, quiet, ""},
		{"deleted, to admin", admin, gone, service.CodeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.social.Stats(ctx, asUser(tc.viewer), tc.target)
			_, lerr := f.social.Followers(ctx, asUser(tc.viewer), tc.target, service.PageRequest{})
			_, ferr := f.social.Following(ctx, asUser(tc.viewer), tc.target, service.PageRequest{})
			for _, err := range []error{err, lerr, ferr} {
				if tc.want == "" {
					if err != nil {
						t.Fatalf("got %v, want no error", err)
					}
					continue
				}
				wantCode(t, err, tc.want)
			}
		})
	}
}

// TestSocialPages walks each list in small pages and checks order,
// completeness and the cursor's binding to its list and user.
func TestSocialPages(t *testing.T) {
	t.Parallel()
	f := newSocialFixture(t)
	ctx := context.Background()
	viewer := service.User{ID: f.mkUser(userSpec{}), Role: "user"}
	star, other := f.mkUser(userSpec{}), f.mkUser(userSpec{})
	var fans []int64
	for i := range 7 {
		id := f.mkUser(userSpec{})
		fans = append(fans, id)
		// Two follows share a timestamp: the id breaks the tie.
		at := time.Date(2026, 1, 1, 0, 0, i/2, 0, time.UTC)
		f.exec("INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3), ($2, $1, $3)", id, star, at)
		f.exec("INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3)", viewer.ID, id, at)
		f.exec("INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2)", id, other)
	}
	// Newest first; equal times, higher id first.
	want := slices.Clone(fans)
	slices.SortFunc(want, func(a, b int64) int {
		ia, ib := slices.Index(fans, a), slices.Index(fans, b)
		if ia/2 != ib/2 {
			return ib/2 - ia/2
		}
		return int(b - a)
	})
	lists := map[string]func(page service.PageRequest) (service.SocialPage, error){
		"followers": func(p service.PageRequest) (service.SocialPage, error) {
			return f.social.Followers(ctx, asUser(viewer), star, p)
		},
		"following": func(p service.PageRequest) (service.SocialPage, error) {
			return f.social.Following(ctx, asUser(viewer), star, p)
		},
		"blocks": func(p service.PageRequest) (service.SocialPage, error) { return f.social.Blocks(ctx, as(viewer.ID), p) },
	}
	firstCursors := map[string]string{}
	for name, list := range lists {
		var got []int64
		req := service.PageRequest{Limit: ptr(2)}
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatalf("%s: more pages than rows", name)
			}
			page, err := list(req)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got = append(got, ids(page.Items)...)
			if page.NextCursor == nil {
				break
			}
			if firstCursors[name] == "" {
				firstCursors[name] = *page.NextCursor
			}
			req.Cursor = *page.NextCursor
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s in pages of 2: got %v, want %v", name, got, want)
		}
	}
	// A cursor is refused by another list and for another user.
	wantCode(t, pageErr(lists["following"](service.PageRequest{Cursor: firstCursors["followers"]})), service.CodeInvalidCursor)
	wantCode(t, pageErr(lists["blocks"](service.PageRequest{Cursor: firstCursors["following"]})), service.CodeInvalidCursor)
	_, err := f.social.Followers(ctx, asUser(viewer), other, service.PageRequest{Cursor: firstCursors["followers"]})
	wantCode(t, err, service.CodeInvalidCursor)
	_, err = f.social.Blocks(ctx, as(star), service.PageRequest{Cursor: firstCursors["blocks"]})
	wantCode(t, err, service.CodeInvalidCursor)
	tampered := []byte(firstCursors["followers"])
	tampered[5] ^= 1
	wantCode(t, pageErr(lists["followers"](service.PageRequest{Cursor: string(tampered)})), service.CodeInvalidCursor)
	for _, n := range []int{0, -1, 201} {
		wantCode(t, pageErr(lists["followers"](service.PageRequest{Limit: ptr(n)})), service.CodeValidation)
	}
}

func pageErr(_ service.SocialPage, err error) error { return err }

// TestFoldCounters checks a fold moves the deltas into the base and
// changes no counter.
func TestFoldCounters(t *testing.T) {
	t.Parallel()
	f := newSocialFixture(t)
	ctx := context.Background()
	users := make([]int64, 6)
	for i := range users {
		users[i] = f.mkUser(userSpec{})
	}
	for _, a := range users {
		for _, b := range users {
			if a != b {
				if err := f.social.Follow(ctx, as(a), b); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := f.social.Unfollow(ctx, as(users[0]), users[1]); err != nil {
		t.Fatal(err)
	}
	before := map[int64]service.FollowStats{}
	for _, id := range users {
		before[id] = f.stats(id)
	}
	pending := f.count("SELECT count(*) FROM follow_stat_deltas")
	if pending != 31 {
		t.Fatalf("pending deltas: got %d, want 31", pending)
	}
	// In batches of 4 (not a divisor of 31) until nothing is left.
	moved := int64(0)
	for {
		n, err := f.social.FoldCounters(ctx, 4)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		moved += n
		for _, id := range users {
			if got := f.stats(id); got != before[id] {
				t.Fatalf("counters of %d after a fold: got %+v, want %+v", id, got, before[id])
			}
		}
	}
	if moved != 31 || f.count("SELECT count(*) FROM follow_stat_deltas") != 0 {
		t.Fatalf("folded %d deltas, %d left; want 31 and 0", moved, f.count("SELECT count(*) FROM follow_stat_deltas"))
	}
	if n := f.count("SELECT count(*) FROM follow_stats WHERE user_id = $1 AND followers_count = 5 AND following_count = 4", users[0]); n != 1 {
		t.Fatalf("user 0's base counters are not 5 followers, 4 following")
	}
}

// TestSocialRace races 64 goroutines doing follows, unfollows, blocks,
// unblocks and deletes over a few users, with a folder and a checker
// running alongside, then checks every counter against the true counts and
// that no follow survived a block or a delete.
func TestSocialRace(t *testing.T) {
	t.Parallel()
	f := newSocialFixture(t)
	ctx := context.Background()
	const (
		nUsers     = 12
		deletable  = 4 // users[0:deletable] may be deleted
		goroutines = 64
		opsEach    = 60
	)
	users := make([]int64, nUsers)
	for i := range users {
		users[i] = f.mkUser(userSpec{})
	}
	var (
		wg, bg  sync.WaitGroup
		mu      sync.Mutex
		failure error
		done    = make(chan struct{})
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if failure == nil {
			failure = err
		}
	}
	bg.Add(2)
	go func() { // the folder, as serve runs it, only faster
		defer bg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := f.social.FoldCounters(ctx, 7); err != nil {
				fail(err)
				return
			}
		}
	}()
	checks := 0
	go func() { // the counters are exact at every moment, not just at the end
		defer bg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			n, err := f.social.CounterMismatches(ctx)
			if err == nil && n != 0 {
				err = errors.New("counters off the true counts mid-race")
			}
			if err != nil {
				fail(err)
				return
			}
			checks++
		}
	}()
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for range opsEach {
				a, b := users[rng.IntN(nUsers)], users[rng.IntN(nUsers)]
				var err error
				switch p := rng.IntN(100); {
				case p < 40:
					err = f.social.Follow(ctx, as(a), b)
				case p < 70:
					err = f.social.Unfollow(ctx, as(a), b)
				case p < 85:
					err = f.social.Block(ctx, as(a), b)
				case p < 98:
					err = f.social.Unblock(ctx, as(a), b)
				default:
					d := users[rng.IntN(deletable)]
					err = f.users.Delete(ctx, as(d), d)
				}
				// The refusals the rules allow; anything else (a deadlock,
				// a serialization failure) is a bug.
				if e, ok := service.ErrorOf(err); err != nil && (!ok || !slices.Contains([]service.Code{
					service.CodeValidation, service.CodeNotFound, service.CodeBlocked, service.CodeAccountDisabled,
				}, e.Code)) {
					fail(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	bg.Wait()
	if failure != nil {
		t.Fatal(failure)
	}
	if checks == 0 {
		t.Fatal("the checker never ran")
	}
	if n := f.mismatches(); n != 0 {
		t.Fatalf("got %d users with counters off, want 0", n)
	}
	for _, id := range users {
		if f.count("SELECT count(*) FROM users WHERE id = $1 AND deleted_at IS NOT NULL", id) == 1 {
			continue // not found: checked by mismatches and below
		}
		if got, want := f.stats(id), f.trueCounts(id); got != want {
			t.Fatalf("counters of %d: got %+v, true counts %+v", id, got, want)
		}
	}
	if n := f.count(`SELECT count(*) FROM follows fl JOIN blocks b
		ON (b.blocker_id, b.blocked_id) IN ((fl.follower_id, fl.followee_id), (fl.followee_id, fl.follower_id))`); n != 0 {
		t.Fatalf("got %d follows between users who block each other, want 0", n)
	}
	if n := f.count(`SELECT count(*) FROM follows fl JOIN users u ON u.id IN (fl.follower_id, fl.followee_id) WHERE u.deleted_at IS NOT NULL`); n != 0 {
		t.Fatalf("got %d follows of deleted users, want 0", n)
	}
	if n := f.count(`SELECT count(*) FROM blocks b JOIN users u ON u.id IN (b.blocker_id, b.blocked_id) WHERE u.deleted_at IS NOT NULL`); n != 0 {
		t.Fatalf("got %d blocks of deleted users, want 0", n)
	}
	// Folding what is left changes nothing.
	if _, err := f.social.FoldCounters(ctx, 1_000_000); err != nil {
		t.Fatal(err)
	}
	if n := f.mismatches(); n != 0 {
		t.Fatalf("after the last fold: got %d users with counters off, want 0", n)
	}
	// Retries would hide deadlocks from the callers: the server counts them.
	if n := deadlocks(t, f.pool); n != 0 {
		t.Fatalf("got %d deadlocks in the race, want 0", n)
	}
}

// deadlocks closes pool and returns the deadlocks its database counted.
// A backend reports its statistics at exit at the latest, so this waits
// for every other backend of the database to be gone first: the pool's,
// and through a pooler the pooler's server connections, which it is asked
// to close. It counts on the server itself, not through the pooler.
func deadlocks(t *testing.T, pool *pgxpool.Pool) int64 {
	t.Helper()
	ctx := context.Background()
	connString := pool.Config().ConnString()
	pool.Close()
	pgtest.ReleasePooled(t, connString)
	conn, err := dburl.Connect(ctx, pgtest.DirectURL(t, connString))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(10 * time.Second); ; {
		var others int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&others)
		if err != nil {
			t.Fatal(err)
		}
		if others == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d backends of the test database still alive", others)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var n int64
	if err := conn.QueryRow(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
