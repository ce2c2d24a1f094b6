-- Queries that erase a deleted user's personal data outside users.

-- name: SessionRevokeAllByUser :execrows
UPDATE sessions SET revoked_at = now(), revoked_reason = @reason
WHERE user_id = @user_id AND revoked_at IS NULL;

-- name: SessionScrubByUser :exec
UPDATE sessions SET user_agent = NULL, ip = NULL WHERE user_id = @user_id;

-- name: UserTokenDeleteByUser :exec
DELETE FROM user_tokens WHERE user_id = @user_id;

-- name: PasswordCredentialDelete :exec
DELETE FROM password_credentials WHERE user_id = @user_id;

-- name: FollowDeleteAllByUser :exec
DELETE FROM follows WHERE follower_id = @user_id OR followee_id = @user_id;

-- name: BlockDeleteAllByUser :exec
DELETE FROM blocks WHERE blocker_id = @user_id OR blocked_id = @user_id;

-- name: UserGroupDeleteAllByUser :exec
DELETE FROM user_permission_groups WHERE user_id = @user_id;

-- name: InvitationRevokePendingByEmail :exec
UPDATE invitations SET revoked_at = now()
WHERE lower(email) = lower(@email::text) AND accepted_at IS NULL AND revoked_at IS NULL;

-- InvitationScrubEmail replaces the address on every invitation sent to or
-- accepted by a deleted user with a placeholder that identifies no one.
-- name: InvitationScrubEmail :exec
UPDATE invitations SET email = 'deleted-' || id || '@invalid.invalid'
WHERE accepted_by = @user_id OR lower(email) = lower(@email::text);

-- name: AuditScrubByUser :exec
UPDATE audit_events
SET details = details - ARRAY['email', 'phone', 'username', 'first_name', 'last_name', 'name', 'before', 'after']::text[]
    || jsonb_build_object('redacted', true)
WHERE target_user_id = @user_id::bigint OR actor_id = @user_id::bigint;

-- name: LoginFailureDeleteByIdentifiers :exec
DELETE FROM login_failures WHERE identifier_hash = ANY(@hashes::bytea[]);

-- name: LoginFailureDeleteByUser :exec
DELETE FROM login_failures WHERE user_id = @user_id::bigint;

-- name: OutboxDeleteMailByUser :exec
DELETE FROM outbox WHERE user_id = @user_id::bigint AND kind = 'mail';

-- name: PasswordCredentialDeleteCount :execrows
DELETE FROM password_credentials WHERE user_id = @user_id;

-- UserLockGraph takes the user's social-graph lock exclusively (see
-- graph_lock_user in the migrations): a delete takes it before any other
-- lock, so follows and blocks in flight of that user finish first and none
-- starts until the delete commits.
-- name: UserLockGraph :exec
SELECT graph_lock_user(@user_id::bigint);
