package service

import (
	"context"
	"strconv"
	"time"

	"github.com/userd/userd/dbgen"
)

// The management methods of Webhooks take the caller right after ctx: an
// active platform admin (PermManageWebhooks), or Console() for the
// operator at the command line (`userd webhooks …`).

// mayManage checks that by may manage webhooks, on by's row as the
// database has it now. Errors: forbidden.
func (w *Webhooks) mayManage(ctx context.Context, by Principal) error {
	return mayNow(ctx, w.db.q, by, PermManageWebhooks)
}

// AddEndpoint registers an endpoint for the event types events ("*": all)
// and returns it with its signing secret, which is shown this once.
// Errors: forbidden, validation_failed (url, events).
func (w *Webhooks) AddEndpoint(ctx context.Context, by Principal, url string, events []string) (WebhookEndpoint, string, error) {
	if err := w.mayManage(ctx, by); err != nil {
		return WebhookEndpoint{}, "", err
	}
	types, err := checkEndpoint(url, events)
	if err != nil {
		return WebhookEndpoint{}, "", err
	}
	secret := newWebhookSecret()
	r, err := inTxV(ctx, w.db, func(q *dbgen.Queries) (dbgen.WebhookEndpoint, error) {
		r, err := q.WebhookEndpointCreate(ctx, dbgen.WebhookEndpointCreateParams{Url: url, EventTypes: types, Secret: secret})
		if err != nil {
			return r, err
		}
		return r, audit(ctx, q, by.actor(), nil, "webhook.endpoint_added", map[string]any{"endpoint_id": r.ID, "events": types})
	})
	if err != nil {
		return WebhookEndpoint{}, "", err
	}
	return endpointFromRow(r), secret, nil
}

// Endpoints lists the endpoints, oldest first.
// Errors: forbidden.
func (w *Webhooks) Endpoints(ctx context.Context, by Principal) ([]WebhookEndpoint, error) {
	if err := w.mayManage(ctx, by); err != nil {
		return nil, err
	}
	rows, err := w.db.q.WebhookEndpointList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]WebhookEndpoint, len(rows))
	for i, r := range rows {
		out[i] = endpointFromRow(r)
	}
	return out, nil
}

// Endpoint returns endpoint id.
// Errors: forbidden, not_found.
func (w *Webhooks) Endpoint(ctx context.Context, by Principal, id int64) (WebhookEndpoint, error) {
	if err := w.mayManage(ctx, by); err != nil {
		return WebhookEndpoint{}, err
	}
	r, err := w.db.q.WebhookEndpointGet(ctx, id)
	return endpointFromRow(r), err
}

// RemoveEndpoint deletes endpoint id with its deliveries.
// Errors: forbidden, not_found.
func (w *Webhooks) RemoveEndpoint(ctx context.Context, by Principal, id int64) error {
	if err := w.mayManage(ctx, by); err != nil {
		return err
	}
	return inTx(ctx, w.db, func(q *dbgen.Queries) error {
		n, err := q.WebhookEndpointDelete(ctx, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return audit(ctx, q, by.actor(), nil, "webhook.endpoint_removed", map[string]any{"endpoint_id": id})
	})
}

// RotateSecret gives endpoint id a new secret and returns it (shown this
// once); the replaced secret signs beside it for the rotation overlap
// (24 h by default), so receivers can switch without losing a message.
// Errors: forbidden, not_found.
func (w *Webhooks) RotateSecret(ctx context.Context, by Principal, id int64) (WebhookEndpoint, string, error) {
	if err := w.mayManage(ctx, by); err != nil {
		return WebhookEndpoint{}, "", err
	}
	secret := newWebhookSecret()
	until := time.Now().Add(w.cfg.RotationOverlap)
	r, err := inTxV(ctx, w.db, func(q *dbgen.Queries) (dbgen.WebhookEndpoint, error) {
		r, err := q.WebhookEndpointRotateSecret(ctx, dbgen.WebhookEndpointRotateSecretParams{ID: id, Secret: secret, PreviousUntil: &until})
		if err != nil {
			return r, err
		}
		return r, audit(ctx, q, by.actor(), nil, "webhook.secret_rotated", map[string]any{"endpoint_id": id})
	})
	if err != nil {
		return WebhookEndpoint{}, "", err
	}
	return endpointFromRow(r), secret, nil
}

// cursorWebhookDeliveries is the cursor kind of an endpoint's deliveries.
const cursorWebhookDeliveries = "webhook_deliveries"

// Deliveries lists the deliveries of endpoint endpointID, newest first,
// one keyset page at a time; the cursor is bound to the endpoint.
// Errors: forbidden, not_found (no such endpoint), validation_failed
// (limit), invalid_cursor.
func (w *Webhooks) Deliveries(ctx context.Context, by Principal, endpointID int64, page PageRequest) (Page[WebhookDelivery], error) {
	if err := w.mayManage(ctx, by); err != nil {
		return Page[WebhookDelivery]{}, err
	}
	p, err := w.cursors.startPage(cursorWebhookDeliveries, []byte(strconv.FormatInt(endpointID, 10)), page)
	if err != nil {
		return Page[WebhookDelivery]{}, err
	}
	if _, err := w.db.q.WebhookEndpointGet(ctx, endpointID); err != nil {
		return Page[WebhookDelivery]{}, err
	}
	return readPage(p, func(after Cursor, n int32) ([]dbgen.WebhookDeliveryListByEndpointRow, error) {
		return w.db.q.WebhookDeliveryListByEndpoint(ctx, dbgen.WebhookDeliveryListByEndpointParams{
			EndpointID: endpointID, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n,
		})
	}, func(r dbgen.WebhookDeliveryListByEndpointRow) WebhookDelivery {
		return WebhookDelivery{
			ID: r.ID, MessageID: r.MessageID, Type: r.Type, Attempts: r.Attempts, CreatedAt: r.CreatedAt,
			LastAttemptAt: r.LastAttemptAt, LastStatus: r.LastStatus, LastError: r.LastError, DeliveredAt: r.DeliveredAt, FailedAt: r.FailedAt,
		}
	})
}

func (d WebhookDelivery) keyset() Cursor { return Cursor{CreatedAt: d.CreatedAt, ID: d.ID} }

// Replay queues delivery deliveryID of endpoint endpointID again, as a new
// delivery of the same event (same webhook-id), and returns the new
// delivery's id.
// Errors: forbidden, not_found.
func (w *Webhooks) Replay(ctx context.Context, by Principal, endpointID, deliveryID int64) (int64, error) {
	if err := w.mayManage(ctx, by); err != nil {
		return 0, err
	}
	return inTxV(ctx, w.db, func(q *dbgen.Queries) (int64, error) {
		id, err := q.WebhookDeliveryReplay(ctx, dbgen.WebhookDeliveryReplayParams{ID: deliveryID, EndpointID: endpointID})
		if err != nil {
			return 0, err
		}
		return id, audit(ctx, q, by.actor(), nil, "webhook.delivery_replayed", map[string]any{"endpoint_id": endpointID, "delivery_id": deliveryID})
	})
}
