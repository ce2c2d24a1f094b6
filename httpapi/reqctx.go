package httpapi

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/userd/userd/service"
)

// requestContext is the one context observe derives for a request: it
// carries what the layers above the handler learn (the request id, the
// client address, the matched route, the authenticated principal) and the
// database budget, so that no middleware derives another context or
// copies the request again.
//
// The budget (USERD_DB_TIMEOUT) bounds the request's database work. Its
// deadline is fixed, and the timer that ends the context then made, when
// something first waits on the context (Done, Err, Deadline): the pool
// when a connection is acquired, a statement. A request that never does
// (a cached GET /users/me) pays nothing for it. The service stops the
// budget while the request waits for something that is not the database
// (a hashing slot, a login delay: service.DBBudget): the context then
// ends only with the server's, and the wait is added to the deadline
// when the budget runs again, so a login that queued for a hashing place
// still has its whole budget for the database.
type requestContext struct {
	context.Context // the server's context of the request

	id     string
	client netip.Addr
	route  *routeSeries // the matched route (its pattern and metric series); nil: none
	sw     statusWriter // the response, as observe sees it
	// The principal is set once, by authed, before the handler runs.
	principal service.Principal
	authed    bool

	budgetLen time.Duration               // zero: no budget
	timer     atomic.Pointer[budgetTimer] // the running budget, made at the first wait; nil while paused
	mu        sync.Mutex                  // guards the fields below and the making of timer
	deadline  time.Time                   // zero until the first wait
	paused    int                         // pauses in force
	pausedAt  time.Time
	retired   *budgetTimer // timers of earlier runs of the budget, ended by end
}

// budgetTimer is the context that ends at the budget's deadline.
type budgetTimer struct {
	ctx    context.Context
	cancel context.CancelFunc
	prev   *budgetTimer // the next retired timer
}

// requestOf returns the request context of ctx (or of the one ctx was
// derived from); nil outside observe.
func requestOf(ctx context.Context) *requestContext {
	c, _ := ctx.Value(keyRequest).(*requestContext)
	return c
}

// budget returns the context that carries the database deadline, making
// its timer the first time it is asked for after the start or a pause;
// while the budget is paused, the server's context.
func (c *requestContext) budget() context.Context {
	if c.budgetLen == 0 {
		return c.Context
	}
	if t := c.timer.Load(); t != nil {
		return t.ctx
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paused > 0 {
		return c.Context
	}
	if t := c.timer.Load(); t != nil {
		return t.ctx // another goroutine made it first
	}
	if c.deadline.IsZero() {
		c.deadline = time.Now().Add(c.budgetLen)
	}
	ctx, cancel := context.WithDeadline(c.Context, c.deadline)
	c.timer.Store(&budgetTimer{ctx: ctx, cancel: cancel})
	return ctx
}

// PauseDB stops the budget until resume is called (service.DBBudget).
// Contexts derived from the request's before the pause keep its deadline
// as it was.
func (c *requestContext) PauseDB() (resume func()) {
	if c.budgetLen == 0 {
		return func() {}
	}
	c.mu.Lock()
	c.paused++
	if c.paused == 1 {
		c.pausedAt = time.Now()
		if t := c.timer.Swap(nil); t != nil {
			t.prev, c.retired = c.retired, t
		}
	}
	c.mu.Unlock()
	return sync.OnceFunc(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.paused--
		if c.paused == 0 && !c.deadline.IsZero() {
			c.deadline = c.deadline.Add(time.Since(c.pausedAt))
		}
	})
}

// Deadline is the earlier of the budget's deadline and the server's.
func (c *requestContext) Deadline() (time.Time, bool) { return c.budget().Deadline() }

// Done is closed when the budget runs out or the server's context ends.
func (c *requestContext) Done() <-chan struct{} { return c.budget().Done() }

// Err says why Done is closed.
func (c *requestContext) Err() error { return c.budget().Err() }

// Value is the request context itself under keyRequest. Other keys are
// looked up in the budget's context once it exists, so that a context
// derived from this one finds the deadline's cancellation there (and
// needs no goroutine to watch it), else in the server's.
func (c *requestContext) Value(key any) any {
	if key == keyRequest {
		return c
	}
	if _, ok := key.(service.CallerKey); ok && c.authed {
		return c.principal.User.ID
	}
	if _, ok := key.(service.BudgetKey); ok {
		return c
	}
	if t := c.timer.Load(); t != nil {
		return t.ctx.Value(key)
	}
	return c.Context.Value(key)
}

// pattern is the matched route's pattern; "" before a route matched.
func (c *requestContext) pattern() string {
	if c.route == nil {
		return ""
	}
	return c.route.pattern
}

// end releases the budget's timers, if they were made.
func (c *requestContext) end() {
	if c.budgetLen == 0 {
		return
	}
	if t := c.timer.Load(); t != nil {
		t.cancel()
	}
	c.mu.Lock()
	for t := c.retired; t != nil; t = t.prev {
		t.cancel()
	}
	c.mu.Unlock()
}
