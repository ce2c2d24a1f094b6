-- migrate:up

-- jsonb_depth is how deeply containers nest in j, counted up to max + 1:
-- 0 for a scalar, 1 for a flat object or array. Iterative (a recursive
-- CTE) and cut off past max, so a hostile document costs at most max + 1
-- passes over its size, never stack.
CREATE FUNCTION jsonb_depth(j jsonb, max integer) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        WITH RECURSIVE t(v, d) AS (
            SELECT j, CASE WHEN jsonb_typeof(j) IN ('object', 'array') THEN 1 ELSE 0 END
            UNION ALL
            SELECT c.v, t.d + 1
            FROM t, LATERAL (
                SELECT value FROM jsonb_each(CASE WHEN jsonb_typeof(t.v) = 'object' THEN t.v END)
                UNION ALL
                SELECT value FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t.v) = 'array' THEN t.v END)
            ) AS c(v)
            WHERE jsonb_typeof(c.v) IN ('object', 'array') AND t.d <= max
        )
        SELECT max(d) FROM t
    $$;

-- Preferences nest at most 32 levels. A trigger, not a CHECK, so the walk
-- runs only when preferences are written, not on every update of users;
-- it fails as the named constraint users_preferences_depth_chk would.
-- Deeper documents were never a real client's; they are reset.
CREATE FUNCTION users_preferences_depth_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF jsonb_depth(NEW.preferences, 32) > 32 THEN
        RAISE EXCEPTION 'preferences nest deeper than 32 levels'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'users_preferences_depth_chk',
                  TABLE = 'users', SCHEMA = TG_TABLE_SCHEMA;
    END IF;
    RETURN NEW;
END;
$$;

UPDATE users SET preferences = '{}'::jsonb WHERE jsonb_depth(preferences, 32) > 32;
CREATE TRIGGER users_preferences_depth_trg BEFORE INSERT OR UPDATE OF preferences ON users
    FOR EACH ROW EXECUTE FUNCTION users_preferences_depth_check();

-- An email change waits here until a link mailed to the new address is
-- followed; email keeps the current address meanwhile.
ALTER TABLE users ADD COLUMN pending_email text;
ALTER TABLE users ADD CONSTRAINT users_pending_email_chk
    CHECK (char_length(pending_email) <= 254 AND pending_email ~ '^[^@[:space:]]+@[^@[:space:]]+$');

ALTER TABLE user_tokens DROP CONSTRAINT user_tokens_purpose_chk;
ALTER TABLE user_tokens ADD CONSTRAINT user_tokens_purpose_chk
    CHECK (purpose IN ('email_verification', 'password_reset', 'email_change'));

-- address_proven: a link proved an address the account had not proven, and
-- every other way in was removed.
ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_chk;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_chk
    CHECK (revoked_reason IN ('logout', 'reuse_detected', 'password_changed', 'password_reset', 'deactivated', 'deleted', 'revoked_by_user', 'role_changed', 'address_proven'));

-- A forgot-password request is queued as it comes, known address or not,
-- so the answer takes the same time either way; the worker looks it up.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_chk;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_chk CHECK (kind IN ('mail', 'idp_delete', 'password_reset_request'));

-- Login failures hold no plain PII: the identifier and the client address
-- are HMAC-SHA256 under a key derived from the signing key (the SHA-256 of
-- a phone's last ten digits was a dictionary lookup away). Rows of the old
-- form are meaningless under the new keys.
DELETE FROM login_failures;
DROP INDEX login_failures_ip_idx;
ALTER TABLE login_failures DROP COLUMN ip;
ALTER TABLE login_failures ADD COLUMN ip_hash bytea;
ALTER TABLE login_failures ADD COLUMN user_id bigint;
ALTER TABLE login_failures ADD CONSTRAINT login_failures_ip_hash_chk CHECK (octet_length(ip_hash) = 32);
ALTER TABLE login_failures ADD CONSTRAINT login_failures_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
CREATE INDEX login_failures_ip_hash_idx ON login_failures (ip_hash, created_at) WHERE ip_hash IS NOT NULL;
CREATE INDEX login_failures_user_id_idx ON login_failures (user_id) WHERE user_id IS NOT NULL;

-- Counted events of fixed-window limits that must hold across instances:
-- mail to one recipient, lookups by one caller. key_hash is an HMAC or a
-- hash, never the address itself; rows are pruned after a day.
CREATE TABLE rate_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket     text NOT NULL,
    key_hash   bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rate_events_bucket_chk CHECK (bucket ~ '^[a-z][a-z0-9_.:]{1,63}$'),
    CONSTRAINT rate_events_key_hash_chk CHECK (octet_length(key_hash) = 32)
);

CREATE INDEX rate_events_key_idx ON rate_events (bucket, key_hash, created_at);
CREATE INDEX rate_events_created_at_idx ON rate_events (created_at);

-- migrate:down

DROP TABLE rate_events;
DROP INDEX login_failures_user_id_idx;
DROP INDEX login_failures_ip_hash_idx;
DELETE FROM login_failures;
ALTER TABLE login_failures DROP COLUMN user_id;
ALTER TABLE login_failures DROP COLUMN ip_hash;
ALTER TABLE login_failures ADD COLUMN ip inet;
CREATE INDEX login_failures_ip_idx ON login_failures (ip, created_at) WHERE ip IS NOT NULL;
DELETE FROM outbox WHERE kind = 'password_reset_request';
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_chk;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_chk CHECK (kind IN ('mail', 'idp_delete'));
UPDATE sessions SET revoked_reason = 'revoked_by_user' WHERE revoked_reason = 'address_proven';
ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_chk;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_chk
    CHECK (revoked_reason IN ('logout', 'reuse_detected', 'password_changed', 'password_reset', 'deactivated', 'deleted', 'revoked_by_user', 'role_changed'));
DELETE FROM user_tokens WHERE purpose = 'email_change';
ALTER TABLE user_tokens DROP CONSTRAINT user_tokens_purpose_chk;
ALTER TABLE user_tokens ADD CONSTRAINT user_tokens_purpose_chk CHECK (purpose IN ('email_verification', 'password_reset'));
ALTER TABLE users DROP CONSTRAINT users_pending_email_chk;
ALTER TABLE users DROP COLUMN pending_email;
DROP TRIGGER users_preferences_depth_trg ON users;
DROP FUNCTION users_preferences_depth_check();
DROP FUNCTION jsonb_depth(jsonb, integer);
