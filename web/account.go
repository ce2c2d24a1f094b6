package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/userd/userd/service"
)

// The account area: profile, password, email, linked logins, sessions,
// data export, delete. Every page needs a signed-in browser.

// signedIn is the principal of an account page; signed out, the browser
// is sent to sign in and back (ok false: answered already).
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, s *state) (service.Principal, bool) {
	if s.principal != nil {
		return *s.principal, true
	}
	back := "/account"
	if r.Method == http.MethodGet {
		back = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/signin?"+url.Values{"redirect_to": {back}}.Encode(), http.StatusSeeOther)
	return service.Principal{}, false
}

// accountFunc is a page of the account area, run for the signed-in
// caller p.
type accountFunc func(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error

// account wraps a page of the account area: a signed-out browser is sent
// to sign in (signedIn) instead.
func (h *Handler) account(f accountFunc) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, s *state) error {
		p, ok := h.signedIn(w, r, s)
		if !ok {
			return nil
		}
		return f(w, r, s, p)
	}
}

// notices are the sentences an account page shows after an action, by
// the query parameter the action redirected with.
var notices = map[string]string{
	"welcome":   "Welcome! A link to confirm your email address is on its way.",
	"saved":     "Your profile is saved.",
	"confirmed": "Your email address is confirmed.",
	"joined":    "You joined the organization.",
	"changed":   "Your password is changed. Your other sessions were signed out.",
	"pending":   "A confirmation link went to the new address. The change waits for it.",
	"resent":    "A new confirmation link is on its way, unless the address is confirmed already.",
	"unlinked":  "The login is removed.",
	"revoked":   "The session is signed out.",
}

// accountView is the view of an account page: the user read afresh.
func (h *Handler) accountView(r *http.Request, s *state, p service.Principal) (*view, error) {
	u, err := h.cfg.Users.Me(r.Context(), p)
	if err != nil {
		return nil, err
	}
	v := h.newView(s)
	v.User = &u
	for k, msg := range notices {
		if r.URL.Query().Has(k) {
			v.Notice = msg
		}
	}
	return v, nil
}

func (h *Handler) profilePage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	v, err := h.accountView(r, s, p)
	if err != nil {
		return err
	}
	return h.renderProfile(w, r, p, http.StatusOK, v)
}

func (h *Handler) renderProfile(w http.ResponseWriter, r *http.Request, p service.Principal, status int, v *view) error {
	u := v.User
	if _, sent := v.Form["first_name"]; !sent {
		v.Form["first_name"], v.Form["last_name"] = deref(u.FirstName), deref(u.LastName)
		v.Form["username"], v.Form["bio"] = deref(u.Username), deref(u.Bio)
	}
	if u.OrganizationID != nil {
		org, err := h.cfg.Orgs.Get(r.Context(), p, *u.OrganizationID)
		if err != nil {
			return err
		}
		v.Data["Org"] = org.Name
	}
	return h.render(w, r, status, "account", v)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// set is a form value as a patch field: blank clears it.
func set(r *http.Request, name string) service.Optional[string] {
	return service.Optional[string]{Set: true, Value: optional(r, name)}
}

func (h *Handler) saveProfile(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	_, err := h.cfg.Users.UpdateProfile(r.Context(), p, service.ProfilePatch{
		FirstName: set(r, "first_name"), LastName: set(r, "last_name"), Username: set(r, "username"), Bio: set(r, "bio"),
	})
	if err != nil {
		v, verr := h.accountView(r, s, p)
		if verr != nil {
			return verr
		}
		for _, f := range []string{"first_name", "last_name", "username", "bio"} {
			v.Form[f] = r.PostFormValue(f)
		}
		status, ok := formErrors(w, v, err)
		if !ok {
			return err
		}
		return h.renderProfile(w, r, p, status, v)
	}
	return redirect(w, r, "/account?saved=1")
}

// accountForm renders an account page, and again with err beside its
// fields when a form failed.
func (h *Handler) accountForm(w http.ResponseWriter, r *http.Request, s *state, p service.Principal, page string, err error, fields ...string) error {
	v, verr := h.accountView(r, s, p)
	if verr != nil {
		return verr
	}
	status := http.StatusOK
	if err != nil {
		for _, f := range fields {
			v.Form[f] = r.PostFormValue(f)
		}
		var ok bool
		if status, ok = formErrors(w, v, err); !ok {
			return err
		}
	}
	return h.render(w, r, status, page, v)
}

func (h *Handler) passwordPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	return h.accountForm(w, r, s, p, "password", nil)
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	if err := h.cfg.Accounts.ChangePassword(r.Context(), p, r.PostFormValue("current_password"), r.PostFormValue("new_password")); err != nil {
		return h.accountForm(w, r, s, p, "password", err)
	}
	// A change of secrets gives this browser a new cookie.
	token, err := h.cfg.Accounts.RotateWebSession(r.Context(), p)
	if err != nil {
		return err
	}
	h.setCookie(w, token)
	return redirect(w, r, "/account/password?changed=1")
}

func (h *Handler) emailPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	return h.accountForm(w, r, s, p, "email", nil)
}

func (h *Handler) changeEmail(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	patch := service.ProfilePatch{Email: set(r, "email")}
	if pw := r.PostFormValue("current_password"); pw != "" {
		patch.CurrentPassword = service.Optional[string]{Set: true, Value: &pw}
	}
	if _, err := h.cfg.Users.UpdateProfile(r.Context(), p, patch); err != nil {
		return h.accountForm(w, r, s, p, "email", err, "email")
	}
	return redirect(w, r, "/account/email?pending=1")
}

func (h *Handler) resendVerification(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	if err := h.cfg.Accounts.ResendVerification(r.Context(), p); err != nil {
		return h.accountForm(w, r, s, p, "email", err)
	}
	return redirect(w, r, "/account/email?resent=1")
}

func (h *Handler) identitiesPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	return h.identities(w, r, s, p, nil)
}

func (h *Handler) identities(w http.ResponseWriter, r *http.Request, s *state, p service.Principal, failed error) error {
	v, err := h.accountView(r, s, p)
	if err != nil {
		return err
	}
	ids, err := h.cfg.Users.Identities(r.Context(), p)
	if err != nil {
		return err
	}
	v.Data["Identities"] = ids
	status := http.StatusOK
	if failed != nil {
		status = http.StatusConflict
		if e, ok := service.ErrorOf(failed); ok && e.Code == service.CodeValidation {
			status = http.StatusUnprocessableEntity
		}
		v.Errors[""] = "This login cannot be removed: it is the last way into the account."
		if e, ok := service.ErrorOf(failed); !ok || (e.Code != service.CodeValidation && e.Code != service.CodeConflict && e.Code != service.CodeForbidden) {
			return failed
		}
	}
	return h.render(w, r, status, "identities", v)
}

func (h *Handler) unlinkIdentity(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	if err := h.cfg.Users.UnlinkIdentity(r.Context(), p, r.PathValue("provider")); err != nil {
		return h.identities(w, r, s, p, err)
	}
	return redirect(w, r, "/account/identities?unlinked=1")
}

func (h *Handler) sessionsPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	v, err := h.accountView(r, s, p)
	if err != nil {
		return err
	}
	limit := 200
	page, err := h.cfg.Accounts.Sessions(r.Context(), p, service.PageRequest{Limit: &limit})
	if err != nil {
		return err
	}
	type row struct {
		ID               int64
		Current          bool
		Device, Address  string
		Started, LastUse string
	}
	var rows []row
	for _, x := range page.Items {
		ip := ""
		if x.IP != nil {
			ip = x.IP.String()
		}
		rows = append(rows, row{
			ID: x.ID, Current: x.ID == p.SessionID, Device: deviceOf(x.UserAgent), Address: ip,
			Started: x.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), LastUse: x.LastUsedAt.UTC().Format("2006-01-02 15:04 UTC"),
		})
	}
	v.Data["Sessions"] = rows
	return h.render(w, r, http.StatusOK, "sessions", v)
}

// deviceOf is a short name of a user agent.
func deviceOf(ua *string) string {
	if ua == nil || *ua == "" {
		return "Unknown device"
	}
	s := *ua
	for _, b := range []string{"Firefox", "Edg", "Chrome", "Safari", "curl", "Go-http-client"} {
		if strings.Contains(s, b) {
			if b == "Edg" {
				b = "Edge"
			}
			if strings.Contains(s, "HeadlessChrome") {
				b = "Headless Chrome"
			}
			return b
		}
	}
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return service.ErrNotFound
	}
	if err := h.cfg.Accounts.RevokeSession(r.Context(), p, id); err != nil {
		return err
	}
	if id == p.SessionID {
		h.clearCookie(w)
		return redirect(w, r, "/signin?signed_out=1")
	}
	return redirect(w, r, "/account/sessions?revoked=1")
}

func (h *Handler) signOutEverywhere(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	if err := h.cfg.Accounts.SignOutEverywhere(r.Context(), p); err != nil {
		return err
	}
	h.clearCookie(w)
	return redirect(w, r, "/signin?signed_out=1")
}

func (h *Handler) export(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	b, err := h.cfg.Export(r.Context(), p)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="userd-export-%d.json"`, p.User.ID))
	_, err = w.Write(b)
	return err
}

// deleteWord is what the delete form wants typed, so that no stray click
// deletes an account.
const deleteWord = "delete my account"

func (h *Handler) deletePage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	v, err := h.accountView(r, s, p)
	if err != nil {
		return err
	}
	v.Data["Word"] = deleteWord
	return h.render(w, r, http.StatusOK, "delete", v)
}

func (h *Handler) deleteAccount(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	if strings.TrimSpace(strings.ToLower(r.PostFormValue("confirm"))) != deleteWord {
		v, err := h.accountView(r, s, p)
		if err != nil {
			return err
		}
		v.Data["Word"] = deleteWord
		v.Errors["confirm"] = "Type “" + deleteWord + "” to confirm."
		return h.render(w, r, http.StatusUnprocessableEntity, "delete", v)
	}
	if err := h.cfg.Users.Delete(r.Context(), p, p.User.ID); err != nil {
		return err
	}
	h.clearCookie(w)
	v := h.newView(nil)
	v.Data["Title"] = "Account deleted"
	v.Data["Message"] = "Your account and its personal data are deleted."
	return h.render(w, r, http.StatusOK, "done", v)
}
