-- Blocks. Writes run after FollowLockPair (queries/follows.sql).

-- name: BlockInsert :execrows
INSERT INTO blocks (blocker_id, blocked_id) VALUES (@blocker_id, @blocked_id)
ON CONFLICT ON CONSTRAINT blocks_pkey DO NOTHING;

-- name: BlockDelete :execrows
DELETE FROM blocks WHERE blocker_id = @blocker_id AND blocked_id = @blocked_id;

-- BlockListByBlocker is one keyset page of the live, active users whom
-- @blocker_id blocks, newest block first (blocks_blocker_created_idx).
-- name: BlockListByBlocker :many
SELECT sqlc.embed(u), b.created_at AS blocked_at
FROM blocks b
JOIN users u ON u.id = b.blocked_id
WHERE b.blocker_id = @blocker_id
  AND u.deleted_at IS NULL AND u.is_active
  AND (b.created_at, b.blocked_id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY b.created_at DESC, b.blocked_id DESC
LIMIT @page_limit;

-- name: BlockDeleteAllByUser :exec
DELETE FROM blocks WHERE blocker_id = @user_id OR blocked_id = @user_id;
