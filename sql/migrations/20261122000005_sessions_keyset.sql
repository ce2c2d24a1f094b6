-- migrate:up

-- The sessions list walks (created_at, id) within one user's live sessions.
CREATE INDEX sessions_user_live_idx ON sessions (user_id, created_at DESC, id DESC) WHERE revoked_at IS NULL;
DROP INDEX sessions_user_id_idx;

-- migrate:down

CREATE INDEX sessions_user_id_idx ON sessions (user_id, created_at DESC);
DROP INDEX sessions_user_live_idx;
