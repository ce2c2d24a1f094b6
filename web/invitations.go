package web

import (
	"net/http"
	"net/url"
)

// The invitation link: signed out, sign in or sign up first (prefilled
// with the invited address, coming back here); signed in, accept.

func (h *Handler) invitationPage(w http.ResponseWriter, r *http.Request, s *state) error {
	token := r.FormValue("token")
	inv, err := h.cfg.Orgs.PreviewInvitation(r.Context(), token)
	if err != nil {
		return err
	}
	v := h.tokenView(r, s)
	v.Data["Org"], v.Data["Email"] = inv.Organization, inv.Email
	back := "/accept-invitation?token=" + url.QueryEscape(token)
	v.Data["SignIn"] = "/signin?" + url.Values{"identifier": {inv.Email}, "redirect_to": {back}}.Encode()
	v.Data["SignUp"] = "/signup?" + url.Values{"email": {inv.Email}, "redirect_to": {back}}.Encode()
	return h.render(w, r, http.StatusOK, "invitation", v)
}

func (h *Handler) acceptInvitation(w http.ResponseWriter, r *http.Request, s *state) error {
	if s.principal == nil {
		return redirect(w, r, "/accept-invitation?token="+url.QueryEscape(r.PostFormValue("token")))
	}
	if _, err := h.cfg.Orgs.Accept(r.Context(), *s.principal, r.PostFormValue("token")); err != nil {
		return err
	}
	return redirect(w, r, h.next(r, "/account?joined=1"))
}
