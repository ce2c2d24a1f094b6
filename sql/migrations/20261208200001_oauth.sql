-- migrate:up

-- OAuth 2.0 / OpenID Connect clients. A public client (a single-page or
-- native app) has no secret and must use PKCE; a confidential one keeps
-- only the SHA-256 of its secret (32 random bytes: a fast hash is enough).
CREATE TABLE oauth_clients (
    id text PRIMARY KEY,
    name text NOT NULL,
    public boolean NOT NULL,
    secret_hash bytea,
    redirect_uris text[] NOT NULL DEFAULT '{}',
    post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
    grant_types text[] NOT NULL,
    scopes text[] NOT NULL,
    first_party boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT oauth_clients_id_chk CHECK (id ~ '^[A-Za-z0-9_-]{8,64}$'),
    CONSTRAINT oauth_clients_name_chk CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT oauth_clients_secret_chk CHECK (public = (secret_hash IS NULL)),
    CONSTRAINT oauth_clients_secret_hash_chk CHECK (octet_length(secret_hash) = 32),
    CONSTRAINT oauth_clients_grant_types_chk CHECK (
        cardinality(grant_types) > 0
        AND grant_types <@ ARRAY['authorization_code', 'refresh_token', 'client_credentials']::text[]),
    CONSTRAINT oauth_clients_public_grants_chk CHECK (NOT public OR NOT 'client_credentials' = ANY (grant_types)),
    CONSTRAINT oauth_clients_code_redirect_chk CHECK (
        cardinality(redirect_uris) > 0 OR NOT 'authorization_code' = ANY (grant_types)),
    CONSTRAINT oauth_clients_scopes_chk CHECK (
        scopes <@ ARRAY['openid', 'profile', 'email', 'phone', 'offline_access']::text[])
);

-- Authorization codes: single use, at most 60 seconds, bound to the
-- client, the redirect URI and the PKCE challenge. session_id is the
-- session the exchange started, revoked if the code comes back.
CREATE TABLE oauth_codes (
    code_hash bytea PRIMARY KEY,
    client_id text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri text NOT NULL,
    scopes text[] NOT NULL,
    nonce text,
    code_challenge text,
    auth_time timestamptz NOT NULL,
    amr text[] NOT NULL,
    acr text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    session_id bigint REFERENCES sessions (id) ON DELETE SET NULL,
    CONSTRAINT oauth_codes_code_hash_chk CHECK (octet_length(code_hash) = 32),
    CONSTRAINT oauth_codes_ttl_chk CHECK (expires_at > created_at AND expires_at <= created_at + interval '60 seconds'),
    CONSTRAINT oauth_codes_challenge_chk CHECK (code_challenge ~ '^[A-Za-z0-9_-]{43}$'),
    CONSTRAINT oauth_codes_nonce_chk CHECK (char_length(nonce) <= 512),
    CONSTRAINT oauth_codes_session_used_chk CHECK (session_id IS NULL OR used_at IS NOT NULL)
);
CREATE INDEX oauth_codes_client_idx ON oauth_codes (client_id);
CREATE INDEX oauth_codes_user_idx ON oauth_codes (user_id);
CREATE INDEX oauth_codes_session_idx ON oauth_codes (session_id) WHERE session_id IS NOT NULL;

-- Consents: the scopes a user granted a client that is not first-party.
CREATE TABLE oauth_consents (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scopes text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, client_id),
    CONSTRAINT oauth_consents_scopes_chk CHECK (
        cardinality(scopes) > 0
        AND scopes <@ ARRAY['openid', 'profile', 'email', 'phone', 'offline_access']::text[])
);
CREATE INDEX oauth_consents_client_idx ON oauth_consents (client_id);

-- A session started by a client's code exchange names the client, the
-- scopes granted and how and when the user signed in.
ALTER TABLE sessions
    ADD COLUMN client_id text REFERENCES oauth_clients (id) ON DELETE CASCADE,
    ADD COLUMN scopes text[],
    ADD COLUMN auth_time timestamptz,
    ADD COLUMN amr text[],
    ADD COLUMN acr text,
    ADD CONSTRAINT sessions_client_chk CHECK (
        (client_id IS NULL) = (scopes IS NULL) AND (client_id IS NULL) = (auth_time IS NULL)
        AND (client_id IS NULL) = (amr IS NULL) AND (client_id IS NULL) = (acr IS NULL)),
    ADD CONSTRAINT sessions_client_kind_chk CHECK (client_id IS NULL OR kind = 'api');
CREATE INDEX sessions_client_idx ON sessions (client_id, user_id) WHERE client_id IS NOT NULL;

-- migrate:down
DROP INDEX sessions_client_idx;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_client_kind_chk,
    DROP CONSTRAINT sessions_client_chk,
    DROP COLUMN acr,
    DROP COLUMN amr,
    DROP COLUMN auth_time,
    DROP COLUMN scopes,
    DROP COLUMN client_id;
DROP TABLE oauth_consents;
DROP TABLE oauth_codes;
DROP TABLE oauth_clients;
