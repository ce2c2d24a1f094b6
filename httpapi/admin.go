package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/service"
)

// adminRoutes registers the directory and administration routes.
func (s *Server) adminRoutes() {
	s.handle("GET /api/v1/users", s.may(service.PermListUsers, s.listUsers))
	s.handle("GET /api/v1/users/lookup", s.may(service.PermLookUpUsers, s.lookupUser))
	s.handle("GET /api/v1/users/{id}", s.authed(s.getUser))
	s.handle("PUT /api/v1/users/{id}/role", s.may(service.PermManageUsers, s.putRole))
	s.handle("POST /api/v1/users/{id}/deactivate", s.may(service.PermManageUsers, s.deactivateUser))
	s.handle("POST /api/v1/users/{id}/reactivate", s.may(service.PermManageUsers, s.reactivateUser))
	s.handle("DELETE /api/v1/users/{id}", s.may(service.PermManageUsers, s.deleteUser))
	s.handle("GET /api/v1/audit-events", s.may(service.PermReadAudit, s.listAuditEvents))
}

// pathID reads the {id} path value; anything but a positive integer is a
// route that does not exist.
func pathID(r *http.Request) (int64, error) { return pathInt64(r, "id") }

// pathInt64 reads a positive integer path value; anything else is a route
// that does not exist.
func pathInt64(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// queryParam returns a query parameter, nil when it is absent.
func queryParam(v url.Values, name string) *string {
	if !v.Has(name) {
		return nil
	}
	s := v.Get(name)
	return &s
}

// pageRequest reads limit and cursor.
func pageRequest(v url.Values) (service.PageRequest, error) {
	p := service.PageRequest{Cursor: v.Get("cursor")}
	if l := queryParam(v, "limit"); l != nil {
		n, err := strconv.Atoi(*l)
		if err != nil {
			return p, service.Invalid(service.FieldError{Field: "limit", Message: "must be an integer between 1 and 200"})
		}
		p.Limit = &n
	}
	return p, nil
}

// pageView is a keyset page of any list.
type pageView[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	v, err := query(r, "q", "role", "is_active", "limit", "cursor")
	if err != nil {
		return err
	}
	page, err := pageRequest(v)
	if err != nil {
		return err
	}
	f := service.UserFilter{Q: queryParam(v, "q")}
	if role := v.Get("role"); role != "" {
		f.Role = &role
	}
	if a := v.Get("is_active"); a != "" {
		active, err := strconv.ParseBool(a)
		if err != nil {
			return service.Invalid(service.FieldError{Field: "is_active", Message: "must be true or false"})
		}
		f.IsActive = &active
	}
	res, err := s.admin.ListUsers(r.Context(), f, page)
	if err != nil {
		return err
	}
	caller := principal(r.Context()).User
	out := pageView[any]{Items: make([]any, len(res.Items)), NextCursor: res.NextCursor}
	for i, u := range res.Items {
		out.Items[i] = s.staffView(caller, u)
	}
	return reply(w, http.StatusOK, out)
}

func (s *Server) lookupUser(w http.ResponseWriter, r *http.Request) error {
	v, err := query(r, "phone", "email")
	if err != nil {
		return err
	}
	caller := principal(r.Context()).User
	u, err := s.admin.Lookup(r.Context(), caller, service.LookupQuery{
		Phone: queryParam(v, "phone"), Email: queryParam(v, "email"),
	})
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, s.staffView(caller, u))
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := query(r); err != nil {
		return err
	}
	p, err := s.admin.Profile(r.Context(), principal(r.Context()).User, id)
	if err != nil {
		return err
	}
	if p.Private {
		return reply(w, http.StatusOK, s.private(p.User))
	}
	return reply(w, http.StatusOK, s.public(p.User))
}

type roleBody struct {
	Role     string `json:"role"`
	ArtistID *int64 `json:"artist_id"`
}

func (s *Server) putRole(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var b roleBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	u, err := s.admin.SetRole(r.Context(), principal(r.Context()).User.ID, id, service.Role(b.Role), b.ArtistID)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, s.private(u))
}

func (s *Server) deactivateUser(w http.ResponseWriter, r *http.Request) error {
	return s.setActive(w, r, false)
}

func (s *Server) reactivateUser(w http.ResponseWriter, r *http.Request) error {
	return s.setActive(w, r, true)
}

func (s *Server) setActive(w http.ResponseWriter, r *http.Request, active bool) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := s.admin.SetActive(r.Context(), principal(r.Context()).User.ID, id, active)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, s.private(u))
}

// deleteUser is an admin's delete: the same anonymizing delete as a self
// delete, audited as admin.user_deleted.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.users.Delete(r.Context(), id, principal(r.Context()).User.ID); err != nil {
		return err
	}
	return reply(w, http.StatusOK, map[string]string{"message": "The account has been deleted."})
}

type auditEventView struct {
	ID             int64           `json:"id"`
	ActorID        *int64          `json:"actor_id"`
	TargetUserID   *int64          `json:"target_user_id"`
	OrganizationID *int64          `json:"organization_id"`
	Action         string          `json:"action"`
	Details        json.RawMessage `json:"details"`
	CreatedAt      time.Time       `json:"created_at"`
}

func (s *Server) listAuditEvents(w http.ResponseWriter, r *http.Request) error {
	v, err := query(r, "actor_id", "target_user_id", "action", "since", "limit", "cursor")
	if err != nil {
		return err
	}
	page, err := pageRequest(v)
	if err != nil {
		return err
	}
	f, err := auditFilter(v)
	if err != nil {
		return err
	}
	res, err := s.admin.AuditEvents(r.Context(), f, page)
	if err != nil {
		return err
	}
	out := pageView[auditEventView]{Items: make([]auditEventView, len(res.Items)), NextCursor: res.NextCursor}
	for i, e := range res.Items {
		out.Items[i] = auditEventView{
			ID: e.ID, ActorID: e.ActorID, TargetUserID: e.TargetUserID, OrganizationID: e.OrganizationID,
			Action: e.Action, Details: e.Details, CreatedAt: e.CreatedAt.UTC(),
		}
	}
	return reply(w, http.StatusOK, out)
}

// auditFilter reads the audit log's filters; an empty value does not
// filter. Malformed ids and times are validation_failed on their field.
func auditFilter(v url.Values) (service.AuditFilter, error) {
	var f service.AuditFilter
	var bad []service.FieldError
	for name, dst := range map[string]**int64{"actor_id": &f.ActorID, "target_user_id": &f.TargetUserID} {
		if s := v.Get(name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				bad = append(bad, service.FieldError{Field: name, Message: "must be a positive integer"})
				continue
			}
			*dst = &n
		}
	}
	if a := v.Get("action"); a != "" {
		f.Action = &a
	}
	if s := v.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			bad = append(bad, service.FieldError{Field: "since", Message: "must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z"})
		} else {
			f.Since = &t
		}
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b service.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return f, service.Invalid(bad...)
	}
	return f, nil
}
