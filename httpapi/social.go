package httpapi

import (
	"context"
	"net/http"

	"github.com/userd/userd/service"
)

// pairAction is a write from the caller to user {id}: 204 when done.
func (s *Server) pairAction(act func(ctx context.Context, actorID, targetID int64) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if err := act(r.Context(), principal(r.Context()).User.ID, id); err != nil {
			return err
		}
		return noContent(w)
	}
}

// socialList is a page of public profiles of a list of user {id}.
func (s *Server) socialList(list func(ctx context.Context, viewer service.User, id int64, page service.PageRequest) (service.SocialPage, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		v, err := query(r, "limit", "cursor")
		if err != nil {
			return err
		}
		req, err := pageRequest(v)
		if err != nil {
			return err
		}
		page, err := list(r.Context(), principal(r.Context()).User, id, req)
		if err != nil {
			return err
		}
		return reply(w, http.StatusOK, s.publicPage(page))
	}
}

func (s *Server) listBlocks(w http.ResponseWriter, r *http.Request) error {
	v, err := query(r, "limit", "cursor")
	if err != nil {
		return err
	}
	req, err := pageRequest(v)
	if err != nil {
		return err
	}
	page, err := s.social.Blocks(r.Context(), principal(r.Context()).User.ID, req)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, s.publicPage(page))
}

// publicPage is a page of users in the public view.
func (s *Server) publicPage(page service.SocialPage) pageView[publicView] {
	out := pageView[publicView]{Items: make([]publicView, len(page.Items)), NextCursor: page.NextCursor}
	for i, u := range page.Items {
		out.Items[i] = s.public(u)
	}
	return out
}

type followStatsView struct {
	FollowersCount int64 `json:"followers_count"`
	FollowingCount int64 `json:"following_count"`
}

func (s *Server) followStats(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := query(r); err != nil {
		return err
	}
	st, err := s.social.Stats(r.Context(), principal(r.Context()).User, id)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, followStatsView{FollowersCount: st.Followers, FollowingCount: st.Following})
}
