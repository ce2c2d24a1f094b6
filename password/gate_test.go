package password_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/userd/userd/password"
)

// waitFor polls cond (a state of the gate, not a timing) for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestGateQueueBound: with every slot held and the queue full, the next
// caller is refused at once; released slots go to the waiters.
func TestGateQueueBound(t *testing.T) {
	t.Parallel()
	g := password.NewGate(password.GateConfig{Concurrency: 2, Queue: 3, Wait: time.Hour})
	ctx := context.Background()
	var held []func()
	for range 2 {
		release, err := g.Enter(ctx)
		if err != nil {
			t.Fatalf("enter a free slot: %v", err)
		}
		held = append(held, release)
	}
	var wg sync.WaitGroup
	entered := make(chan func(), 3)
	for range 3 {
		wg.Go(func() {
			release, err := g.Enter(ctx)
			if err != nil {
				t.Errorf("queued caller: got %v, want a slot", err)
				return
			}
			entered <- release
		})
	}
	waitFor(t, "three waiters", func() bool { return g.Stats().Waiting == 3 })
	if _, err := g.Enter(ctx); !errors.Is(err, password.ErrBusy) {
		t.Fatalf("caller beyond a full queue: got %v, want ErrBusy", err)
	}
	if s := g.Stats(); s.Running != 2 || s.Waiting != 3 || s.Rejected != 1 {
		t.Fatalf("got %+v, want 2 running, 3 waiting, 1 rejected", s)
	}
	held[0]()
	held[0]() // a second call is a no-op, not a second slot
	first := <-entered
	if s := g.Stats(); s.Running != 2 || s.Waiting != 2 {
		t.Fatalf("after one release: got %+v, want 2 running, 2 waiting", s)
	}
	first()
	held[1]()
	wg.Wait()
	close(entered)
	for release := range entered {
		release()
	}
	if s := g.Stats(); s.Running != 0 || s.Waiting != 0 || s.PeakRunning != 2 || s.PeakWaiting != 3 || s.Rejected != 1 {
		t.Fatalf("at rest: got %+v, want nothing running or waiting, peaks 2 and 3, 1 rejected", s)
	}
}

// TestGateWaitBound: a waiter gives up with ErrBusy after Wait, and one
// whose context ends gets the context's error; neither stays queued.
func TestGateWaitBound(t *testing.T) {
	t.Parallel()
	g := password.NewGate(password.GateConfig{Concurrency: 1, Queue: 4, Wait: 20 * time.Millisecond})
	release, err := g.Enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := g.Enter(context.Background()); !errors.Is(err, password.ErrBusy) {
		t.Fatalf("wait past the bound: got %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	long := password.NewGate(password.GateConfig{Concurrency: 1, Queue: 4, Wait: time.Hour})
	r, _ := long.Enter(context.Background())
	defer r()
	go func() { _, err := long.Enter(ctx); done <- err }()
	waitFor(t, "a waiter", func() bool { return long.Stats().Waiting == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: got %v, want context.Canceled", err)
	}
	if s := long.Stats(); s.Waiting != 0 || s.Rejected != 0 {
		t.Fatalf("after the cancel: got %+v, want no waiter and no rejection", s)
	}
}

// TestGateConcurrency: racing holders never exceed the bound.
func TestGateConcurrency(t *testing.T) {
	t.Parallel()
	const slots, callers = 3, 200
	g := password.NewGate(password.GateConfig{Concurrency: slots, Queue: callers, Wait: time.Minute})
	var inside, most atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			release, err := g.Enter(context.Background())
			if err != nil {
				t.Errorf("enter: %v", err)
				return
			}
			n := inside.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(100 * time.Microsecond)
			inside.Add(-1)
			release()
		})
	}
	wg.Wait()
	if m := most.Load(); m > slots {
		t.Fatalf("got %d holders at once, want at most %d", m, slots)
	}
	if s := g.Stats(); s.PeakRunning > slots || s.PeakWaiting > callers || s.Running != 0 {
		t.Fatalf("got %+v, want peaks within the bounds and nothing running", s)
	}
}

// TestGateReserve: a place counts from Reserve, before the caller enters:
// with every place reserved and no slot even taken, the next caller is
// refused; Cancel gives a place back (once), and a ticket's Enter takes a
// free slot.
func TestGateReserve(t *testing.T) {
	t.Parallel()
	g := password.NewGate(password.GateConfig{Concurrency: 1, Queue: 2, Wait: time.Hour})
	var tickets []*password.Ticket
	for range 3 {
		tk, err := g.Reserve()
		if err != nil {
			t.Fatalf("reserve a free place: %v", err)
		}
		tickets = append(tickets, tk)
	}
	if _, err := g.Reserve(); !errors.Is(err, password.ErrBusy) {
		t.Fatalf("reserve beyond concurrency + queue: got %v, want ErrBusy", err)
	}
	if _, err := g.Enter(context.Background()); !errors.Is(err, password.ErrBusy) {
		t.Fatalf("enter with every place reserved: got %v, want ErrBusy", err)
	}
	if s := g.Stats(); s.Running != 0 || s.Waiting != 2 || s.Rejected != 2 {
		t.Fatalf("with 3 places reserved: got %+v, want none running, 2 waiting (the queue's count), 2 rejected", s)
	}
	tickets[0].Cancel()
	tickets[0].Cancel() // a second call is a no-op, not a second place
	release, err := tickets[1].Enter(context.Background())
	if err != nil {
		t.Fatalf("enter with a reserved place and a free slot: %v", err)
	}
	tickets[1].Cancel() // after Enter: a no-op
	if s := g.Stats(); s.Running != 1 || s.Waiting != 1 {
		t.Fatalf("one running, one reserved: got %+v", s)
	}
	tk, err := g.Reserve()
	if err != nil {
		t.Fatalf("reserve the place given back: %v", err)
	}
	if _, err := g.Reserve(); !errors.Is(err, password.ErrBusy) {
		t.Fatalf("reserve beyond the bound again: got %v, want ErrBusy", err)
	}
	release()
	// A place given back (a caller about to sleep) is taken again by
	// Rejoin when one is free, and only then.
	tk.Cancel()
	var others []*password.Ticket
	for range 2 {
		o, err := g.Reserve()
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, o)
	}
	if err := tk.Rejoin(); !errors.Is(err, password.ErrBusy) {
		t.Fatalf("rejoin with every place taken: got %v, want ErrBusy", err)
	}
	others[1].Cancel()
	if err := tk.Rejoin(); err != nil {
		t.Fatalf("rejoin with a free place: %v", err)
	}
	if err := tk.Rejoin(); err != nil {
		t.Fatalf("rejoin while holding a place: got %v, want nothing done", err)
	}
	if _, err := g.Reserve(); !errors.Is(err, password.ErrBusy) {
		t.Fatalf("after the rejoin every place is taken: got %v, want ErrBusy", err)
	}
	for _, tk := range []*password.Ticket{tk, others[0], tickets[2]} {
		tk.Cancel()
	}
	if s := g.Stats(); s.Running != 0 || s.Waiting != 0 {
		t.Fatalf("at rest: got %+v, want nothing running or waiting", s)
	}
}
