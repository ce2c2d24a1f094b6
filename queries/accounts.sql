-- Local accounts: password credentials, login failures and mailed tokens.

-- name: PasswordCredentialGet :one
SELECT * FROM password_credentials WHERE user_id = @user_id;

-- name: PasswordCredentialSet :exec
INSERT INTO password_credentials (user_id, hash) VALUES (@user_id, @hash)
ON CONFLICT (user_id) DO UPDATE SET hash = EXCLUDED.hash, updated_at = now();

-- LoginFailureLock serializes the limit checks of one client address (or,
-- without one, of one identifier) for the rest of the transaction, so a
-- reserved attempt is counted before the next check reads.
-- name: LoginFailureLock :exec
SELECT pg_advisory_xact_lock(@lock_key::bigint);

-- LoginFailurePairRetryAfter returns, when the identifier has more than
-- @skip failures from this address (or, for a NULL address, without one)
-- within the window, the seconds until the (@skip+1)-th newest leaves it;
-- no row means the pair is not limited.
-- name: LoginFailurePairRetryAfter :one
SELECT ceil(extract(epoch FROM created_at + make_interval(secs => @window_seconds::float8) - now()))::bigint AS retry_after_seconds
FROM login_failures
WHERE identifier_hash = @identifier_hash
  AND ip_hash IS NOT DISTINCT FROM sqlc.narg(ip_hash)::bytea
  AND created_at > now() - make_interval(secs => @window_seconds::float8)
ORDER BY created_at DESC
LIMIT 1 OFFSET @skip;

-- LoginFailureIPRetryAfter is LoginFailurePairRetryAfter for every
-- identifier tried from one address.
-- name: LoginFailureIPRetryAfter :one
SELECT ceil(extract(epoch FROM created_at + make_interval(secs => @window_seconds::float8) - now()))::bigint AS retry_after_seconds
FROM login_failures
WHERE ip_hash = @ip_hash
  AND created_at > now() - make_interval(secs => @window_seconds::float8)
ORDER BY created_at DESC
LIMIT 1 OFFSET @skip;

-- LoginFailureCountRecent counts an identifier's failures from any address
-- within the window, up to @cap.
-- name: LoginFailureCountRecent :one
SELECT count(*) FROM (
    SELECT 1 FROM login_failures
    WHERE identifier_hash = @identifier_hash
      AND created_at > now() - make_interval(secs => @window_seconds::float8)
    LIMIT @cap
) AS recent;

-- name: LoginFailureCreate :one
INSERT INTO login_failures (identifier_hash, ip_hash) VALUES (@identifier_hash, sqlc.narg(ip_hash))
RETURNING id;

-- LoginFailureSetUser records whose account a failure was against, so the
-- account's deletion removes it.
-- name: LoginFailureSetUser :exec
UPDATE login_failures SET user_id = @user_id WHERE id = @id;

-- name: LoginFailureDelete :exec
DELETE FROM login_failures WHERE id = @id;

-- LoginFailurePrune deletes up to @batch failures older than the window,
-- skipping rows another instance is deleting.
-- name: LoginFailurePrune :execrows
DELETE FROM login_failures WHERE id IN (
    SELECT id FROM login_failures
    WHERE created_at < now() - make_interval(secs => @window_seconds::float8)
    ORDER BY created_at
    LIMIT @batch
    FOR UPDATE SKIP LOCKED
);

-- name: UserTokenCreate :exec
INSERT INTO user_tokens (user_id, purpose, token_hash, email, expires_at)
VALUES (@user_id, @purpose, @token_hash, @email, now() + make_interval(secs => @ttl_seconds::float8));

-- name: UserTokenUseAllByUser :exec
UPDATE user_tokens SET used_at = now()
WHERE user_id = @user_id AND purpose = @purpose AND used_at IS NULL;

-- PasswordCredentialReplace sets a new password only while the hash is
-- still the one the caller verified; no row means it changed meanwhile.
-- name: PasswordCredentialReplace :execrows
UPDATE password_credentials SET hash = @new_hash, updated_at = now()
WHERE user_id = @user_id AND hash = @old_hash;

-- UserTokenGetLive reads a live token without spending it.
-- name: UserTokenGetLive :one
SELECT * FROM user_tokens
WHERE token_hash = @token_hash AND purpose = @purpose AND used_at IS NULL AND expires_at > now();

-- UserTokenUseAny spends a live token of any of @purposes and returns it;
-- an unknown, used or expired token returns no row.
-- name: UserTokenUseAny :one
UPDATE user_tokens SET used_at = now()
WHERE token_hash = @token_hash AND purpose = ANY(@purposes::text[]) AND used_at IS NULL AND expires_at > now()
RETURNING *;

-- name: UserTokenDeleteByUser :exec
DELETE FROM user_tokens WHERE user_id = @user_id;

-- name: PasswordCredentialDelete :execrows
DELETE FROM password_credentials WHERE user_id = @user_id;

-- name: LoginFailureDeleteByIdentifiers :exec
DELETE FROM login_failures WHERE identifier_hash = ANY(@hashes::bytea[]);

-- name: LoginFailureDeleteByUser :exec
DELETE FROM login_failures WHERE user_id = @user_id::bigint;

-- UserTokenGetLiveAny reads, without spending it, a live token of any of
-- @purposes.
-- name: UserTokenGetLiveAny :one
SELECT * FROM user_tokens
WHERE token_hash = @token_hash AND purpose = ANY(@purposes::text[]) AND used_at IS NULL AND expires_at > now();
