package httpapi

import (
	"net/http"
	"time"

	"github.com/userd/userd/service"
)

// orgRoutes registers the organization routes. Who may call what is the
// service's policy (service.OrgMay); these only decode and respond.
func (s *Server) orgRoutes() {
	s.handle("POST /api/v1/organizations", s.authed(s.createOrg))
	s.handle("GET /api/v1/organizations/{id}", s.authed(s.getOrg))
	s.handle("PATCH /api/v1/organizations/{id}", s.authed(s.patchOrg))
	s.handle("DELETE /api/v1/organizations/{id}", s.authed(s.deleteOrg))
	s.handle("POST /api/v1/organizations/{id}/invitations", s.authed(s.createInvitation))
	s.handle("GET /api/v1/organizations/{id}/invitations", s.authed(s.listInvitations))
	s.handle("DELETE /api/v1/organizations/{id}/invitations/{invitation_id}", s.authed(s.revokeInvitation))
	s.handle("POST /api/v1/invitations/accept", s.authed(s.acceptInvitation))
	s.handle("GET /api/v1/organizations/{id}/members", s.authed(s.listMembers))
	s.handle("DELETE /api/v1/organizations/{id}/members/{user_id}", s.authed(s.removeMember))
	s.handle("PUT /api/v1/organizations/{id}/members/{user_id}/groups", s.authed(s.putMemberGroups))
	s.handle("GET /api/v1/organizations/{id}/groups", s.authed(s.listOrgGroups))
	s.handle("PUT /api/v1/organizations/{id}/plan", s.may(service.PermManageOrganizations, s.putOrgPlan))
}

type orgView struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Plan      string    `json:"plan"`
	SeatLimit *int      `json:"seat_limit"`
	SeatsUsed int       `json:"seats_used"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type orgDetailView struct {
	orgView
	Members            pageView[memberView]     `json:"members"`
	PendingInvitations pageView[invitationView] `json:"pending_invitations"`
}

type memberView struct {
	publicView
	Groups []string `json:"groups"`
}

type invitationView struct {
	ID             int64     `json:"id"`
	OrganizationID int64     `json:"organization_id"`
	Email          *string   `json:"email"`
	Groups         []string  `json:"groups"`
	InviterID      *int64    `json:"inviter_id"`
	CreatedAt      time.Time `json:"created_at"`
	ExpiresAt      time.Time `json:"expires_at"`
}

type groupView struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func viewOrg(o service.Organization) orgView {
	return orgView{
		ID: o.ID, Name: o.Name, Plan: o.Plan, SeatLimit: o.SeatLimit, SeatsUsed: o.SeatsUsed,
		CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(),
	}
}

func (s *Server) viewMember(m service.Member) memberView {
	return memberView{publicView: s.public(m.User), Groups: nonNil(m.Groups)}
}

func viewInvitation(i service.Invitation) invitationView {
	v := invitationView{
		ID: i.ID, OrganizationID: i.OrganizationID, Groups: nonNil(i.Groups), InviterID: i.InviterID,
		CreatedAt: i.CreatedAt.UTC(), ExpiresAt: i.ExpiresAt.UTC(),
	}
	if i.Email != "" {
		v.Email = &i.Email
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// viewPage turns a service page into its JSON view.
func viewPage[T, V any](p service.Page[T], view func(T) V) pageView[V] {
	out := pageView[V]{Items: make([]V, len(p.Items)), NextCursor: p.NextCursor}
	for i, it := range p.Items {
		out.Items[i] = view(it)
	}
	return out
}

type orgCreateBody struct {
	Name string `json:"name"`
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request) error {
	var b orgCreateBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	o, err := s.orgs.Create(r.Context(), principal(r.Context()).User.ID, b.Name)
	if err != nil {
		return err
	}
	return reply(w, http.StatusCreated, viewOrg(o))
}

func (s *Server) getOrg(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := query(r); err != nil {
		return err
	}
	d, err := s.orgs.Get(r.Context(), principal(r.Context()).User.ID, id)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, orgDetailView{
		orgView:            viewOrg(d.Organization),
		Members:            viewPage(d.Members, s.viewMember),
		PendingInvitations: viewPage(d.Invitations, viewInvitation),
	})
}

func (s *Server) patchOrg(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var p service.OrgPatch
	if err := decode(w, r, &p, mergeTypes...); err != nil {
		return err
	}
	o, err := s.orgs.Update(r.Context(), principal(r.Context()).User.ID, id, p)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, viewOrg(o))
}

func (s *Server) deleteOrg(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.orgs.Delete(r.Context(), principal(r.Context()).User.ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type invitationBody struct {
	Email  string   `json:"email"`
	Groups []string `json:"groups"`
}

func (s *Server) createInvitation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var b invitationBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	inv, err := s.orgs.Invite(r.Context(), principal(r.Context()).User.ID, id, b.Email, b.Groups)
	if err != nil {
		return err
	}
	return reply(w, http.StatusCreated, viewInvitation(inv))
}

func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := query(r, "limit", "cursor")
	if err != nil {
		return err
	}
	page, err := pageRequest(v)
	if err != nil {
		return err
	}
	p, err := s.orgs.ListInvitations(r.Context(), principal(r.Context()).User.ID, id, page)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, viewPage(p, viewInvitation))
}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	invID, err := pathInt64(r, "invitation_id")
	if err != nil {
		return err
	}
	if err := s.orgs.RevokeInvitation(r.Context(), principal(r.Context()).User.ID, id, invID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type acceptBody struct {
	Token string `json:"token"`
}

func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	var b acceptBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	o, err := s.orgs.Accept(r.Context(), principal(r.Context()), b.Token)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, viewOrg(o))
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := query(r, "limit", "cursor")
	if err != nil {
		return err
	}
	page, err := pageRequest(v)
	if err != nil {
		return err
	}
	p, err := s.orgs.ListMembers(r.Context(), principal(r.Context()).User.ID, id, page)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, viewPage(p, s.viewMember))
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	userID, err := pathInt64(r, "user_id")
	if err != nil {
		return err
	}
	if err := s.orgs.RemoveMember(r.Context(), principal(r.Context()).User.ID, id, userID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type groupsBody struct {
	Groups []string `json:"groups"`
}

func (s *Server) putMemberGroups(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	userID, err := pathInt64(r, "user_id")
	if err != nil {
		return err
	}
	var b groupsBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if b.Groups == nil {
		return service.Invalid(service.FieldError{Field: "groups", Message: "is required (an empty list clears them)"})
	}
	m, err := s.orgs.SetMemberGroups(r.Context(), principal(r.Context()).User.ID, id, userID, b.Groups)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, s.viewMember(m))
}

func (s *Server) listOrgGroups(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := query(r); err != nil {
		return err
	}
	gs, err := s.orgs.Groups(r.Context(), principal(r.Context()).User.ID, id)
	if err != nil {
		return err
	}
	items := make([]groupView, len(gs))
	for i, g := range gs {
		items[i] = groupView{Name: g.Name, Description: g.Description}
	}
	return reply(w, http.StatusOK, map[string]any{"items": items})
}

type planBody struct {
	Plan string `json:"plan"`
}

func (s *Server) putOrgPlan(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var b planBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	o, err := s.orgs.SetPlan(r.Context(), principal(r.Context()).User.ID, id, b.Plan)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, viewOrg(o))
}
