package httpapi

import (
	"net/http"
	"time"

	"github.com/userd/userd/service"
)

// orgRoutes registers the organization routes. Who may call what is the
// service's policy (service.OrgMay); these only decode and respond.
func (s *Server) orgRoutes() {
	s.handle("POST /api/v1/organizations", s.authed(body(http.StatusCreated, s.createOrg)))
	s.handle("GET /api/v1/organizations/{id}", s.authed(get(s.getOrg)))
	s.handle("PATCH /api/v1/organizations/{id}", s.authed(body(http.StatusOK, s.patchOrg, mergeTypes...)))
	s.handle("DELETE /api/v1/organizations/{id}", s.authed(act(http.StatusNoContent, s.deleteOrg)))
	s.handle("POST /api/v1/organizations/{id}/invitations", s.authed(body(http.StatusCreated, s.createInvitation)))
	s.handle("GET /api/v1/organizations/{id}/invitations", s.authed(list(s.listInvitations)))
	s.handle("DELETE /api/v1/organizations/{id}/invitations/{invitation_id}", s.authed(act(http.StatusNoContent, pairUnder("invitation_id", s.orgs.RevokeInvitation))))
	s.handle("POST /api/v1/invitations/accept", s.authed(body(http.StatusOK, s.acceptInvitation)))
	s.handle("GET /api/v1/organizations/{id}/members", s.authed(list(s.listMembers)))
	s.handle("DELETE /api/v1/organizations/{id}/members/{user_id}", s.authed(act(http.StatusNoContent, pairUnder("user_id", s.orgs.RemoveMember))))
	s.handle("PUT /api/v1/organizations/{id}/members/{user_id}/groups", s.authed(body(http.StatusOK, s.putMemberGroups)))
	s.handle("GET /api/v1/organizations/{id}/groups", s.authed(get(s.listOrgGroups)))
	s.handle("PUT /api/v1/organizations/{id}/plan", s.may(service.PermManageOrganizations, body(http.StatusOK, s.putOrgPlan)))
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

func (s *Server) createOrg(q req, b orgCreateBody) (orgView, error) {
	return then(viewOrg)(s.orgs.Create(q.Context(), q.caller(), b.Name))
}

func (s *Server) getOrg(q req) (orgDetailView, error) {
	return then(func(d service.OrgDetail) orgDetailView {
		return orgDetailView{
			orgView:            viewOrg(d.Organization),
			Members:            viewPage(d.Members, s.viewMember),
			PendingInvitations: viewPage(d.Invitations, viewInvitation),
		}
	})(s.orgs.Get(q.Context(), q.caller(), q.id))
}

func (s *Server) patchOrg(q req, p service.OrgPatch) (orgView, error) {
	return then(viewOrg)(s.orgs.Update(q.Context(), q.caller(), q.id, p))
}

func (s *Server) deleteOrg(q req) (none, error) {
	return done(s.orgs.Delete(q.Context(), q.caller(), q.id))
}

type invitationBody struct {
	Email  string   `json:"email"`
	Groups []string `json:"groups"`
}

// createdInvitationView is a new invitation and what became of its mail.
type createdInvitationView struct {
	invitationView
	MailSent       bool   `json:"mail_sent"`
	MailSuppressed string `json:"mail_suppressed,omitempty"`
}

func viewCreatedInvitation(i service.Invitation) createdInvitationView {
	return createdInvitationView{invitationView: viewInvitation(i), MailSent: i.MailSuppressed == "", MailSuppressed: i.MailSuppressed}
}

func (s *Server) createInvitation(q req, b invitationBody) (createdInvitationView, error) {
	return then(viewCreatedInvitation)(s.orgs.Invite(q.Context(), q.caller(), q.id, b.Email, b.Groups))
}

func (s *Server) listInvitations(q req, page service.PageRequest) (pageView[invitationView], error) {
	return then(func(p service.Page[service.Invitation]) pageView[invitationView] { return viewPage(p, viewInvitation) })(
		s.orgs.ListInvitations(q.Context(), q.caller(), q.id, page))
}

func (s *Server) acceptInvitation(q req, b tokenBody) (orgView, error) {
	return then(viewOrg)(s.orgs.Accept(q.Context(), q.caller(), b.Token))
}

func (s *Server) listMembers(q req, page service.PageRequest) (pageView[memberView], error) {
	return then(func(p service.Page[service.Member]) pageView[memberView] { return viewPage(p, s.viewMember) })(
		s.orgs.ListMembers(q.Context(), q.caller(), q.id, page))
}

type groupsBody struct {
	Groups []string `json:"groups"`
}

func (s *Server) putMemberGroups(q req, b groupsBody) (memberView, error) {
	userID, err := pathInt64(q.Request, "user_id")
	if err != nil {
		return memberView{}, err
	}
	if b.Groups == nil {
		return memberView{}, service.Invalid(service.FieldError{Field: "groups", Message: "is required (an empty list clears them)"})
	}
	return then(s.viewMember)(s.orgs.SetMemberGroups(q.Context(), q.caller(), q.id, userID, b.Groups))
}

func (s *Server) listOrgGroups(q req) (itemsView[groupView], error) {
	return then(viewItems(func(g service.Group) groupView { return groupView{Name: g.Name, Description: g.Description} }))(
		s.orgs.Groups(q.Context(), q.caller(), q.id))
}

type planBody struct {
	Plan string `json:"plan"`
}

func (s *Server) putOrgPlan(q req, b planBody) (orgView, error) {
	return then(viewOrg)(s.orgs.SetPlan(q.Context(), q.caller(), q.id, b.Plan))
}
