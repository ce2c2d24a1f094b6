package service

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/userd/userd/dbgen"
)

// Social is the social graph: follows, blocks, the followers and following
// pages, and the follow counters.
//
// The true follow counts of a user are the rows of follows that name them:
// followers_count = rows with them as followee, following_count = rows with
// them as follower. A deleted user has none (Users.Delete removes them in
// its transaction); a deactivated user keeps theirs, and they count, while
// the lists hide that user. The counters equal the true counts at every
// moment, whatever runs concurrently (see FollowStats).
//
// Every write between two users takes the pair's graph lock first (see the
// migration that made graph_lock_pair), then checks both users and the
// blocks, then writes: a follow and a block of the same pair never
// interleave, and no follow of a user being deleted survives the delete.
type Social struct {
	db      *DB
	cursors cursorCodec
}

// NewSocial returns the Social service. cursorKey signs page cursors as in
// NewAdmin; it panics when cursorKey is shorter than 16 bytes.
func NewSocial(db *DB, cursorKey []byte) *Social {
	return &Social{db: db, cursors: newCursorCodec("NewSocial", cursorKey)}
}

// Cursor kinds of the social lists.
const (
	cursorFollowers = "followers"
	cursorFollowing = "following"
	cursorBlocks    = "blocks"
)

// errSelf is the refusal of following or blocking oneself.
func errSelf(field string) error {
	return Invalid(FieldError{Field: field, Message: "must be another user"})
}

// pairAction runs write in a transaction between actor and target, after
// taking the pair's graph lock and checking that the actor is usable
// (account_disabled otherwise) and the target is a live, active user
// (not_found otherwise), and that they are two users (validation_failed
// on id otherwise). write gets whether either blocks the other.
func (s *Social) pairAction(ctx context.Context, actorID, targetID int64, write func(q *dbgen.Queries, blocked bool) error) error {
	if actorID == targetID {
		return errSelf("id")
	}
	return inTx(ctx, s.db, func(q *dbgen.Queries) error {
		st, err := lockPair(ctx, q, actorID, targetID)
		if err != nil {
			return err
		}
		if !st.TargetVisible {
			return ErrNotFound
		}
		return write(q, st.Blocked)
	})
}

// pairRemoval is pairAction for undoing a relation (unfollow, unblock):
// the target may be deactivated, since a follow of a deactivated user
// still counts and must be removable. remove returns how many rows it
// removed; removing nothing from a target that is not a live, active user
// is not_found, so the answer tells no more about the account than its
// profile does.
func (s *Social) pairRemoval(ctx context.Context, actorID, targetID int64, remove func(q *dbgen.Queries) (int64, error)) error {
	if actorID == targetID {
		return errSelf("id")
	}
	return inTx(ctx, s.db, func(q *dbgen.Queries) error {
		st, err := lockPair(ctx, q, actorID, targetID)
		if err != nil {
			return err
		}
		n, err := remove(q)
		if err != nil {
			return err
		}
		if n == 0 && !st.TargetVisible {
			return ErrNotFound
		}
		return nil
	})
}

// lockPair takes the pair's graph lock and reads the pair's state, in q's
// transaction. Errors: account_disabled (the actor is unknown, deleted or
// inactive).
func lockPair(ctx context.Context, q *dbgen.Queries, actorID, targetID int64) (dbgen.FollowPairCheckRow, error) {
	if err := q.FollowLockPair(ctx, dbgen.FollowLockPairParams{A: actorID, B: targetID}); err != nil {
		return dbgen.FollowPairCheckRow{}, fmt.Errorf("lock pair: %w", err)
	}
	st, err := q.FollowPairCheck(ctx, dbgen.FollowPairCheckParams{ActorID: actorID, TargetID: targetID})
	if err != nil {
		return st, notFoundAs(err, ErrAccountDisabled)
	}
	if !st.ActorUsable {
		return st, ErrAccountDisabled
	}
	return st, nil
}

// Follow makes by follow targetID. Following someone already
// followed changes nothing.
// Errors: validation_failed (field id: yourself), not_found (target
// unknown, deleted or inactive), blocked (either blocks the other),
// account_disabled, db_unavailable.
func (s *Social) Follow(ctx context.Context, by Principal, targetID int64) error {
	return s.pairAction(ctx, by.User.ID, targetID, func(q *dbgen.Queries, blocked bool) error {
		if blocked {
			return ErrBlocked
		}
		return errOnly(q.FollowInsert(ctx, dbgen.FollowInsertParams{FollowerID: by.User.ID, FolloweeID: targetID}))
	})
}

// Unfollow ends by's follow of targetID, also of a deactivated
// target (the follow counts until it ends). Unfollowing a live, active
// user not followed changes nothing.
// Errors: validation_failed (field id: yourself), not_found (target
// unknown or deleted, or inactive and not followed), account_disabled,
// db_unavailable.
func (s *Social) Unfollow(ctx context.Context, by Principal, targetID int64) error {
	return s.pairRemoval(ctx, by.User.ID, targetID, func(q *dbgen.Queries) (int64, error) {
		return q.FollowDelete(ctx, dbgen.FollowDeleteParams{FollowerID: by.User.ID, FolloweeID: targetID})
	})
}

// Block makes by block targetID and, in the same transaction, removes
// the follows between them both ways. Blocking someone already blocked
// changes nothing.
// Errors: validation_failed (field id: yourself), not_found (target
// unknown, deleted or inactive), account_disabled, db_unavailable.
func (s *Social) Block(ctx context.Context, by Principal, targetID int64) error {
	return s.pairAction(ctx, by.User.ID, targetID, func(q *dbgen.Queries, _ bool) error {
		if _, err := q.BlockInsert(ctx, dbgen.BlockInsertParams{BlockerID: by.User.ID, BlockedID: targetID}); err != nil {
			return err
		}
		return errOnly(q.FollowDeletePair(ctx, dbgen.FollowDeletePairParams{A: by.User.ID, B: targetID}))
	})
}

// Unblock ends by's block of targetID, also of a deactivated target
// (a block the target holds on by stays). Unblocking a live,
// active user not blocked changes nothing.
// Errors: as Unfollow.
func (s *Social) Unblock(ctx context.Context, by Principal, targetID int64) error {
	return s.pairRemoval(ctx, by.User.ID, targetID, func(q *dbgen.Queries) (int64, error) {
		return q.BlockDelete(ctx, dbgen.BlockDeleteParams{BlockerID: by.User.ID, BlockedID: targetID})
	})
}

// FollowStats are a user's follow counters.
type FollowStats struct {
	Followers int64
	Following int64
}

// visible checks that by may see user id's social pages: the rule of
// Admin.Profile (deleted: never; inactive or blocking the viewer: staff
// only).
// Errors: not_found.
func (s *Social) visible(ctx context.Context, by Principal, id int64) error {
	r, err := readV(ctx, s.db, func(q *dbgen.Queries) (dbgen.UserGetProfileRow, error) {
		return q.UserGetProfile(ctx, dbgen.UserGetProfileParams{ViewerID: by.User.ID, ID: id})
	})
	if err != nil {
		return err
	}
	if profileHidden(by, userFromRow(r.User), r.BlocksViewer) {
		return ErrNotFound
	}
	return nil
}

// Stats returns user id's follow counters as by may see them. They
// come from the denormalized counters and equal the true counts (see
// Social).
// Errors: not_found (unknown, deleted; inactive or blocking the viewer for
// all but staff), db_unavailable.
func (s *Social) Stats(ctx context.Context, by Principal, id int64) (FollowStats, error) {
	if err := s.visible(ctx, by, id); err != nil {
		return FollowStats{}, err
	}
	r, err := readV(ctx, s.db, func(q *dbgen.Queries) (dbgen.FollowStatsGetRow, error) { return q.FollowStatsGet(ctx, id) })
	if err != nil {
		return FollowStats{}, err
	}
	return FollowStats{Followers: r.FollowersCount, Following: r.FollowingCount}, nil
}

// SocialPage is one page of a social list: public profiles, newest edge
// first. NextCursor is nil on the last page.
type SocialPage = Page[User]

// socialRow is one row of a social list: the user and when the edge was
// made, which is its position in the list.
type socialRow struct {
	user User
	at   time.Time
}

func (r socialRow) keyset() Cursor { return Cursor{CreatedAt: r.at, ID: r.user.ID} }

// socialPage reads one keyset page of list kind bound to user id:
// fetch gets the position to start after and limit+1.
func (s *Social) socialPage(kind string, id int64, page PageRequest, fetch func(after Cursor, n int32) ([]socialRow, error)) (SocialPage, error) {
	p, err := s.cursors.startPage(kind, []byte(strconv.FormatInt(id, 10)), page)
	if err != nil {
		return SocialPage{}, err
	}
	rows, err := readPage(p, fetch, func(r socialRow) socialRow { return r })
	out := SocialPage{Items: make([]User, len(rows.Items)), NextCursor: rows.NextCursor}
	for i, r := range rows.Items {
		out.Items[i] = r.user
	}
	return out, err
}

// Followers returns one keyset page of the users who follow user id: live,
// active, and not blocking the viewer. The cursor is bound to the list and
// to id.
// Errors: validation_failed (limit), invalid_cursor, not_found (as Stats),
// db_unavailable.
func (s *Social) Followers(ctx context.Context, by Principal, id int64, page PageRequest) (SocialPage, error) {
	return s.follows(ctx, cursorFollowers, by, id, page, (*dbgen.Queries).FollowListFollowers)
}

// Following returns one keyset page of the users whom user id follows:
// live, active, and not blocking the viewer. The cursor is bound to the
// list and to id.
// Errors: validation_failed (limit), invalid_cursor, not_found (as Stats),
// db_unavailable.
func (s *Social) Following(ctx context.Context, by Principal, id int64, page PageRequest) (SocialPage, error) {
	// The two lists' parameters and rows have the same fields.
	list := func(q *dbgen.Queries, ctx context.Context, p dbgen.FollowListFollowersParams) ([]dbgen.FollowListFollowersRow, error) {
		rows, err := q.FollowListFollowing(ctx, dbgen.FollowListFollowingParams(p))
		out := make([]dbgen.FollowListFollowersRow, len(rows))
		for i, r := range rows {
			out[i] = dbgen.FollowListFollowersRow(r)
		}
		return out, err
	}
	return s.follows(ctx, cursorFollowing, by, id, page, list)
}

// follows is a page of Followers or Following (kind) of user id: list
// reads it, from the replica when one is fresh enough (readV).
func (s *Social) follows(ctx context.Context, kind string, by Principal, id int64, page PageRequest,
	list func(*dbgen.Queries, context.Context, dbgen.FollowListFollowersParams) ([]dbgen.FollowListFollowersRow, error)) (SocialPage, error) {
	if err := s.visible(ctx, by, id); err != nil {
		return SocialPage{}, err
	}
	return s.socialPage(kind, id, page, func(after Cursor, n int32) ([]socialRow, error) {
		rows, err := readV(ctx, s.db, func(q *dbgen.Queries) ([]dbgen.FollowListFollowersRow, error) {
			return list(q, ctx, dbgen.FollowListFollowersParams{
				UserID: id, ViewerID: by.User.ID, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n,
			})
		})
		out := make([]socialRow, len(rows))
		for i, r := range rows {
			out[i] = socialRow{user: userFromRow(r.User), at: r.FollowedAt}
		}
		return out, err
	})
}

// Blocks returns one keyset page of the live, active users whom by
// blocks, newest block first. The cursor is bound to the list and to by.
// Errors: validation_failed (limit), invalid_cursor, db_unavailable.
func (s *Social) Blocks(ctx context.Context, by Principal, page PageRequest) (SocialPage, error) {
	userID := by.User.ID
	return s.socialPage(cursorBlocks, userID, page, func(after Cursor, n int32) ([]socialRow, error) {
		rows, err := s.db.q.BlockListByBlocker(ctx, dbgen.BlockListByBlockerParams{
			BlockerID: userID, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n,
		})
		out := make([]socialRow, len(rows))
		for i, r := range rows {
			out[i] = socialRow{user: userFromRow(r.User), at: r.BlockedAt}
		}
		return out, err
	})
}

// foldBatch is how many counter deltas one fold statement moves.
const foldBatch = 10_000

// FoldCounters moves pending follow-counter deltas into the base counters,
// at most batch of them (oldest first), and returns how many it moved; 0
// also when another instance is folding right now. Reads are exact with or
// without folds: folding only keeps them cheap.
// Errors: db_unavailable.
func (s *Social) FoldCounters(ctx context.Context, batch int) (int64, error) {
	return inTxV(ctx, s.db, func(q *dbgen.Queries) (int64, error) {
		ok, err := q.FollowStatsFoldLock(ctx)
		if err != nil || !ok {
			return 0, err
		}
		return q.FollowStatsFold(ctx, int32(batch))
	})
}

// RunFolder folds counter deltas every interval until ctx ends, draining
// the backlog in batches each time.
func (s *Social) RunFolder(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := s.FoldCounters(ctx, foldBatch)
			if err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "fold follow counters", "err", err)
			}
			if n < foldBatch || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CounterMismatches returns how many users' follow counters differ from
// their true counts: 0 unless something is broken. It reads every user
// and every follow (for checks and the benchmark, not for requests).
// Errors: db_unavailable.
func (s *Social) CounterMismatches(ctx context.Context) (int64, error) {
	return inTxV(ctx, s.db, func(q *dbgen.Queries) (int64, error) { return q.FollowStatsMismatchCount(ctx) })
}
