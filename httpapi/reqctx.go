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
// The budget (USERD_DB_TIMEOUT) is a deadline fixed when the request
// starts; the timer that ends the context then is only made when
// something first waits on the context (Done, Err, Deadline): the pool
// when a connection is acquired, a statement, the hashing queue. Every
// request that touches the database is bounded as before; one that never
// does (a cached GET /users/me) pays nothing for it.
type requestContext struct {
	context.Context // the server's context of the request

	id     string
	client netip.Addr
	route  routeInfo
	sw     statusWriter // the response, as observe sees it
	// The principal is set once, by authed, before the handler runs.
	principal service.Principal
	authed    bool

	deadline time.Time // zero: no budget
	arm      sync.Once
	armed    atomic.Bool // timed and cancel are set
	timed    context.Context
	cancel   context.CancelFunc
}

// requestOf returns the request context of ctx (or of the one ctx was
// derived from); nil outside observe.
func requestOf(ctx context.Context) *requestContext {
	c, _ := ctx.Value(keyRequest).(*requestContext)
	return c
}

// budget returns the context that carries the database deadline, making
// its timer the first time it is asked for.
func (c *requestContext) budget() context.Context {
	if c.deadline.IsZero() {
		return c.Context
	}
	c.arm.Do(func() {
		c.timed, c.cancel = context.WithDeadline(c.Context, c.deadline)
		c.armed.Store(true)
	})
	return c.timed
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
	if c.armed.Load() {
		return c.timed.Value(key)
	}
	return c.Context.Value(key)
}

// end releases the budget's timer, if it was made.
func (c *requestContext) end() {
	if c.armed.Load() {
		c.cancel()
	}
}
