package web

import (
	"net/http"
	"strings"

	"github.com/userd/userd/service"
)

// Sign in, sign up, sign out.

// formView is a view holding the posted form's values (never passwords)
// and its redirect_to when allowed.
func (h *Handler) formView(r *http.Request, s *state, fields ...string) *view {
	v := h.newView(s)
	for _, f := range fields {
		v.Form[f] = r.FormValue(f)
	}
	v.RedirectTo = h.cfg.Redirects.Check(r.FormValue("redirect_to"))
	v.FormOrigins = h.returnOrigins(r, v.RedirectTo)
	return v
}

func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request, s *state) error {
	if s.principal != nil {
		return redirect(w, r, h.next(r, "/account"))
	}
	return h.render(w, r, http.StatusOK, "signin", h.formView(r, s, "identifier"))
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, s *state) error {
	ws, err := h.cfg.Accounts.WebSignIn(r.Context(), r.PostFormValue("identifier"), r.PostFormValue("password"), h.cfg.Client(r), s.token)
	if err != nil {
		return h.formFailed(w, r, s, "signin", err, "identifier")
	}
	h.setCookie(w, ws.Token)
	return redirect(w, r, h.next(r, "/account"))
}

// formFailed renders page again with err beside its field, or fails.
func (h *Handler) formFailed(w http.ResponseWriter, r *http.Request, s *state, page string, err error, fields ...string) error {
	v := h.formView(r, s, fields...)
	status, ok := formErrors(w, v, err)
	if !ok {
		return err
	}
	return h.render(w, r, status, page, v)
}

func (h *Handler) signUpPage(w http.ResponseWriter, r *http.Request, s *state) error {
	if s.principal != nil {
		return redirect(w, r, h.next(r, "/account"))
	}
	return h.render(w, r, http.StatusOK, "signup", h.formView(r, s, "email", "username", "phone", "first_name", "last_name"))
}

// optional is a form value as an optional field: nil when blank.
func optional(r *http.Request, name string) *string {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return nil
	}
	return &v
}

func (h *Handler) signUp(w http.ResponseWriter, r *http.Request, s *state) error {
	ws, err := h.cfg.Accounts.WebSignUp(r.Context(), service.Registration{
		Email: optional(r, "email"), Username: optional(r, "username"), Phone: optional(r, "phone"),
		FirstName: optional(r, "first_name"), LastName: optional(r, "last_name"), Password: r.PostFormValue("password"),
	}, h.cfg.Client(r), s.token)
	if err != nil {
		return h.formFailed(w, r, s, "signup", err, "email", "username", "phone", "first_name", "last_name")
	}
	h.setCookie(w, ws.Token)
	return redirect(w, r, h.next(r, "/account?welcome=1"))
}

func (h *Handler) signOutPage(w http.ResponseWriter, r *http.Request, s *state) error {
	if s.principal == nil {
		return redirect(w, r, "/signin")
	}
	return h.render(w, r, http.StatusOK, "signout", h.newView(s))
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, s *state) error {
	if err := h.cfg.Accounts.WebSignOut(r.Context(), s.token); err != nil {
		return err
	}
	h.clearCookie(w)
	return redirect(w, r, h.next(r, "/signin?signed_out=1"))
}
