-- name: OutboxEnqueue :one
INSERT INTO outbox (kind, user_id, payload) VALUES (@kind, @user_id, @payload)
RETURNING id;

-- OutboxClaim leases the oldest due jobs to the caller: it counts the
-- attempt and moves run_after past the lease, skipping rows another
-- instance is claiming. The caller works the jobs outside any transaction;
-- a job whose worker dies runs again when its lease ends.
-- name: OutboxClaim :many
UPDATE outbox SET attempts = attempts + 1, run_after = now() + make_interval(secs => @lease_seconds::float8)
WHERE id IN (
    SELECT id FROM outbox
    WHERE done_at IS NULL AND failed_at IS NULL AND run_after <= now()
    ORDER BY run_after, id
    LIMIT @batch
    FOR UPDATE SKIP LOCKED
)
RETURNING *;

-- The Mark queries record an outcome only while the caller still holds the
-- lease (no one claimed the job again: attempts unchanged).

-- name: OutboxMarkDone :exec
UPDATE outbox SET done_at = now(), last_error = NULL,
    payload = CASE WHEN kind = 'idp_delete' THEN payload ELSE '{}'::jsonb END
WHERE id = @id AND attempts = @attempts;

-- name: OutboxMarkRetry :exec
UPDATE outbox SET last_error = @last_error, run_after = @run_after
WHERE id = @id AND attempts = @attempts;

-- name: OutboxMarkFailed :exec
UPDATE outbox SET last_error = @last_error, failed_at = now(),
    payload = CASE WHEN kind = 'idp_delete' THEN payload ELSE '{}'::jsonb END
WHERE id = @id AND attempts = @attempts;

-- name: OutboxDeleteMailByUser :exec
DELETE FROM outbox WHERE user_id = @user_id::bigint AND kind = 'mail';
