package web

import (
	"net/http"
)

// The pages mailed links open: forgot and reset password, verify an email
// or confirm an email change. A GET only shows a form (mail scanners
// fetch links); the POST acts.

func (h *Handler) forgotPage(w http.ResponseWriter, r *http.Request, s *state) error {
	return h.render(w, r, http.StatusOK, "forgot", h.formView(r, s, "email"))
}

func (h *Handler) forgot(w http.ResponseWriter, r *http.Request, s *state) error {
	if err := h.cfg.Accounts.ForgotPassword(r.Context(), r.PostFormValue("email"), h.cfg.Client(r)); err != nil {
		return h.formFailed(w, r, s, "forgot", err, "email")
	}
	v := h.newView(s)
	v.Data["Title"] = "Check your mail"
	v.Data["Message"] = "If an account uses this email address, a link to reset its password is on its way. It works once, for an hour."
	return h.render(w, r, http.StatusOK, "done", v)
}

// tokenView is a view of a page reached by a mailed link: the token rides
// in a hidden field.
func (h *Handler) tokenView(r *http.Request, s *state) *view {
	v := h.formView(r, s)
	v.Data["Token"] = r.FormValue("token")
	return v
}

func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request, s *state) error {
	if _, err := h.cfg.Accounts.CheckResetLink(r.Context(), r.FormValue("token")); err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "reset", h.tokenView(r, s))
}

func (h *Handler) reset(w http.ResponseWriter, r *http.Request, s *state) error {
	if err := h.cfg.Accounts.ResetPassword(r.Context(), r.PostFormValue("token"), r.PostFormValue("password")); err != nil {
		v := h.tokenView(r, s)
		status, ok := formErrors(w, v, err)
		if !ok {
			return err
		}
		return h.render(w, r, status, "reset", v)
	}
	// A reset signs every session out, this browser's too.
	h.clearCookie(w)
	v := h.newView(nil)
	v.Data["Title"] = "Password changed"
	v.Data["Message"] = "Your new password is set, and every session was signed out. Sign in with the new password."
	v.Data["SignIn"] = true
	return h.render(w, r, http.StatusOK, "done", v)
}

// verifyView is the view of a verification or email-change link: signed
// in to the account it is for, one click; otherwise the account's
// password is asked.
func (h *Handler) verifyView(r *http.Request, s *state, userID int64, email string, change bool) *view {
	v := h.tokenView(r, s)
	v.Data["Email"], v.Data["Change"] = email, change
	v.Data["OneClick"] = s.principal != nil && s.principal.User.ID == userID
	return v
}

func (h *Handler) verifyPage(w http.ResponseWriter, r *http.Request, s *state) error {
	l, err := h.cfg.Accounts.CheckEmailLink(r.Context(), r.FormValue("token"))
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "verify", h.verifyView(r, s, l.UserID, l.Email, l.Change))
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request, s *state) error {
	token := r.PostFormValue("token")
	l, err := h.cfg.Accounts.CheckEmailLink(r.Context(), token)
	if err != nil {
		return err
	}
	if err := h.cfg.Accounts.VerifyEmail(r.Context(), s.principal, token, r.PostFormValue("password")); err != nil {
		v := h.verifyView(r, s, l.UserID, l.Email, l.Change)
		status, ok := formErrors(w, v, err)
		if !ok {
			return err
		}
		return h.render(w, r, status, "verify", v)
	}
	if s.principal != nil && s.principal.User.ID == l.UserID {
		return redirect(w, r, h.next(r, "/account?confirmed=1"))
	}
	v := h.newView(s)
	v.Data["Title"] = "Email address confirmed"
	v.Data["Message"] = l.Email + " is confirmed. Your password and your signed-in devices stay as they were."
	v.Data["SignIn"] = s.principal == nil
	return h.render(w, r, http.StatusOK, "done", v)
}
