-- migrate:up

-- Local accounts prune expired login failures in bounded batches, oldest
-- first; this index makes each batch a short range scan.
CREATE INDEX login_failures_created_at_idx ON login_failures (created_at);

-- migrate:down

DROP INDEX login_failures_created_at_idx;
