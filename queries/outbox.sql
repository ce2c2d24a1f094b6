-- name: OutboxEnqueue :one
INSERT INTO outbox (kind, user_id, payload) VALUES (@kind, @user_id, @payload)
RETURNING id;

-- OutboxClaim takes the oldest due jobs, skipping rows another instance
-- holds; the caller works them inside the same transaction.
-- name: OutboxClaim :many
SELECT * FROM outbox
WHERE done_at IS NULL AND failed_at IS NULL AND run_after <= now()
ORDER BY run_after, id
LIMIT @batch
FOR UPDATE SKIP LOCKED;

-- name: OutboxMarkDone :exec
UPDATE outbox SET done_at = now(), attempts = attempts + 1, last_error = NULL,
    payload = CASE WHEN kind = 'mail' THEN '{}'::jsonb ELSE payload END
WHERE id = @id;

-- name: OutboxMarkRetry :exec
UPDATE outbox SET attempts = attempts + 1, last_error = @last_error, run_after = @run_after
WHERE id = @id;

-- name: OutboxMarkFailed :exec
UPDATE outbox SET attempts = attempts + 1, last_error = @last_error, failed_at = now(),
    payload = CASE WHEN kind = 'mail' THEN '{}'::jsonb ELSE payload END
WHERE id = @id;

-- name: OutboxGet :one
SELECT * FROM outbox WHERE id = @id;
