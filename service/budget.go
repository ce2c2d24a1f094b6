package service

import "context"

// BudgetKey is the context key under which a request's context may answer
// its DBBudget.
type BudgetKey struct{}

// DBBudget is the deadline of a request's database work
// (USERD_DB_TIMEOUT). It runs only while the request may use the
// database: PauseDB stops it while the request waits for something else
// (a hashing slot, a login delay), and the resume it returns starts it
// again with what was left, so that a wait in the hashing queue never
// spends the database's time. While it is stopped, the context ends only
// when its parent does.
type DBBudget interface {
	PauseDB() (resume func())
}

// pauseDB stops ctx's database budget, if it has one, until resume is
// called (once).
func pauseDB(ctx context.Context) (resume func()) {
	if b, ok := ctx.Value(BudgetKey{}).(DBBudget); ok {
		return b.PauseDB()
	}
	return func() {}
}
