-- name: WebhookEndpointCreate :one
INSERT INTO webhook_endpoints (url, event_types, secret) VALUES (@url, @event_types, @secret)
RETURNING *;

-- name: WebhookEndpointGet :one
SELECT * FROM webhook_endpoints WHERE id = @id;

-- name: WebhookEndpointList :many
SELECT * FROM webhook_endpoints ORDER BY id;

-- name: WebhookEndpointDelete :execrows
DELETE FROM webhook_endpoints WHERE id = @id;

-- WebhookEndpointRotateSecret makes secret the endpoint's secret; the
-- current one keeps signing beside it until @previous_until.
-- name: WebhookEndpointRotateSecret :one
UPDATE webhook_endpoints SET previous_secret = secret, previous_until = @previous_until, secret = @secret
WHERE id = @id
RETURNING *;

-- name: WebhookEndpointDisable :execrows
UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = @reason
WHERE id = @id AND disabled_at IS NULL;

-- WebhookEventEmit records an event and queues its delivery to every enabled
-- endpoint that takes its type; with no such endpoint it writes nothing.
-- name: WebhookEventEmit :exec
WITH ep AS (
    SELECT id FROM webhook_endpoints
    WHERE disabled_at IS NULL AND (@type::text = ANY (event_types) OR '*' = ANY (event_types))
), ev AS (
    INSERT INTO webhook_events (type, payload)
    SELECT @type::text, @payload::jsonb WHERE EXISTS (SELECT 1 FROM ep)
    RETURNING id
)
INSERT INTO webhook_deliveries (event_id, endpoint_id)
SELECT ev.id, ep.id FROM ev CROSS JOIN ep;

-- WebhookDeliveryClaim leases the oldest due deliveries to the caller, as
-- OutboxClaim does: it counts the attempt and moves run_after past the
-- lease, skipping rows another instance is claiming. A delivery whose
-- worker dies is tried again when its lease ends.
-- name: WebhookDeliveryClaim :many
WITH claimed AS (
    UPDATE webhook_deliveries d
    SET attempts = d.attempts + 1, run_after = now() + make_interval(secs => @lease_seconds::float8)
    WHERE d.id IN (
        SELECT id FROM webhook_deliveries
        WHERE delivered_at IS NULL AND failed_at IS NULL AND run_after <= now()
        ORDER BY run_after, id
        LIMIT @batch
        FOR UPDATE SKIP LOCKED
    )
    RETURNING d.id, d.event_id, d.endpoint_id, d.attempts
)
SELECT c.id, c.attempts, ev.message_id, ev.type, ev.payload, ev.created_at AS event_created_at,
    ep.url, ep.secret, ep.previous_secret, ep.previous_until
FROM claimed c
JOIN webhook_events ev ON ev.id = c.event_id
JOIN webhook_endpoints ep ON ep.id = c.endpoint_id;

-- The Mark queries record an outcome only while the caller still holds the
-- lease (no one claimed the delivery again: attempts unchanged).

-- name: WebhookDeliveryMarkDone :execrows
UPDATE webhook_deliveries SET delivered_at = now(), last_attempt_at = @attempted_at, last_status = @status, last_error = NULL
WHERE id = @id AND attempts = @attempts;

-- name: WebhookDeliveryMarkRetry :execrows
UPDATE webhook_deliveries SET run_after = @run_after, last_attempt_at = @attempted_at, last_status = @status, last_error = @last_error
WHERE id = @id AND attempts = @attempts;

-- WebhookDeliveryMarkFailed gives a delivery up and returns its endpoint.
-- name: WebhookDeliveryMarkFailed :many
UPDATE webhook_deliveries SET failed_at = now(), last_attempt_at = @attempted_at, last_status = @status, last_error = @last_error
WHERE id = @id AND attempts = @attempts
RETURNING endpoint_id;

-- WebhookDeliveryFailPending gives up the pending deliveries of a disabled
-- endpoint.
-- name: WebhookDeliveryFailPending :execrows
UPDATE webhook_deliveries SET failed_at = now(), last_error = 'endpoint disabled'
WHERE endpoint_id = @endpoint_id AND delivered_at IS NULL AND failed_at IS NULL;

-- name: WebhookDeliveryListByEndpoint :many
SELECT d.id, d.attempts, d.created_at, d.last_attempt_at, d.last_status, d.last_error, d.delivered_at, d.failed_at,
    ev.message_id, ev.type
FROM webhook_deliveries d
JOIN webhook_events ev ON ev.id = d.event_id
WHERE d.endpoint_id = @endpoint_id AND (d.created_at, d.id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY d.created_at DESC, d.id DESC
LIMIT @page_limit;

-- WebhookDeliveryReplay queues the event of delivery @id to its endpoint
-- again, as a new delivery (same webhook-id).
-- name: WebhookDeliveryReplay :one
INSERT INTO webhook_deliveries (event_id, endpoint_id)
SELECT d.event_id, d.endpoint_id FROM webhook_deliveries d WHERE d.id = @id AND d.endpoint_id = @endpoint_id
RETURNING id;

-- WebhookQueueStats counts the undelivered deliveries and the age of the
-- oldest in seconds (0: none).
-- name: WebhookQueueStats :one
SELECT count(*) AS pending, COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_seconds
FROM webhook_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL;
