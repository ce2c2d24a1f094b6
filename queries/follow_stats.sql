-- Follow counters: a base in follow_stats plus the pending deltas in
-- follow_stat_deltas (see the migration that made them).

-- FollowStatsGet is a user's counters: base plus pending deltas, in one
-- snapshot, so exact whatever a concurrent fold does.
-- name: FollowStatsGet :one
SELECT
    (s.followers_count + coalesce((SELECT sum(d.delta) FROM follow_stat_deltas d WHERE d.followee_id = s.user_id), 0))::bigint AS followers_count,
    (s.following_count + coalesce((SELECT sum(d.delta) FROM follow_stat_deltas d WHERE d.follower_id = s.user_id), 0))::bigint AS following_count
FROM follow_stats s
WHERE s.user_id = @user_id;

-- FollowStatsFoldLock is true when this transaction may fold: one folder at
-- a time, so two folds never lock follow_stats rows in opposite orders.
-- name: FollowStatsFoldLock :one
SELECT pg_try_advisory_xact_lock(1718578276); -- "fold"

-- FollowStatsFold moves the @batch_size oldest deltas into follow_stats in
-- one statement and returns how many it moved. Oldest first keeps every
-- base non-negative (a follow's +1 precedes its unfollow's -1). Deltas of
-- users without a follow_stats row (hard-deleted) are dropped.
-- name: FollowStatsFold :one
WITH batch AS (
    DELETE FROM follow_stat_deltas
    WHERE id IN (SELECT id FROM follow_stat_deltas ORDER BY id LIMIT @batch_size)
    RETURNING follower_id, followee_id, delta
), sums AS (
    SELECT user_id, sum(followers)::bigint AS followers, sum(following)::bigint AS following
    FROM (
        SELECT followee_id AS user_id, delta AS followers, 0 AS following FROM batch
        UNION ALL
        SELECT follower_id, 0, delta FROM batch
    ) per_user
    GROUP BY user_id
), applied AS (
    UPDATE follow_stats s SET
        followers_count = s.followers_count + sums.followers,
        following_count = s.following_count + sums.following
    FROM sums
    WHERE s.user_id = sums.user_id AND (sums.followers <> 0 OR sums.following <> 0)
    RETURNING 1
)
SELECT count(*) FROM batch;

-- FollowStatsMismatchCount is the number of users whose counters differ
-- from the true counts (rows of follows): 0 unless something is broken.
-- It reads every counter and every follow; for checks, not for requests.
-- name: FollowStatsMismatchCount :one
WITH truth AS (
    SELECT u.id,
        (SELECT count(*) FROM follows f WHERE f.followee_id = u.id) AS followers,
        (SELECT count(*) FROM follows f WHERE f.follower_id = u.id) AS following
    FROM users u
), counted AS (
    SELECT s.user_id,
        s.followers_count + coalesce((SELECT sum(d.delta) FROM follow_stat_deltas d WHERE d.followee_id = s.user_id), 0) AS followers,
        s.following_count + coalesce((SELECT sum(d.delta) FROM follow_stat_deltas d WHERE d.follower_id = s.user_id), 0) AS following
    FROM follow_stats s
)
SELECT count(*)
FROM truth t
LEFT JOIN counted c ON c.user_id = t.id
WHERE c.user_id IS NULL OR c.followers <> t.followers OR c.following <> t.following;
