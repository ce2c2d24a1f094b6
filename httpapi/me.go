package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/service"
)

// mergeTypes are the media types a merge patch may be sent as.
var mergeTypes = []string{"application/merge-patch+json", "application/json"}

// meBody is the encoded private view of a user and its strong ETag, made
// once per cached principal (service.Memo), with the header values that
// send them: each a full slice (len = cap), shared by the answers of that
// principal and never written to (an Add copies).
type meBody struct {
	srv          *Server // the rendering depends on the server (its public URL)
	body         []byte
	etag         string
	etagHeader   []string
	lengthHeader []string
	err          error
}

// Header values every answer of GET /users/me sends, never written to.
var (
	meCacheControl = []string{"private, no-cache"}
	meContentType  = []string{"application/json"}
)

func (s *Server) encodeMe(u service.User) meBody {
	b, err := json.Marshal(s.private(u))
	if err != nil {
		return meBody{srv: s, err: fmt.Errorf("encode response: %w", err)}
	}
	b = append(b, '\n')
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	return meBody{srv: s, body: b, etag: etag, etagHeader: []string{etag}, lengthHeader: []string{strconv.Itoa(len(b))}}
}

// getMe answers the caller's private view with a strong ETag (a hash of
// the body); If-None-Match naming it answers 304. The body of a cached
// principal is encoded once.
func (s *Server) getMe(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	m := s.meOf(principal(r.Context()))
	if m.err != nil {
		return m.err
	}
	h := w.Header()
	h["Etag"] = m.etagHeader
	h["Cache-Control"] = meCacheControl
	if etagMatches(headerValue(r.Header, "If-None-Match"), m.etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h["Content-Type"] = meContentType
	h["Content-Length"] = m.lengthHeader
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(m.body)
	return nil
}

// meOf is the encoded private view of p's user: its memo's when p is
// cached (and the memo is this server's), else encoded now.
func (s *Server) meOf(p service.Principal) meBody {
	u := &p.User
	m := p.Memo.Value(func() any { return s.encodeMe(*u) }).(meBody)
	if m.srv != s { // another server over the same cache made it
		m = s.encodeMe(p.User)
	}
	return m
}

// etagMatches reports whether an If-None-Match header names etag (or is
// "*"), compared weakly as RFC 9110 has it for If-None-Match.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}

func (s *Server) patchMe(q req, p service.ProfilePatch) (userView, error) {
	return then(s.private)(s.users.UpdateProfile(q.Context(), q.caller(), p))
}

// preferencesView is the caller's preferences after a merge patch.
type preferencesView struct {
	Preferences json.RawMessage `json:"preferences"`
}

func (s *Server) patchPreferences(q req, patch json.RawMessage) (preferencesView, error) {
	// The body is the preferences object itself; a client that wraps it
	// in {"preferences": {...}} would store a nested key without noticing.
	var top map[string]json.RawMessage
	if json.Unmarshal(patch, &top) == nil {
		if v, ok := top["preferences"]; ok && strings.HasPrefix(strings.TrimSpace(string(v)), "{") {
			return preferencesView{}, service.Invalid(service.FieldError{Field: "preferences",
				Message: `the body is the preferences object itself, not wrapped in {"preferences": …}: send {"theme": "dark"}`})
		}
	}
	return then(func(p json.RawMessage) preferencesView { return preferencesView{p} })(
		s.users.UpdatePreferences(q.Context(), q.caller(), patch))
}

type locationBody struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
}

// placeView is the caller's location after it is set.
type placeView struct {
	Location *locationView `json:"location"`
}

func (s *Server) putLocation(q req, b locationBody) (placeView, error) {
	var missing []service.FieldError
	if b.Latitude == nil {
		missing = append(missing, service.FieldError{Field: "latitude", Message: "is required"})
	}
	if b.Longitude == nil {
		missing = append(missing, service.FieldError{Field: "longitude", Message: "is required"})
	}
	if len(missing) > 0 {
		return placeView{}, service.Invalid(missing...)
	}
	return then(func(u service.User) placeView { return placeView{s.private(u).Location} })(
		s.users.SetLocation(q.Context(), q.caller(), &service.Location{Latitude: *b.Latitude, Longitude: *b.Longitude}))
}

func (s *Server) deleteLocation(q req) (none, error) {
	_, err := s.users.SetLocation(q.Context(), q.caller(), nil)
	return none{}, err
}

type identityView struct {
	Provider   string    `json:"provider"`
	Email      *string   `json:"email"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

func viewIdentity(id service.Identity) identityView {
	return identityView{Provider: id.Provider, Email: id.Email, CreatedAt: id.CreatedAt.UTC(), LastSeenAt: id.LastSeenAt.UTC()}
}

// itemsView is a whole list, not paged.
type itemsView[T any] struct {
	Items []T `json:"items"`
}

// viewItems is the view of a whole list.
func viewItems[T, V any](view func(T) V) func([]T) itemsView[V] {
	return func(ts []T) itemsView[V] {
		out := itemsView[V]{Items: make([]V, len(ts))}
		for i, t := range ts {
			out.Items[i] = view(t)
		}
		return out
	}
}

func (s *Server) listIdentities(q req) (itemsView[identityView], error) {
	return then(viewItems(viewIdentity))(s.users.Identities(q.Context(), q.caller()))
}

// linkBody is the body of an explicit link: a fresh IdP token, and the
// password of an account that has one (unless signed in in the last 5
// minutes).
type linkBody struct {
	Token           string  `json:"token"`
	CurrentPassword *string `json:"current_password"`
}

// linkIdentity links an IdP login to the caller's account, signed in with
// userd's own token: the explicit link an account with a password needs.
func (s *Server) linkIdentity(q req, b linkBody) (identityView, error) {
	return then(viewIdentity)(s.auth.LinkIdentity(q.Context(), q.caller(), b.Token, b.CurrentPassword))
}

// exportMe answers everything userd holds about the caller as one JSON
// document to save: the profile (private view) and the data of every
// table about them (service.DataExportTables).
func (s *Server) exportMe(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	by := principal(r.Context())
	data, err := s.exportDocument(r.Context(), by)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="userd-export-%d.json"`, by.User.ID))
	return reply(w, http.StatusOK, data)
}

// exportDocument is the data export of by as GET /users/me/export
// answers it.
func (s *Server) exportDocument(ctx context.Context, by service.Principal) (map[string]json.RawMessage, error) {
	e, err := s.users.Export(ctx, by)
	if err != nil {
		return nil, err
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return nil, fmt.Errorf("decode the data export of user %d: %w", by.User.ID, err)
	}
	profile, err := json.Marshal(s.private(e.User))
	if err != nil {
		return nil, fmt.Errorf("encode profile: %w", err)
	}
	data["profile"] = profile
	data["exported_at"], _ = json.Marshal(time.Now().UTC())
	return data, nil
}

// ExportDocument is the data export of by, encoded as GET
// /api/v1/users/me/export answers it (the hosted pages' download).
func (s *Server) ExportDocument(ctx context.Context, by service.Principal) ([]byte, error) {
	data, err := s.exportDocument(ctx, by)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(data, "", "  ")
}

func (s *Server) deleteMe(q req) (messageView, error) {
	return message("Your account has been deleted.", s.users.Delete(q.Context(), q.caller(), q.callerID()))
}

func (s *Server) deleteAccount(q req) (none, error) {
	return done(s.users.Delete(q.Context(), q.caller(), q.callerID()))
}
