package password

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"
)

// ErrBusy is returned by Gate.Reserve and Enter when every place is taken
// or the wait ran past its bound: the caller should answer "try again
// later".
var ErrBusy = errors.New("password hashing is at capacity")

// GateConfig bounds password hashing. Zero fields take their defaults.
type GateConfig struct {
	// Concurrency is how many holders run at once: DefaultConcurrency
	// when zero. Each argon2id run holds Params.Memory (19 MiB by default).
	Concurrency int
	// Queue is how many callers may hold a place besides the running
	// ones (waiting for a slot, or doing the work that precedes it): 16
	// per slot by default. A caller beyond it gets ErrBusy at once.
	Queue int
	// Wait is the longest a caller waits for a slot: 5 s by default (a
	// request's context may end the wait sooner).
	Wait time.Duration
}

// Gate bounds how many password hashes run at once, and how many callers
// wait and for how long, so that memory stays bounded under a flood of
// logins: concurrency × Params.Memory for the hashes, a few KiB for each
// waiting request. A caller's place counts from Reserve, ahead of the work
// that comes before its hash (a login's database reads), so a flood cannot
// pile up in that work either: at most Concurrency + Queue callers are in
// at once. Waiters are not served in strict arrival order (a caller that
// finds a free slot takes it), but none waits past Wait.
// A Gate is safe for concurrent use.
type Gate struct {
	slots    chan struct{}
	queue    int64
	wait     time.Duration
	admitted atomic.Int64 // places taken: running, waiting, or on the way to Enter
	rejected atomic.Int64
	peakRun  atomic.Int64
	peakWait atomic.Int64
}

// DefaultConcurrency is half of GOMAXPROCS, at least 1: hashing may keep
// half the cores busy and leaves the others to every other request. (On
// 2 cores, two hashes at once took GET /users/me's p99 to 10x its value
// without a login flood, one hash at once to 2.6x: README "Benchmarks".)
func DefaultConcurrency() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// NewGate returns a Gate bounded by c.
func NewGate(c GateConfig) *Gate {
	if c.Concurrency < 1 {
		c.Concurrency = DefaultConcurrency()
	}
	if c.Queue < 1 {
		c.Queue = 16 * c.Concurrency
	}
	if c.Wait <= 0 {
		c.Wait = 5 * time.Second
	}
	return &Gate{slots: make(chan struct{}, c.Concurrency), queue: int64(c.Queue), wait: c.Wait}
}

// Ticket is a caller's place in a Gate, taken by Reserve; Enter turns it
// into a slot, Cancel gives it back.
type Ticket struct {
	g    *Gate
	done atomic.Bool // the place was given back or handed to a slot
}

// Reserve takes a place for a hash to come, before the work that precedes
// it, so that work is bounded too. Callers defer Cancel.
// Errors: ErrBusy when Concurrency + Queue places are taken.
func (g *Gate) Reserve() (*Ticket, error) {
	n, err := g.take()
	if err != nil {
		return nil, err
	}
	raise(&g.peakWait, n-int64(len(g.slots)))
	return &Ticket{g: g}, nil
}

// take counts one more place taken and returns the count.
// Errors: ErrBusy when every place was taken (nothing is counted).
func (g *Gate) take() (int64, error) {
	n := g.admitted.Add(1)
	if n > int64(cap(g.slots))+g.queue {
		g.admitted.Add(-1)
		g.rejected.Add(1)
		return 0, ErrBusy
	}
	return n, nil
}

// Cancel gives t's place back; after Enter, or a second time, it does
// nothing.
func (t *Ticket) Cancel() {
	if t.done.CompareAndSwap(false, true) {
		t.g.admitted.Add(-1)
	}
}

// Rejoin takes a place again for t after Cancel (a caller that gave its
// place up while it sleeps); while t holds one it does nothing.
// Errors: ErrBusy when every place is taken.
func (t *Ticket) Rejoin() error {
	if !t.done.Load() {
		return nil
	}
	if _, err := t.g.take(); err != nil {
		return err
	}
	t.done.Store(false)
	return nil
}

// Enter waits for a slot with t's place and returns the function that
// gives slot and place back (call it exactly once); on an error the place
// is given back. Call Enter at most once, and not after Cancel unless
// Rejoin took a place again.
// Errors: ErrBusy (no slot within the wait bound), or ctx's error when
// ctx ends first.
func (t *Ticket) Enter(ctx context.Context) (release func(), err error) {
	g := t.g
	select {
	case g.slots <- struct{}{}:
		return t.entered(), nil
	default:
	}
	raise(&g.peakWait, g.admitted.Load()-int64(len(g.slots)))
	timer := time.NewTimer(g.wait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		return t.entered(), nil
	case <-timer.C:
		g.rejected.Add(1)
		t.Cancel()
		return nil, ErrBusy
	case <-ctx.Done():
		t.Cancel()
		return nil, ctx.Err()
	}
}

// Enter is Reserve and Ticket.Enter at once, for a caller with no work
// before its hash.
// Errors: ErrBusy (no place, or no slot within the wait bound), or ctx's
// error when ctx ends first.
func (g *Gate) Enter(ctx context.Context) (release func(), err error) {
	t, err := g.Reserve()
	if err != nil {
		return nil, err
	}
	return t.Enter(ctx)
}

func (t *Ticket) entered() func() {
	g := t.g
	raise(&g.peakRun, int64(len(g.slots)))
	t.done.Store(true)
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			<-g.slots
			g.admitted.Add(-1)
		}
	}
}

// raise sets peak to n when n is higher.
func raise(peak *atomic.Int64, n int64) {
	for {
		p := peak.Load()
		if n <= p || peak.CompareAndSwap(p, n) {
			return
		}
	}
}

// GateStats is a snapshot of a Gate.
type GateStats struct {
	Concurrency, Queue int   // the bounds
	Running, Waiting   int   // slots held; places taken by callers not running (waiting, or working toward Enter)
	PeakRunning        int   // most slots ever held at once
	PeakWaiting        int   // most places ever taken by callers not running
	Rejected           int64 // ErrBusy answers so far
}

// Stats returns a snapshot of g.
func (g *Gate) Stats() GateStats {
	running := len(g.slots)
	w := g.admitted.Load() - int64(running)
	return GateStats{
		Concurrency: cap(g.slots), Queue: int(g.queue),
		Running: running, Waiting: int(min(max(w, 0), g.queue)),
		PeakRunning: int(g.peakRun.Load()), PeakWaiting: int(g.peakWait.Load()), Rejected: g.rejected.Load(),
	}
}
