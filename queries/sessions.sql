-- Sessions are refresh-token families: every refresh token ever issued for
-- a session is kept (SHA-256 only) in session_refresh_tokens.

-- name: SessionCreate :one
INSERT INTO sessions (user_id, user_agent, ip, expires_at)
VALUES (@user_id, @user_agent, @ip, now() + make_interval(secs => @ttl_seconds::float8))
RETURNING *;

-- name: SessionRefreshTokenCreate :exec
INSERT INTO session_refresh_tokens (token_hash, session_id) VALUES (@token_hash, @session_id);

-- SessionLockByRefreshToken locks the session a refresh token (rotated or
-- not) belongs to, so that refreshes of one family run one at a time.
-- name: SessionLockByRefreshToken :one
SELECT * FROM sessions
WHERE id = (SELECT session_id FROM session_refresh_tokens WHERE token_hash = @token_hash)
FOR UPDATE;

-- SessionRefreshTokenGet reads a refresh token with the current clock time
-- (not the transaction's), to compare with rotated_at and expires_at after
-- waiting for the session lock.
-- name: SessionRefreshTokenGet :one
SELECT token_hash, session_id, created_at, rotated_at, clock_timestamp()::timestamptz AS checked_at
FROM session_refresh_tokens
WHERE token_hash = @token_hash;

-- SessionRefreshTokenRotate marks a refresh token used; it returns no row
-- when the token was rotated already.
-- name: SessionRefreshTokenRotate :one
UPDATE session_refresh_tokens SET rotated_at = now()
WHERE token_hash = @token_hash AND rotated_at IS NULL
RETURNING session_id;

-- SessionTouch records a use of a session and slides its expiry.
-- name: SessionTouch :one
UPDATE sessions SET
    last_used_at = now(),
    expires_at = now() + make_interval(secs => @ttl_seconds::float8),
    user_agent = @user_agent,
    ip = @ip
WHERE id = @id
RETURNING *;

-- name: SessionRevoke :exec
UPDATE sessions SET revoked_at = now(), revoked_reason = @reason
WHERE id = @id AND revoked_at IS NULL;

-- name: SessionRevokeByRefreshToken :execrows
UPDATE sessions SET revoked_at = now(), revoked_reason = @reason
WHERE id = (SELECT session_id FROM session_refresh_tokens WHERE token_hash = @token_hash)
  AND revoked_at IS NULL;

-- SessionRevokeOthersByUser revokes every live session of a user except
-- @keep_id (0 keeps none).
-- name: SessionRevokeOthersByUser :execrows
UPDATE sessions SET revoked_at = now(), revoked_reason = @reason
WHERE user_id = @user_id AND id <> @keep_id AND revoked_at IS NULL;

-- SessionRevokeOwned revokes one session of a user, keeping the reason of
-- an earlier revocation; no row means it is not theirs.
-- name: SessionRevokeOwned :execrows
UPDATE sessions SET
    revoked_at = coalesce(revoked_at, now()),
    revoked_reason = coalesce(revoked_reason, 'revoked_by_user')
WHERE id = @id AND user_id = @user_id;

-- SessionListLiveByUser is one keyset page of a user's live sessions,
-- newest first.
-- name: SessionListLiveByUser :many
SELECT * FROM sessions
WHERE user_id = @user_id AND revoked_at IS NULL AND expires_at > now()
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- name: SessionRevokeAllByUser :execrows
UPDATE sessions SET revoked_at = now(), revoked_reason = @reason
WHERE user_id = @user_id AND revoked_at IS NULL;

-- name: SessionScrubByUser :exec
UPDATE sessions SET user_agent = NULL, ip = NULL WHERE user_id = @user_id;

-- SessionCreateWeb starts a browser session (kind web) named by the hash
-- of its cookie's token; it ends after @idle_seconds without use.
-- name: SessionCreateWeb :one
INSERT INTO sessions (user_id, kind, web_token_hash, user_agent, ip, expires_at)
VALUES (@user_id, 'web', @web_token_hash, @user_agent, @ip, now() + make_interval(secs => @idle_seconds::float8))
RETURNING *;

-- SessionGetWeb is the live browser session a cookie's token names, with
-- its user.
-- name: SessionGetWeb :one
SELECT sqlc.embed(sessions), sqlc.embed(users)
FROM sessions
JOIN users ON users.id = sessions.user_id
WHERE sessions.web_token_hash = @web_token_hash AND sessions.revoked_at IS NULL AND sessions.expires_at > now();

-- SessionTouchWeb records a use of a browser session: its expiry slides
-- to @idle_seconds from now, never past @absolute_seconds after its start.
-- name: SessionTouchWeb :exec
UPDATE sessions SET
    last_used_at = now(),
    expires_at = greatest(created_at + interval '1 second',
        least(now() + make_interval(secs => @idle_seconds::float8), created_at + make_interval(secs => @absolute_seconds::float8))),
    user_agent = @user_agent,
    ip = @ip
WHERE id = @id AND kind = 'web' AND revoked_at IS NULL;

-- SessionRotateWeb gives a live browser session a new cookie token; no row
-- means it was revoked.
-- name: SessionRotateWeb :execrows
UPDATE sessions SET web_token_hash = @web_token_hash
WHERE id = @id AND kind = 'web' AND revoked_at IS NULL;

-- name: SessionRevokeWeb :exec
UPDATE sessions SET revoked_at = now(), revoked_reason = @reason
WHERE web_token_hash = @web_token_hash AND revoked_at IS NULL;

-- SessionCreatedAt is when a live session of user_id began: its sign-in.
-- name: SessionCreatedAt :one
SELECT created_at FROM sessions WHERE id = @id AND user_id = @user_id AND revoked_at IS NULL;

-- SessionSignIn is when a live session of user_id began and what its
-- sign-in proved (RFC 8176 amr values).
-- name: SessionSignIn :one
SELECT created_at, amr FROM sessions WHERE id = @id AND user_id = @user_id AND revoked_at IS NULL;
