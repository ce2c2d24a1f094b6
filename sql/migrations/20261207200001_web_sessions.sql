-- migrate:up
-- A browser's session is a sessions row of kind web: the cookie
-- __Host-userd_session holds a token whose SHA-256 is web_token_hash (an
-- api session is a refresh-token family and has none). Both kinds are
-- listed, revoked and expired alike.
ALTER TABLE sessions
    ADD COLUMN kind text NOT NULL DEFAULT 'api',
    ADD COLUMN web_token_hash bytea,
    ADD CONSTRAINT sessions_kind_chk CHECK (kind IN ('api', 'web')),
    ADD CONSTRAINT sessions_web_token_chk CHECK ((kind = 'web') = (web_token_hash IS NOT NULL)),
    ADD CONSTRAINT sessions_web_token_hash_chk CHECK (octet_length(web_token_hash) = 32);

CREATE UNIQUE INDEX sessions_web_token_key ON sessions (web_token_hash) WHERE web_token_hash IS NOT NULL;

-- migrate:down
DROP INDEX sessions_web_token_key;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_web_token_hash_chk,
    DROP CONSTRAINT sessions_web_token_chk,
    DROP CONSTRAINT sessions_kind_chk,
    DROP COLUMN web_token_hash,
    DROP COLUMN kind;
