-- Invitations to organizations. Only the SHA-256 of a token is stored.

-- name: InvitationCreate :one
INSERT INTO invitations (organization_id, inviter_id, email, token_hash, groups, expires_at)
VALUES (@organization_id, @inviter_id, @email, @token_hash, @groups::text[], now() + make_interval(secs => @ttl_seconds::float8))
RETURNING *;

-- InvitationRevokeExpired retires an expired pending invitation to an
-- address, so a new one may take its place.
-- name: InvitationRevokeExpired :exec
UPDATE invitations SET revoked_at = now()
WHERE organization_id = @organization_id AND lower(email) = lower(@email::text)
  AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at <= now();

-- name: InvitationGetByHash :one
SELECT * FROM invitations WHERE token_hash = @token_hash;

-- name: InvitationGetForUpdate :one
SELECT * FROM invitations WHERE id = @id FOR UPDATE;

-- name: InvitationAccept :exec
UPDATE invitations SET accepted_at = now(), accepted_by = @user_id
WHERE id = @id AND accepted_at IS NULL AND revoked_at IS NULL;

-- name: InvitationRevoke :execrows
UPDATE invitations SET revoked_at = now()
WHERE id = @id AND organization_id = @organization_id AND accepted_at IS NULL AND revoked_at IS NULL;

-- name: InvitationRevokeAllPending :execrows
UPDATE invitations SET revoked_at = now()
WHERE organization_id = @organization_id AND accepted_at IS NULL AND revoked_at IS NULL;

-- InvitationListPending is one keyset page of an organization's pending
-- invitations, newest first.
-- name: InvitationListPending :many
SELECT * FROM invitations
WHERE organization_id = @organization_id AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- name: InvitationRevokePendingByEmail :exec
UPDATE invitations SET revoked_at = now()
WHERE lower(email) = lower(@email::text) AND accepted_at IS NULL AND revoked_at IS NULL;

-- InvitationScrubEmail replaces the address on every invitation sent to or
-- accepted by a deleted user with a placeholder that identifies no one.
-- name: InvitationScrubEmail :exec
UPDATE invitations SET email = 'deleted-' || id || '@invalid.invalid'
WHERE accepted_by = @user_id OR lower(email) = lower(@email::text);
