package password

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"
)

// ErrBusy is returned by Gate.Enter when the wait queue is full or the
// wait ran past its bound: the caller should answer "try again later".
var ErrBusy = errors.New("password hashing is at capacity")

// GateConfig bounds password hashing. Zero fields take their defaults.
type GateConfig struct {
	// Concurrency is how many holders run at once: GOMAXPROCS by default.
	// Each argon2id run holds Params.Memory (19 MiB by default).
	Concurrency int
	// Queue is how many callers may wait for a slot: 16 per slot by
	// default. A caller beyond it gets ErrBusy at once.
	Queue int
	// Wait is the longest a caller waits for a slot: 5 s by default (a
	// request's context may end the wait sooner).
	Wait time.Duration
}

// Gate bounds how many password hashes run at once, and how many callers
// wait and for how long, so that memory stays bounded under a flood of
// logins: concurrency × Params.Memory for the hashes, a few KiB for each
// waiting request. Waiters are not served in strict arrival order (a
// caller that finds a free slot takes it), but none waits past Wait.
// A Gate is safe for concurrent use.
type Gate struct {
	slots    chan struct{}
	queue    int64
	wait     time.Duration
	waiting  atomic.Int64
	rejected atomic.Int64
	peakRun  atomic.Int64
	peakWait atomic.Int64
}

// NewGate returns a Gate bounded by c.
func NewGate(c GateConfig) *Gate {
	if c.Concurrency < 1 {
		c.Concurrency = runtime.GOMAXPROCS(0)
	}
	if c.Queue < 1 {
		c.Queue = 16 * c.Concurrency
	}
	if c.Wait <= 0 {
		c.Wait = 5 * time.Second
	}
	return &Gate{slots: make(chan struct{}, c.Concurrency), queue: int64(c.Queue), wait: c.Wait}
}

// Enter takes a slot, waiting in the queue when all are taken, and
// returns the function that gives it back (call it exactly once).
// Errors: ErrBusy (queue full, or no slot within the wait bound), or
// ctx's error when ctx ends first.
func (g *Gate) Enter(ctx context.Context) (release func(), err error) {
	select {
	case g.slots <- struct{}{}:
		return g.entered(), nil
	default:
	}
	n := g.waiting.Add(1)
	defer g.waiting.Add(-1)
	if n > g.queue {
		g.rejected.Add(1)
		return nil, ErrBusy
	}
	raise(&g.peakWait, n)
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.entered(), nil
	case <-t.C:
		g.rejected.Add(1)
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Admit returns ErrBusy when Enter would refuse at once (every slot taken
// and the queue full), without taking a place. Callers check it before
// costly work that comes ahead of Enter, so a flood is turned away early.
func (g *Gate) Admit() error {
	if len(g.slots) == cap(g.slots) && g.waiting.Load() >= g.queue {
		g.rejected.Add(1)
		return ErrBusy
	}
	return nil
}

func (g *Gate) entered() func() {
	raise(&g.peakRun, int64(len(g.slots)))
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			<-g.slots
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
	Running, Waiting   int   // slots held and callers waiting now
	PeakRunning        int   // most slots ever held at once
	PeakWaiting        int   // most callers ever waiting at once
	Rejected           int64 // ErrBusy answers so far
}

// Stats returns a snapshot of g.
func (g *Gate) Stats() GateStats {
	w := g.waiting.Load()
	return GateStats{
		Concurrency: cap(g.slots), Queue: int(g.queue),
		Running: len(g.slots), Waiting: int(min(max(w, 0), g.queue)),
		PeakRunning: int(g.peakRun.Load()), PeakWaiting: int(g.peakWait.Load()), Rejected: g.rejected.Load(),
	}
}
