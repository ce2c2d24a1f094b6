-- migrate:up

-- Follow counters that scale to a hot user.
--
-- Until now every follow of a user updated that user's one follow_stats
-- row, so the followers of a popular user queued on its row lock, one
-- commit at a time. Now a follow or unfollow only appends a delta row, which
-- takes no lock anyone else waits for; follow_stats holds the folded base.
--
-- The true count of a user's followers (following) is the number of rows of
-- follows with that followee (follower). The counters are
--
--     follow_stats.<count> + sum(follow_stat_deltas.delta of that user)
--
-- read in one statement, so in one snapshot: a fold (which moves deltas
-- into the base in one statement) is either wholly visible or not at all,
-- and the sum is exact at every moment.
--
-- Deltas are folded oldest first (FollowStatsFold), one folder at a time.
-- A follow's +1 always has a smaller id than the -1 of its unfollow (the
-- unfollow can only start after the follow committed), so every fold moves
-- a prefix of each pair's +1/-1 history and the base never goes negative:
-- the follow_stats CHECKs still hold.
--
-- follow_stat_deltas has no foreign keys on purpose: an FK would lock the
-- hot user's row once more per follow (follows already does), and a delta
-- of a hard-deleted user is simply dropped by the next fold (its
-- follow_stats row went with the user).
CREATE TABLE follow_stat_deltas (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    follower_id bigint NOT NULL,
    followee_id bigint NOT NULL,
    delta       smallint NOT NULL,
    CONSTRAINT follow_stat_deltas_pkey PRIMARY KEY (id),
    CONSTRAINT follow_stat_deltas_delta_chk CHECK (delta IN (-1, 1))
);

CREATE INDEX follow_stat_deltas_followee_idx ON follow_stat_deltas (followee_id);
CREATE INDEX follow_stat_deltas_follower_idx ON follow_stat_deltas (follower_id);

CREATE OR REPLACE FUNCTION follows_maintain_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO follow_stat_deltas (follower_id, followee_id, delta) VALUES (NEW.follower_id, NEW.followee_id, 1);
    ELSE
        INSERT INTO follow_stat_deltas (follower_id, followee_id, delta) VALUES (OLD.follower_id, OLD.followee_id, -1);
    END IF;
    RETURN NULL;
END;
$$;

-- The social-graph locks. Transaction-scoped advisory locks, in the
-- two-int4 key space that nothing else in userd uses:
--   user u:        (u >> 32, low 32 bits of u)              first key >= 0
--   pair {a, b}:   (low 31 bits of min | sign bit, low 32 bits of max)
--                                                           first key < 0
-- A follow, unfollow, block or unblock between a and b takes the pair lock
-- (exclusive), then a shared lock on each user in id order
-- (graph_lock_pair). Deleting a user takes that user's lock exclusively
-- (graph_lock_user) before any other lock. So a follow and a block of one
-- pair never interleave (no follow survives a block), a delete waits for
-- the follows in flight of its user and they wait for it (no follow of a
-- deleted user survives), and followers of one user do not wait on each
-- other. Every transaction takes these locks first and in one order, so
-- they cannot deadlock.
CREATE FUNCTION graph_lock_pair(a bigint, b bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lo bigint := least(a, b);
    hi bigint := greatest(a, b);
BEGIN
    PERFORM pg_advisory_xact_lock((lo::bit(32) | B'10000000000000000000000000000000')::int4, hi::bit(32)::int4);
    PERFORM pg_advisory_xact_lock_shared((lo >> 32)::int4, lo::bit(32)::int4);
    PERFORM pg_advisory_xact_lock_shared((hi >> 32)::int4, hi::bit(32)::int4);
END;
$$;

CREATE FUNCTION graph_lock_user(u bigint) RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock((u >> 32)::int4, u::bit(32)::int4);
$$;

-- migrate:down

DROP FUNCTION graph_lock_user(bigint);
DROP FUNCTION graph_lock_pair(bigint, bigint);

CREATE OR REPLACE FUNCTION follows_maintain_stats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f bigint;
    e bigint;
    d bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        f := NEW.follower_id; e := NEW.followee_id; d := 1;
    ELSE
        f := OLD.follower_id; e := OLD.followee_id; d := -1;
    END IF;
    IF f < e THEN
        UPDATE follow_stats SET following_count = following_count + d WHERE user_id = f;
        UPDATE follow_stats SET followers_count = followers_count + d WHERE user_id = e;
    ELSE
        UPDATE follow_stats SET followers_count = followers_count + d WHERE user_id = e;
        UPDATE follow_stats SET following_count = following_count + d WHERE user_id = f;
    END IF;
    RETURN NULL;
END;
$$;

-- Fold what is pending, then drop the deltas.
LOCK TABLE follow_stat_deltas IN EXCLUSIVE MODE;
UPDATE follow_stats s SET
    followers_count = s.followers_count + coalesce((SELECT sum(d.delta) FROM follow_stat_deltas d WHERE d.followee_id = s.user_id), 0),
    following_count = s.following_count + coalesce((SELECT sum(d.delta) FROM follow_stat_deltas d WHERE d.follower_id = s.user_id), 0)
WHERE EXISTS (SELECT 1 FROM follow_stat_deltas d WHERE d.followee_id = s.user_id OR d.follower_id = s.user_id);
DROP TABLE follow_stat_deltas;
