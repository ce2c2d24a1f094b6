package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/userd/userd/service"
)

// mergeTypes are the media types a merge patch may be sent as.
var mergeTypes = []string{"application/merge-patch+json", "application/json"}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	return reply(w, http.StatusOK, s.private(principal(r.Context()).User))
}

func (s *Server) patchMe(w http.ResponseWriter, r *http.Request) error {
	var p service.ProfilePatch
	if err := decode(w, r, &p, mergeTypes...); err != nil {
		return err
	}
	u, err := s.users.UpdateProfile(r.Context(), principal(r.Context()).User.ID, p)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, s.private(u))
}

func (s *Server) patchPreferences(w http.ResponseWriter, r *http.Request) error {
	var patch json.RawMessage
	if err := decode(w, r, &patch, mergeTypes...); err != nil {
		return err
	}
	prefs, err := s.users.UpdatePreferences(r.Context(), principal(r.Context()).User.ID, patch)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, map[string]json.RawMessage{"preferences": prefs})
}

type locationBody struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
}

func (s *Server) putLocation(w http.ResponseWriter, r *http.Request) error {
	var b locationBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	var missing []service.FieldError
	if b.Latitude == nil {
		missing = append(missing, service.FieldError{Field: "latitude", Message: "is required"})
	}
	if b.Longitude == nil {
		missing = append(missing, service.FieldError{Field: "longitude", Message: "is required"})
	}
	if len(missing) > 0 {
		return service.Invalid(missing...)
	}
	u, err := s.users.SetLocation(r.Context(), principal(r.Context()).User.ID, &service.Location{Latitude: *b.Latitude, Longitude: *b.Longitude})
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, map[string]any{"location": s.private(u).Location})
}

func (s *Server) deleteLocation(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.users.SetLocation(r.Context(), principal(r.Context()).User.ID, nil); err != nil {
		return err
	}
	return noContent(w)
}

type identityView struct {
	Provider   string    `json:"provider"`
	Email      *string   `json:"email"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

func (s *Server) listIdentities(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	ids, err := s.users.Identities(r.Context(), principal(r.Context()).User.ID)
	if err != nil {
		return err
	}
	items := make([]identityView, len(ids))
	for i, id := range ids {
		items[i] = identityView{Provider: id.Provider, Email: id.Email, CreatedAt: id.CreatedAt.UTC(), LastSeenAt: id.LastSeenAt.UTC()}
	}
	return reply(w, http.StatusOK, map[string]any{"items": items})
}

type linkIdentityBody struct {
	Token string `json:"token"`
}

// linkIdentity links an IdP login to the caller's account, signed in with
// userd's own token: the explicit link an account with a password needs.
func (s *Server) linkIdentity(w http.ResponseWriter, r *http.Request) error {
	var b linkIdentityBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	id, err := s.auth.LinkIdentity(r.Context(), principal(r.Context()), b.Token)
	if err != nil {
		return err
	}
	return reply(w, http.StatusCreated, identityView{Provider: id.Provider, Email: id.Email, CreatedAt: id.CreatedAt.UTC(), LastSeenAt: id.LastSeenAt.UTC()})
}

func (s *Server) deleteMe(w http.ResponseWriter, r *http.Request) error {
	id := principal(r.Context()).User.ID
	if err := s.users.Delete(r.Context(), id, id); err != nil {
		return err
	}
	return reply(w, http.StatusOK, map[string]string{"message": "Your account has been deleted."})
}

func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request) error {
	id := principal(r.Context()).User.ID
	if err := s.users.Delete(r.Context(), id, id); err != nil {
		return err
	}
	return noContent(w)
}
