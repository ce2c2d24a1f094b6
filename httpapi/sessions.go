package httpapi

import (
	"net/http"
	"time"
)

// sessionView is one signed-in device of the caller.
type sessionView struct {
	ID         int64     `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  *string   `json:"user_agent"`
	IP         *string   `json:"ip"`
	Current    bool      `json:"current"` // the session of the caller's token
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	p := principal(r.Context())
	v, err := query(r, "limit", "cursor")
	if err != nil {
		return err
	}
	req, err := pageRequest(v)
	if err != nil {
		return err
	}
	page, err := s.accounts.Sessions(r.Context(), p.User.ID, req)
	if err != nil {
		return err
	}
	items := make([]sessionView, len(page.Items))
	for i, ss := range page.Items {
		items[i] = sessionView{
			ID: ss.ID, CreatedAt: ss.CreatedAt.UTC(), LastUsedAt: ss.LastUsedAt.UTC(), ExpiresAt: ss.ExpiresAt.UTC(),
			UserAgent: ss.UserAgent, Current: ss.ID == p.SessionID,
		}
		if ss.IP != nil {
			ip := ss.IP.String()
			items[i].IP = &ip
		}
	}
	return reply(w, http.StatusOK, pageView[sessionView]{Items: items, NextCursor: page.NextCursor})
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.accounts.RevokeSession(r.Context(), principal(r.Context()).User.ID, id); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) deleteIdentity(w http.ResponseWriter, r *http.Request) error {
	if err := s.users.UnlinkIdentity(r.Context(), principal(r.Context()).User.ID, r.PathValue("provider")); err != nil {
		return err
	}
	return noContent(w)
}
