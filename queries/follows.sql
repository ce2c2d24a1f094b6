-- The follow graph. Every write between two users runs after FollowLockPair
-- in its transaction (see graph_lock_pair in the migrations).

-- FollowLockPair takes the social-graph locks of users @a and @b: the pair
-- exclusively, then each user shared, in id order.
-- name: FollowLockPair :exec
SELECT graph_lock_pair(@a::bigint, @b::bigint);

-- FollowPairCheck reads, after FollowLockPair, whether the actor may act
-- (live and active), whether the target is a live, active user, and whether
-- either of the two blocks the other. No row: the actor does not exist.
-- name: FollowPairCheck :one
SELECT
    (a.deleted_at IS NULL AND a.is_active)::boolean AS actor_usable,
    coalesce(t.deleted_at IS NULL AND t.is_active, false)::boolean AS target_visible,
    EXISTS (
        SELECT 1 FROM blocks b
        WHERE (b.blocker_id = @actor_id::bigint AND b.blocked_id = @target_id::bigint)
           OR (b.blocker_id = @target_id::bigint AND b.blocked_id = @actor_id::bigint)
    ) AS blocked
FROM users a
LEFT JOIN users t ON t.id = @target_id::bigint
WHERE a.id = @actor_id::bigint;

-- name: FollowInsert :execrows
INSERT INTO follows (follower_id, followee_id) VALUES (@follower_id, @followee_id)
ON CONFLICT ON CONSTRAINT follows_pkey DO NOTHING;

-- name: FollowDelete :execrows
DELETE FROM follows WHERE follower_id = @follower_id AND followee_id = @followee_id;

-- FollowDeletePair removes the follows between @a and @b both ways.
-- name: FollowDeletePair :execrows
DELETE FROM follows
WHERE (follower_id = @a::bigint AND followee_id = @b::bigint)
   OR (follower_id = @b::bigint AND followee_id = @a::bigint);

-- FollowListFollowers is one keyset page of the live, active users who
-- follow @user_id and do not block @viewer_id, newest follow first
-- (follows_followee_idx).
-- name: FollowListFollowers :many
SELECT sqlc.embed(u), f.created_at AS followed_at
FROM follows f
JOIN users u ON u.id = f.follower_id
WHERE f.followee_id = @user_id
  AND u.deleted_at IS NULL AND u.is_active
  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = @viewer_id::bigint)
  AND (f.created_at, f.follower_id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY f.created_at DESC, f.follower_id DESC
LIMIT @page_limit;

-- FollowListFollowing is one keyset page of the live, active users whom
-- @user_id follows and who do not block @viewer_id, newest follow first
-- (follows_follower_idx).
-- name: FollowListFollowing :many
SELECT sqlc.embed(u), f.created_at AS followed_at
FROM follows f
JOIN users u ON u.id = f.followee_id
WHERE f.follower_id = @user_id
  AND u.deleted_at IS NULL AND u.is_active
  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = @viewer_id::bigint)
  AND (f.created_at, f.followee_id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY f.created_at DESC, f.followee_id DESC
LIMIT @page_limit;

-- name: FollowDeleteAllByUser :exec
DELETE FROM follows WHERE follower_id = @user_id OR followee_id = @user_id;
