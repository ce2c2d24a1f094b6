-- migrate:up
-- Second factors. A user has at most one TOTP authenticator: its secret is
-- sealed with AES-256-GCM under a data key (key_id names which; the key
-- itself is never stored), unconfirmed until a first code is checked. A
-- code is used once: last_used_step is the last time step accepted, and a
-- code is taken only by an UPDATE that raises it, so a replay inside the
-- step window finds nothing to update.
CREATE TABLE user_totp (
    user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed bytea NOT NULL,
    key_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    confirmed_at timestamptz,
    last_used_step bigint,
    CONSTRAINT user_totp_secret_sealed_chk CHECK (octet_length(secret_sealed) BETWEEN 29 AND 256),
    CONSTRAINT user_totp_key_id_chk CHECK (key_id ~ '^[0-9a-f]{16}$'),
    CONSTRAINT user_totp_step_chk CHECK (last_used_step >= 0),
    -- Confirming takes a code, so a confirmed authenticator has a used step.
    CONSTRAINT user_totp_confirmed_step_chk CHECK (confirmed_at IS NULL OR last_used_step IS NOT NULL)
);

-- Recovery codes: shown once, kept as SHA-256, each used once.
CREATE TABLE recovery_codes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at timestamptz,
    CONSTRAINT recovery_codes_code_hash_chk CHECK (octet_length(code_hash) = 32),
    CONSTRAINT recovery_codes_user_code_key UNIQUE (user_id, code_hash)
);

-- A sign-in whose password was right, waiting for its second factor: the
-- client holds an opaque token whose SHA-256 is token_hash. It is spent
-- once (used_at) and dies at expires_at. kind is the session it opens.
CREATE TABLE factor_challenges (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash bytea NOT NULL,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    CONSTRAINT factor_challenges_token_hash_key UNIQUE (token_hash),
    CONSTRAINT factor_challenges_token_hash_chk CHECK (octet_length(token_hash) = 32),
    CONSTRAINT factor_challenges_kind_chk CHECK (kind IN ('api', 'web')),
    CONSTRAINT factor_challenges_expires_at_chk CHECK (expires_at > created_at)
);
CREATE INDEX factor_challenges_expires_at_idx ON factor_challenges (expires_at);

-- What a session's sign-in proved (RFC 8176 amr values) and when a second
-- factor was last shown in it (sign-in or step-up): tokens say aal2 then.
-- The provider's sessions named amr already; every session names it now.
UPDATE sessions SET amr = '{pwd}' WHERE amr IS NULL;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_client_chk,
    ALTER COLUMN amr SET DEFAULT '{pwd}',
    ALTER COLUMN amr SET NOT NULL,
    ADD COLUMN factor_at timestamptz,
    ADD CONSTRAINT sessions_client_chk CHECK (
        (client_id IS NULL) = (scopes IS NULL) AND (client_id IS NULL) = (auth_time IS NULL)
        AND (client_id IS NULL) = (acr IS NULL)),
    ADD CONSTRAINT sessions_amr_chk CHECK (cardinality(amr) BETWEEN 1 AND 4 AND amr <@ ARRAY['pwd', 'otp', 'hwk', 'swk']::text[]),
    ADD CONSTRAINT sessions_factor_at_chk CHECK ((factor_at IS NOT NULL) = (amr && ARRAY['otp', 'hwk', 'swk']::text[]));

-- migrate:down
ALTER TABLE sessions
    DROP CONSTRAINT sessions_factor_at_chk,
    DROP CONSTRAINT sessions_amr_chk,
    DROP COLUMN factor_at,
    ALTER COLUMN amr DROP NOT NULL,
    ALTER COLUMN amr DROP DEFAULT;
UPDATE sessions SET amr = NULL WHERE client_id IS NULL;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_client_chk,
    ADD CONSTRAINT sessions_client_chk CHECK (
        (client_id IS NULL) = (scopes IS NULL) AND (client_id IS NULL) = (auth_time IS NULL)
        AND (client_id IS NULL) = (amr IS NULL) AND (client_id IS NULL) = (acr IS NULL));
DROP TABLE factor_challenges;
DROP TABLE recovery_codes;
DROP TABLE user_totp;
