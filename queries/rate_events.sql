-- Fixed-window limits kept in the database, so they hold across instances.

-- RateEventLock serializes the check and the insert of one (bucket, key)
-- for the rest of the transaction, so a limit is never overshot.
-- name: RateEventLock :exec
SELECT pg_advisory_xact_lock(@lock_key::bigint);

-- RateEventRetryAfter returns, when the key has more than @skip events in
-- the bucket within the window, the seconds until the (@skip+1)-th newest
-- leaves it; no row means the key is under its limit.
-- name: RateEventRetryAfter :one
SELECT ceil(extract(epoch FROM created_at + make_interval(secs => @window_seconds::float8) - now()))::bigint AS retry_after_seconds
FROM rate_events
WHERE bucket = @bucket AND key_hash = @key_hash
  AND created_at > now() - make_interval(secs => @window_seconds::float8)
ORDER BY created_at DESC
LIMIT 1 OFFSET @skip;

-- name: RateEventInsert :exec
INSERT INTO rate_events (bucket, key_hash) VALUES (@bucket, @key_hash);

-- RateEventPrune deletes up to @batch events older than a day (every
-- window is shorter), skipping rows another instance is deleting.
-- name: RateEventPrune :execrows
DELETE FROM rate_events WHERE id IN (
    SELECT id FROM rate_events
    WHERE created_at < now() - interval '1 day'
    ORDER BY created_at
    LIMIT @batch
    FOR UPDATE SKIP LOCKED
);
