package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/mail"
)

// IdPAdmin hard-deletes accounts at the external IdP.
type IdPAdmin interface {
	DeleteUser(ctx context.Context, subject string) error
}

// Mail is one message to send.
type Mail = mail.Message

// Mailer delivers mail.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// ResetSender turns a queued forgot-password request into a reset mail
// (Accounts.SendReset).
type ResetSender interface {
	SendReset(ctx context.Context, email string) error
}

// Outbox works the jobs that transactions queue: mail, IdP hard deletes
// and forgot-password requests. Any number of instances may run it: each job is leased with
// FOR UPDATE SKIP LOCKED, worked outside any transaction, and retried with
// exponential backoff. Delivery is at least once.
type Outbox struct {
	db     *DB
	admin  IdPAdmin // nil: idp_delete jobs wait
	mailer Mailer
	log    *slog.Logger
	// Resets works forgot-password requests; nil: they wait.
	Resets      ResetSender
	MaxAttempts int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
}

// NewOutbox returns an outbox worker.
func NewOutbox(db *DB, admin IdPAdmin, mailer Mailer, log *slog.Logger) *Outbox {
	return &Outbox{db: db, admin: admin, mailer: mailer, log: log, MaxAttempts: 12, BaseBackoff: 5 * time.Second, MaxBackoff: time.Hour}
}

// backoff is the delay before retry n (1-based; less counts as 1):
// exponential, capped, with up to 20 % jitter so instances do not retry in
// step.
func (o *Outbox) backoff(n int) time.Duration {
	d := o.BaseBackoff << min(max(n-1, 0), 20)
	if d > o.MaxBackoff || d <= 0 {
		d = o.MaxBackoff
	}
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

// Run works due jobs every interval until ctx ends. When ctx ends (a
// shutdown), it claims nothing more, and a job it is working is cut off
// and its lease given back, so another instance takes it at once.
func (o *Outbox) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := o.RunOnce(ctx, 20)
			if err != nil && ctx.Err() == nil {
				o.log.WarnContext(ctx, "outbox", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

var errNoHandler = errors.New("no handler configured for this job kind")

// A claimed job is left to its worker for outboxLease before another may
// take it; the work itself is cut off at outboxJobTimeout, well inside.
const (
	outboxLease      = 2 * time.Minute
	outboxJobTimeout = time.Minute
	// outboxRecordTimeout bounds recording an outcome after a shutdown.
	outboxRecordTimeout = 5 * time.Second
)

// RunOnce works up to batch due jobs, leasing them one at a time so no
// lease runs out while earlier jobs are worked, with no transaction open.
// It records each outcome and returns how many jobs it worked.
func (o *Outbox) RunOnce(ctx context.Context, batch int32) (int, error) {
	for n := range int(batch) {
		if ctx.Err() != nil {
			return n, nil
		}
		jobs, err := o.db.q.OutboxClaim(ctx, dbgen.OutboxClaimParams{Batch: 1, LeaseSeconds: outboxLease.Seconds()})
		if err != nil {
			return n, err
		}
		if len(jobs) == 0 {
			return n, nil
		}
		if err := o.runJob(ctx, jobs[0]); err != nil {
			return n, err
		}
	}
	return int(batch), nil
}

// runJob works one leased job and records the outcome, even when ctx
// ended meanwhile: a job cut off by the end of ctx is released at once.
func (o *Outbox) runJob(ctx context.Context, j dbgen.Outbox) error {
	jobCtx, cancel := context.WithTimeout(ctx, outboxJobTimeout)
	err := o.work(jobCtx, j)
	cancel()
	stopped := ctx.Err() != nil
	ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), outboxRecordTimeout)
	defer cancel()
	switch {
	case err != nil && stopped:
		return o.db.q.OutboxMarkRetry(ctx, dbgen.OutboxMarkRetryParams{
			ID: j.ID, Attempts: j.Attempts, LastError: strPtr("stopped: " + err.Error()), RunAfter: time.Now(),
		})
	case err == nil:
		return o.db.q.OutboxMarkDone(ctx, dbgen.OutboxMarkDoneParams{ID: j.ID, Attempts: j.Attempts})
	case int(j.Attempts) >= o.MaxAttempts:
		o.log.ErrorContext(ctx, "outbox job failed for good", "id", j.ID, "kind", j.Kind, "err", err)
		return o.db.q.OutboxMarkFailed(ctx, dbgen.OutboxMarkFailedParams{ID: j.ID, Attempts: j.Attempts, LastError: strPtr(err.Error())})
	default:
		o.log.WarnContext(ctx, "outbox job failed; will retry", "id", j.ID, "kind", j.Kind, "attempt", j.Attempts, "err", err)
		return o.db.q.OutboxMarkRetry(ctx, dbgen.OutboxMarkRetryParams{
			ID: j.ID, Attempts: j.Attempts, LastError: strPtr(err.Error()), RunAfter: time.Now().Add(o.backoff(int(j.Attempts))),
		})
	}
}

func (o *Outbox) work(ctx context.Context, j dbgen.Outbox) error {
	var w func(ctx context.Context, payload []byte) error
	switch j.Kind {
	case "idp_delete":
		if o.admin != nil {
			w = worker(func(ctx context.Context, p idpDeletePayload) error { return o.admin.DeleteUser(ctx, p.Subject) })
		}
	case "mail":
		if o.mailer != nil {
			w = worker(o.mailer.Send)
		}
	case kindResetRequest:
		if o.Resets != nil {
			w = worker(func(ctx context.Context, r resetRequest) error { return o.Resets.SendReset(ctx, r.Email) })
		}
	default:
		return fmt.Errorf("unknown job kind %q", j.Kind)
	}
	if w == nil {
		return errNoHandler
	}
	return w(ctx, j.Payload)
}

// worker is fn working a job whose JSON payload is a P.
func worker[P any](fn func(context.Context, P) error) func(context.Context, []byte) error {
	return func(ctx context.Context, payload []byte) error {
		var p P
		if err := json.Unmarshal(payload, &p); err != nil {
			return fmt.Errorf("payload: %w", err)
		}
		return fn(ctx, p)
	}
}

// enqueueMail queues m in the caller's transaction. userID is the user the
// mail is about (its pending mail goes when that user is deleted); nil for
// mail to an address that is no user's yet, such as an invitation.
func enqueueMail(ctx context.Context, q *dbgen.Queries, userID *int64, m Mail) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = q.OutboxEnqueue(ctx, dbgen.OutboxEnqueueParams{Kind: "mail", UserID: userID, Payload: b})
	return err
}
