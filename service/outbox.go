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
)

// IdPAdmin hard-deletes accounts at the external IdP.
type IdPAdmin interface {
	DeleteUser(ctx context.Context, subject string) error
}

// Mail is one message to send.
type Mail struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// Mailer delivers mail.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// Outbox works the jobs that transactions queue: mail and IdP hard
// deletes. Any number of instances may run it: each job is leased with
// FOR UPDATE SKIP LOCKED, worked outside any transaction, and retried with
// exponential backoff. Delivery is at least once.
type Outbox struct {
	db          *DB
	admin       IdPAdmin // nil: idp_delete jobs wait
	mailer      Mailer
	log         *slog.Logger
	MaxAttempts int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
}

// NewOutbox returns an outbox worker.
func NewOutbox(db *DB, admin IdPAdmin, mailer Mailer, log *slog.Logger) *Outbox {
	return &Outbox{db: db, admin: admin, mailer: mailer, log: log, MaxAttempts: 12, BaseBackoff: 5 * time.Second, MaxBackoff: time.Hour}
}

// backoff is the delay before retry n (1-based): exponential, capped, with
// up to 20 % jitter so instances do not retry in step.
func (o *Outbox) backoff(n int) time.Duration {
	d := o.BaseBackoff << min(n-1, 20)
	if d > o.MaxBackoff || d <= 0 {
		d = o.MaxBackoff
	}
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

// Run works due jobs every interval until ctx ends.
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

// outboxLease is how long a claimed job is left to its worker before
// another may take it: well past the mail and IdP client timeouts.
const outboxLease = 2 * time.Minute

// RunOnce leases up to batch due jobs, works them with no transaction
// open, and records each outcome. It returns how many jobs it worked.
func (o *Outbox) RunOnce(ctx context.Context, batch int32) (int, error) {
	jobs, err := o.db.q.OutboxClaim(ctx, dbgen.OutboxClaimParams{Batch: batch, LeaseSeconds: outboxLease.Seconds()})
	if err != nil {
		return 0, mapDBError(err)
	}
	for _, j := range jobs {
		err := o.work(ctx, j)
		switch {
		case err == nil:
			err = o.db.q.OutboxMarkDone(ctx, j.ID)
		case int(j.Attempts) >= o.MaxAttempts:
			o.log.ErrorContext(ctx, "outbox job failed for good", "id", j.ID, "kind", j.Kind, "err", err)
			err = o.db.q.OutboxMarkFailed(ctx, dbgen.OutboxMarkFailedParams{ID: j.ID, LastError: strPtr(err.Error())})
		default:
			o.log.WarnContext(ctx, "outbox job failed; will retry", "id", j.ID, "kind", j.Kind, "attempt", j.Attempts, "err", err)
			err = o.db.q.OutboxMarkRetry(ctx, dbgen.OutboxMarkRetryParams{
				ID: j.ID, LastError: strPtr(err.Error()), RunAfter: time.Now().Add(o.backoff(int(j.Attempts))),
			})
		}
		if err != nil {
			return 0, mapDBError(err)
		}
	}
	return len(jobs), nil
}

func (o *Outbox) work(ctx context.Context, j dbgen.Outbox) error {
	switch j.Kind {
	case "idp_delete":
		if o.admin == nil {
			return errNoHandler
		}
		var p idpDeletePayload
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return fmt.Errorf("payload: %w", err)
		}
		return o.admin.DeleteUser(ctx, p.Subject)
	case "mail":
		if o.mailer == nil {
			return errNoHandler
		}
		var m Mail
		if err := json.Unmarshal(j.Payload, &m); err != nil {
			return fmt.Errorf("payload: %w", err)
		}
		return o.mailer.Send(ctx, m)
	}
	return fmt.Errorf("unknown job kind %q", j.Kind)
}

// enqueueMail queues m for userID in the caller's transaction.
func enqueueMail(ctx context.Context, q *dbgen.Queries, userID int64, m Mail) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = q.OutboxEnqueue(ctx, dbgen.OutboxEnqueueParams{Kind: "mail", UserID: &userID, Payload: b})
	return err
}
