package httpapi

import (
	"context"

	"github.com/userd/userd/service"
)

// pairAction is a write from the caller to user {id}: 204 when done.
func pairAction(act func(ctx context.Context, by service.Principal, targetID int64) error) func(q req) (none, error) {
	return func(q req) (none, error) {
		return done(act(q.Context(), q.caller(), q.id))
	}
}

// socialList is a page of public profiles of a list of user {id}.
func (s *Server) socialList(list func(ctx context.Context, by service.Principal, id int64, page service.PageRequest) (service.SocialPage, error)) func(q req, page service.PageRequest) (pageView[publicView], error) {
	return func(q req, page service.PageRequest) (pageView[publicView], error) {
		return then(s.publicPage)(list(q.Context(), q.caller(), q.id, page))
	}
}

func (s *Server) listBlocks(q req, page service.PageRequest) (pageView[publicView], error) {
	return then(s.publicPage)(s.social.Blocks(q.Context(), q.caller(), page))
}

// publicPage is a page of users in the public view.
func (s *Server) publicPage(page service.SocialPage) pageView[publicView] {
	return viewPage(page, s.public)
}

type followStatsView struct {
	FollowersCount int64 `json:"followers_count"`
	FollowingCount int64 `json:"following_count"`
}

func (s *Server) followStats(q req) (followStatsView, error) {
	return then(func(st service.FollowStats) followStatsView {
		return followStatsView{FollowersCount: st.Followers, FollowingCount: st.Following}
	})(s.social.Stats(q.Context(), q.caller(), q.id))
}
