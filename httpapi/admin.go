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
	s.handle("GET /api/v1/users", s.may(service.PermListUsers, list(s.listUsers, "q", "role", "is_active", "email_verified", "organization_id")))
	s.handle("GET /api/v1/users/lookup", s.may(service.PermLookUpUsers, s.lookupUser))
	s.handle("GET /api/v1/users/{id}", s.authed(get(s.getUser)))
	s.handle("PUT /api/v1/users/{id}/role", s.may(service.PermManageUsers, body(http.StatusOK, s.putRole)))
	s.handle("POST /api/v1/users/{id}/deactivate", s.may(service.PermManageUsers, act(http.StatusOK, s.setActive(false))))
	s.handle("POST /api/v1/users/{id}/reactivate", s.may(service.PermManageUsers, act(http.StatusOK, s.setActive(true))))
	s.handle("DELETE /api/v1/users/{id}", s.may(service.PermManageUsers, act(http.StatusOK, s.deleteUser)))
	s.handle("GET /api/v1/audit-events", s.may(service.PermReadAudit, list(s.listAuditEvents, "actor_id", "target_user_id", "action", "since")))
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
			return p, service.Invalid(service.FieldError{Field: "limit", Message: service.PageLimitProblem})
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

func (s *Server) listUsers(q req, page service.PageRequest) (pageView[any], error) {
	v := q.URL.Query()
	f := service.UserFilter{Q: queryParam(v, "q")}
	if role := v.Get("role"); role != "" {
		f.Role = &role
	}
	if a := v.Get("is_active"); a != "" {
		active, err := strconv.ParseBool(a)
		if err != nil {
			return pageView[any]{}, service.Invalid(service.FieldError{Field: "is_active", Message: "must be true or false"})
		}
		f.IsActive = &active
	}
	if a := v.Get("email_verified"); a != "" {
		verified, err := strconv.ParseBool(a)
		if err != nil {
			return pageView[any]{}, service.Invalid(service.FieldError{Field: "email_verified", Message: "must be true or false"})
		}
		f.EmailVerified = &verified
	}
	if o := v.Get("organization_id"); o != "" {
		id, err := strconv.ParseInt(o, 10, 64)
		if err != nil {
			return pageView[any]{}, service.Invalid(service.FieldError{Field: "organization_id", Message: "must be a positive integer"})
		}
		f.OrganizationID = &id
	}
	caller := q.caller()
	return then(func(p service.Page[service.User]) pageView[any] {
		return viewPage(p, func(u service.User) any { return s.staffView(caller.User, u) })
	})(s.admin.ListUsers(q.Context(), caller, f, page))
}

func (s *Server) lookupUser(w http.ResponseWriter, r *http.Request) error {
	v, err := query(r, "phone", "email")
	if err != nil {
		return err
	}
	caller := principal(r.Context())
	u, err := s.admin.Lookup(r.Context(), caller, service.LookupQuery{
		Phone: queryParam(v, "phone"), Email: queryParam(v, "email"),
	})
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, s.staffView(caller.User, u))
}

func (s *Server) getUser(q req) (any, error) {
	return then(func(p service.Profile) any {
		if p.Private {
			return s.private(p.User)
		}
		return s.public(p.User)
	})(s.admin.Profile(q.Context(), q.caller(), q.id))
}

type roleBody struct {
	Role     string `json:"role"`
	ArtistID *int64 `json:"artist_id"`
}

func (s *Server) putRole(q req, b roleBody) (userView, error) {
	return then(s.private)(s.admin.SetRole(q.Context(), q.caller(), q.id, service.Role(b.Role), b.ArtistID))
}

// setActive deactivates (false) or reactivates (true) user {id}.
func (s *Server) setActive(active bool) func(q req) (userView, error) {
	return func(q req) (userView, error) {
		return then(s.private)(s.admin.SetActive(q.Context(), q.caller(), q.id, active))
	}
}

// deleteUser is an admin's delete: the same anonymizing delete as a self
// delete, audited as admin.user_deleted.
func (s *Server) deleteUser(q req) (messageView, error) {
	return message("The account has been deleted.", s.users.Delete(q.Context(), q.caller(), q.id))
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

func (s *Server) listAuditEvents(q req, page service.PageRequest) (pageView[auditEventView], error) {
	f, err := auditFilter(q.URL.Query())
	if err != nil {
		return pageView[auditEventView]{}, err
	}
	return then(func(p service.Page[service.AuditEvent]) pageView[auditEventView] {
		return viewPage(p, func(e service.AuditEvent) auditEventView {
			return auditEventView{
				ID: e.ID, ActorID: e.ActorID, TargetUserID: e.TargetUserID, OrganizationID: e.OrganizationID,
				Action: e.Action, Details: e.Details, CreatedAt: e.CreatedAt.UTC(),
			}
		})
	})(s.admin.AuditEvents(q.Context(), q.caller(), f, page))
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
