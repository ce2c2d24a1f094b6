//go:build scale

// The faults of make test-scale (scripts/test-scale.sh), built with
// -tags scale only: they stop and start the replica and the pooler that
// script runs (TEST_SCALE_CTL), so they run one at a time, after the
// suites, and never beside other tests.

package httpapi_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/userd/userd/dburl"
	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
)

// scaleCtl runs the cluster's control script: "replica stop", "pooler
// start", ….
func scaleCtl(t *testing.T, args ...string) {
	t.Helper()
	ctl := os.Getenv("TEST_SCALE_CTL")
	if ctl == "" {
		t.Fatal("TEST_SCALE_CTL is not set: run these tests with make test-scale")
	}
	out, err := exec.Command(ctl, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v: %s", ctl, args, err, out)
	}
}

// scaleEnv is an environment whose instance reads from the replica with
// maxLag as USERD_REPLICA_MAX_LAG, through the pooler.
func scaleEnv(t *testing.T, maxLag time.Duration) *env {
	t.Helper()
	if !pgtest.Pooled() || os.Getenv("TEST_DATABASE_REPLICA_URL") == "" {
		t.Fatal("TEST_DATABASE_POOLER_URL and TEST_DATABASE_REPLICA_URL are not set: run these tests with make test-scale")
	}
	e := newEnv(t)
	u := e.pool.Config().ConnString()
	opts := scaleOptions(t, u)
	opts.ReplicaMaxLag = maxLag
	db, err := service.OpenDBWith(context.Background(), pgtest.PoolConfig(t, u), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	waitFor(t, "the change listener to listen", db.PrincipalCacheOnline)
	e.db = db
	h, _, _ := e.instance(db)
	e.srv = serve(t, h)
	e.client = e.srv.Client()
	waitForReplica(t, db, true)
	return e
}

// waitForReplica waits up to 20 s until the checker finds the replica
// fresh (or not).
func waitForReplica(t *testing.T, db *service.DB, fresh bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for db.ReplicaStats().Fresh != fresh {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for the replica's freshness to be %v: %+v", fresh, db.ReplicaStats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestScaleReplicaStopped: reads meant for the replica are served from
// it while it is up, fall back to the primary with no 5xx while it stops
// and is down, and return to it once it is back.
func TestScaleReplicaStopped(t *testing.T) {
	e := scaleEnv(t, time.Second)
	op, _ := e.userWithRole("scale-op", "operator")
	list := func() {
		t.Helper()
		expect(t, e.do("GET", "/api/v1/users?limit=5", op, nil), http.StatusOK, "")
	}
	before := e.db.ReplicaStats()
	list()
	if got := e.db.ReplicaStats().Reads; got <= before.Reads {
		t.Fatalf("directory read with the replica fresh: replica reads %d, want more than %d", got, before.Reads)
	}

	t.Cleanup(func() { scaleCtl(t, "replica", "start") })
	done := make(chan struct{})
	go func() {
		defer close(done)
		scaleCtl(t, "replica", "stop")
	}()
	stopping := 0
	for waiting := true; waiting; stopping++ {
		select {
		case <-done:
			waiting = false
		default:
		}
		list()
	}
	fallbacks := e.db.ReplicaStats().Fallbacks
	for range 20 {
		list()
	}
	st := e.db.ReplicaStats()
	if st.Fallbacks < fallbacks+20 || st.Fresh {
		t.Fatalf("with the replica down: %+v, want 20 more fallbacks than %d and not fresh", st, fallbacks)
	}
	t.Logf("%d directory reads while the replica stopped, 20 after: all 200", stopping)

	scaleCtl(t, "replica", "start")
	waitForReplica(t, e.db, true)
	reads := e.db.ReplicaStats().Reads
	list()
	if got := e.db.ReplicaStats().Reads; got <= reads {
		t.Fatalf("after the replica came back: replica reads %d, want more than %d", got, reads)
	}
}

// TestScaleReplicaLagging: with the replica's WAL replay paused, the
// writer reads its own write at once (from the primary), while another
// caller, reading the replica inside the lag bound, still sees the old
// value; once the lag passes the bound, every read goes to the primary.
func TestScaleReplicaLagging(t *testing.T) {
	const maxLag = 3 * time.Second
	e := scaleEnv(t, maxLag)
	writer, writerID := e.userWithRole("scale-writer", "admin")
	other, _ := e.userWithRole("scale-other", "admin")
	name := func(tok string) string {
		t.Helper()
		r := e.do("GET", "/api/v1/users/"+strconv.FormatInt(writerID, 10), tok, nil)
		expect(t, r, http.StatusOK, "")
		s, _ := r.json(t)["first_name"].(string)
		return s
	}
	expect(t, e.do("PATCH", "/api/v1/users/me", writer, map[string]any{"first_name": "Before"}), http.StatusOK, "")
	waitFor(t, "the other caller to read the first name from the replica", func() bool { return name(other) == "Before" })
	waitForReplica(t, e.db, true)

	replica, err := dburl.Connect(context.Background(), pgtest.Replica(e.pool.Config().ConnString()))
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close(context.Background())
	if _, err := replica.Exec(context.Background(), "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := dburl.Connect(context.Background(), pgtest.Replica(e.pool.Config().ConnString()))
		if err == nil {
			_, _ = c.Exec(context.Background(), "SELECT pg_wal_replay_resume()")
			c.Close(context.Background())
		}
	})

	start := time.Now()
	expect(t, e.do("PATCH", "/api/v1/users/me", writer, map[string]any{"first_name": "After"}), http.StatusOK, "")
	if got := name(writer); got != "After" {
		t.Fatalf("the writer read its own first name back: got %q, want After", got)
	}
	reads := e.db.ReplicaStats().Reads
	stale := name(other)
	if time.Since(start) < maxLag/2 {
		// Inside the bound the replica serves the other caller, as it is.
		if stale != "Before" || e.db.ReplicaStats().Reads <= reads {
			t.Fatalf("another caller %v after the write, replay paused: got %q (replica reads %d → %d), want Before from the replica",
				time.Since(start), stale, reads, e.db.ReplicaStats().Reads)
		}
	} else {
		t.Logf("the machine is slow (%v after the write): the other caller's stale read is not checked", time.Since(start))
	}

	waitForReplica(t, e.db, false)
	if st := e.db.ReplicaStats(); st.Lag < maxLag {
		t.Fatalf("not fresh with lag %v, want at least %v", st.Lag, maxLag)
	}
	if got := name(other); got != "After" {
		t.Fatalf("another caller past the lag bound: got %q, want After (from the primary)", got)
	}
	if got := name(writer); got != "After" {
		t.Fatalf("the writer past the lag bound: got %q, want After", got)
	}

	if _, err := replica.Exec(context.Background(), "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	waitForReplica(t, e.db, true)
	reads = e.db.ReplicaStats().Reads
	if got := name(other); got != "After" || e.db.ReplicaStats().Reads <= reads {
		t.Fatalf("replay resumed: got %q (replica reads %d → %d), want After from the replica", got, reads, e.db.ReplicaStats().Reads)
	}
}

// TestScalePoolerRestart: while PgBouncer is down, a request that needs
// the database answers 503 db_unavailable (the cached hot path still
// answers); once it is back, userd recovers by itself.
func TestScalePoolerRestart(t *testing.T) {
	e := scaleEnv(t, time.Second)
	tok, _ := e.signIn("scale-pooler", nil)
	patch := func(city string) response {
		t.Helper()
		return e.do("PATCH", "/api/v1/users/me", tok, map[string]any{"city": city})
	}
	expect(t, patch("Pune"), http.StatusOK, "")
	expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")

	t.Cleanup(func() { scaleCtl(t, "pooler", "start") })
	scaleCtl(t, "pooler", "stop")
	start := time.Now()
	expect(t, patch("Mumbai"), http.StatusServiceUnavailable, "db_unavailable")
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("503 after %v, want within the database timeout", d)
	}
	expect(t, e.do("GET", "/api/v1/users/me", tok, nil), http.StatusOK, "")

	scaleCtl(t, "pooler", "start")
	deadline := time.Now().Add(15 * time.Second)
	statuses := map[int]int{}
	for {
		r := patch("Chennai")
		statuses[r.status]++
		if r.status == http.StatusOK {
			break
		}
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("after the pooler restarted: got %d (%s), want 503 then 200", r.status, r.body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered 15 s after the pooler restarted: %v", statuses)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := e.do("GET", "/api/v1/users/me", tok, nil)
	expect(t, r, http.StatusOK, "")
	if got := r.json(t)["city"]; got != "Chennai" {
		t.Fatalf("after recovery: city %v, want Chennai", got)
	}
	t.Logf("answers after the restart: %v", statuses)
}
