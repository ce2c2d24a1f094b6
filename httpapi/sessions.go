package httpapi

import (
	"time"

	"github.com/userd/userd/service"
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

func (s *Server) listSessions(q req, page service.PageRequest) (pageView[sessionView], error) {
	current := q.caller().SessionID
	return then(func(p service.Page[service.Session]) pageView[sessionView] {
		return viewPage(p, func(ss service.Session) sessionView {
			v := sessionView{
				ID: ss.ID, CreatedAt: ss.CreatedAt.UTC(), LastUsedAt: ss.LastUsedAt.UTC(), ExpiresAt: ss.ExpiresAt.UTC(),
				UserAgent: ss.UserAgent, Current: ss.ID == current,
			}
			if ss.IP != nil {
				ip := ss.IP.String()
				v.IP = &ip
			}
			return v
		})
	})(s.accounts.Sessions(q.Context(), q.caller(), page))
}

func (s *Server) deleteSession(q req) (none, error) {
	return done(s.accounts.RevokeSession(q.Context(), q.caller(), q.id))
}

func (s *Server) deleteIdentity(q req) (none, error) {
	return done(s.users.UnlinkIdentity(q.Context(), q.caller(), q.PathValue("provider")))
}
