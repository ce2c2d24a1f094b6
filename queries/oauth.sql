-- OAuth 2.0 / OpenID Connect: clients, authorization codes, consents and
-- the sessions a client's code exchange starts.

-- name: OAuthClientCreate :one
INSERT INTO oauth_clients (id, name, public, secret_hash, redirect_uris, post_logout_redirect_uris, grant_types, scopes, first_party)
VALUES (@id, @name, @public, @secret_hash, @redirect_uris, @post_logout_redirect_uris, @grant_types, @scopes, @first_party)
RETURNING *;

-- name: OAuthClientGet :one
SELECT * FROM oauth_clients WHERE id = @id;

-- name: OAuthClientList :many
SELECT * FROM oauth_clients ORDER BY created_at, id;

-- name: OAuthClientDelete :execrows
DELETE FROM oauth_clients WHERE id = @id;

-- OAuthClientSetSecret replaces a confidential client's secret; no row
-- means there is no such confidential client.
-- name: OAuthClientSetSecret :execrows
UPDATE oauth_clients SET secret_hash = @secret_hash WHERE id = @id AND NOT public;

-- name: OAuthCodeCreate :exec
INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scopes, nonce, code_challenge, auth_time, amr, acr, expires_at)
VALUES (@code_hash, @client_id, @user_id, @redirect_uri, @scopes, @nonce, @code_challenge, @auth_time, @amr, @acr,
        now() + make_interval(secs => @ttl_seconds::float8));

-- OAuthCodeLock reads a code for its exchange, locked, with the current
-- clock time to compare its expiry with.
-- name: OAuthCodeLock :one
SELECT sqlc.embed(oauth_codes), clock_timestamp()::timestamptz AS checked_at
FROM oauth_codes WHERE code_hash = @code_hash
FOR UPDATE;

-- name: OAuthCodeUse :exec
UPDATE oauth_codes SET used_at = now(), session_id = @session_id WHERE code_hash = @code_hash AND used_at IS NULL;

-- name: OAuthSessionCreate :one
INSERT INTO sessions (user_id, user_agent, ip, expires_at, client_id, scopes, auth_time, amr, acr)
VALUES (@user_id, @user_agent, @ip, now() + make_interval(secs => @ttl_seconds::float8), @client_id, @scopes, @auth_time, @amr, @acr)
RETURNING *;

-- name: OAuthSessionGet :one
SELECT * FROM sessions WHERE id = @id;

-- OAuthSessionByRefreshToken is the session a live (never rotated)
-- refresh token belongs to.
-- name: OAuthSessionByRefreshToken :one
SELECT sessions.* FROM session_refresh_tokens t
JOIN sessions ON sessions.id = t.session_id
WHERE t.token_hash = @token_hash AND t.rotated_at IS NULL;

-- name: OAuthSessionRevokeByClient :execrows
UPDATE sessions SET revoked_at = now(), revoked_reason = @reason
WHERE user_id = @user_id AND client_id = @client_id AND revoked_at IS NULL;

-- name: OAuthConsentGet :one
SELECT * FROM oauth_consents WHERE user_id = @user_id AND client_id = @client_id;

-- OAuthConsentGrant records scopes granted, adding to any granted before.
-- name: OAuthConsentGrant :exec
INSERT INTO oauth_consents (user_id, client_id, scopes) VALUES (@user_id, @client_id, @scopes)
ON CONFLICT (user_id, client_id) DO UPDATE SET
    scopes = ARRAY(SELECT DISTINCT unnest(oauth_consents.scopes || excluded.scopes) ORDER BY 1),
    updated_at = now();

-- name: OAuthConsentListByUser :many
SELECT sqlc.embed(oauth_consents), oauth_clients.name AS client_name
FROM oauth_consents JOIN oauth_clients ON oauth_clients.id = oauth_consents.client_id
WHERE oauth_consents.user_id = @user_id
ORDER BY oauth_consents.created_at, oauth_consents.client_id;

-- name: OAuthConsentDelete :execrows
DELETE FROM oauth_consents WHERE user_id = @user_id AND client_id = @client_id;
