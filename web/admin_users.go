package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/service"
)

// The console's overview, directory and user pages, and the actions on a
// user.

type overviewPage struct {
	O      service.Overview
	Chart  chart
	Events []service.AuditEvent
	Audit  bool // the caller may read the audit log
}

// chart is the sign-ups bar chart, drawn as inline SVG (no script).
type chart struct {
	Width, Height int
	Bars          []bar
	Max           int64
	Label         string
}

type bar struct {
	X, Y, W, H int
	Title      string
}

// signupChart draws days as bars scaled to the busiest day.
func signupChart(days []service.DayCount) chart {
	const w, h, bw = 600, 120, 20
	c := chart{Width: w, Height: h}
	var total int64
	for _, d := range days {
		c.Max = max(c.Max, d.Count)
		total += d.Count
	}
	for i, d := range days {
		bh := 0
		if c.Max > 0 {
			bh = int(d.Count * (h - 10) / c.Max)
		}
		if d.Count > 0 && bh < 2 {
			bh = 2
		}
		c.Bars = append(c.Bars, bar{X: i * bw, Y: h - bh, W: bw - 4, H: bh, Title: d.Day.Format("Jan 2") + ": " + strconv.FormatInt(d.Count, 10)})
	}
	c.Label = "Sign-ups per day, last " + strconv.Itoa(len(days)) + " days: " + strconv.FormatInt(total, 10) + " in all, at most " + strconv.FormatInt(c.Max, 10) + " a day."
	return c
}

func (h *Handler) overviewPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	o, err := h.cfg.Admin.Overview(r.Context(), p, time.Now())
	if err != nil {
		return err
	}
	page := overviewPage{O: o, Chart: signupChart(o.SignupsByDay), Audit: p.User.Role.Can(service.PermReadAudit)}
	if page.Audit {
		limit := 20
		events, err := h.cfg.Admin.AuditEvents(r.Context(), p, service.AuditFilter{}, service.PageRequest{Limit: &limit})
		if err != nil {
			return err
		}
		page.Events = events.Items
	}
	return h.render(w, r, http.StatusOK, "admin_overview", h.consoleView(r, s, p, page))
}

type usersPage struct {
	Users   []service.User
	Private bool // the caller sees the private view (verification)
	Roles   []service.Role
	Pager   pager
	Total   int
}

func (h *Handler) usersPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	q := r.URL.Query()
	f := service.UserFilter{Q: optString(q, "q"), Role: optString(q, "role"), IsActive: optBool(q, "active"), EmailVerified: optBool(q, "verified")}
	page := usersPage{Private: p.User.Role.Can(service.PermSeePrivate), Roles: service.Roles()}
	v := h.consoleView(r, s, p, &page)
	v.Data["Private"] = page.Private
	for _, k := range []string{"q", "role", "active", "verified", "org"} {
		v.Form[k] = q.Get(k)
	}
	org, ok := optID(q, "org")
	if !ok {
		v.Errors["org"] = "Must be an organization's number."
		return h.render(w, r, http.StatusUnprocessableEntity, "admin_users", v)
	}
	f.OrganizationID = org
	list, err := h.cfg.Admin.ListUsers(r.Context(), p, f, pageOf(r))
	if err != nil {
		if e, ok := service.ErrorOf(err); ok && e.Code == service.CodeInvalidCursor {
			return redirect(w, r, r.URL.Path)
		}
		return consoleFail(w, v, err, func(status int) error { return h.render(w, r, status, "admin_users", v) })
	}
	page.Users, page.Pager = list.Items, pageLinks(r, list.NextCursor)
	return h.render(w, r, http.StatusOK, "admin_users", v)
}

type userPage struct {
	U          service.User
	Private    bool // the private view: the service's decision (Profile)
	Manage     bool // the caller may act on the user
	OrgName    string
	Groups     []string
	Follows    service.FollowStats
	Identities []service.Identity
	Sessions   []service.Session
	Events     []service.AuditEvent
	Audit      bool // the caller may read the audit log
}

func (h *Handler) userPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	page, err := h.userDetail(r.Context(), p, id)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "admin_user", h.consoleView(r, s, p, page))
}

// userDetail reads what the user page shows of user id to p: the private
// parts only when the service shows p the private view.
func (h *Handler) userDetail(ctx context.Context, p service.Principal, id int64) (*userPage, error) {
	prof, err := h.cfg.Admin.Profile(ctx, p, id)
	if err != nil {
		return nil, err
	}
	u := prof.User
	page := &userPage{U: u, Private: prof.Private, Manage: p.User.Role.Can(service.PermManageUsers) && u.ID != p.User.ID}
	if u.OrganizationID != nil && p.User.Role.Can(service.PermManageOrganizations) {
		org, err := h.cfg.Orgs.Get(ctx, p, *u.OrganizationID)
		if err != nil && !errors.Is(err, service.ErrNotFound) {
			return nil, err
		}
		page.OrgName = org.Name
	}
	if page.Groups, err = h.cfg.Admin.UserGroups(ctx, p, id); err != nil {
		return nil, err
	}
	if h.cfg.Social != nil {
		if page.Follows, err = h.cfg.Social.Stats(ctx, p, id); err != nil {
			return nil, err
		}
	}
	if prof.Private {
		if page.Identities, err = h.cfg.Admin.UserIdentities(ctx, p, id); err != nil {
			return nil, err
		}
		limit := 50
		sessions, err := h.cfg.Admin.UserSessions(ctx, p, id, service.PageRequest{Limit: &limit})
		if err != nil {
			return nil, err
		}
		page.Sessions = sessions.Items
	}
	if page.Audit = p.User.Role.Can(service.PermReadAudit); page.Audit {
		limit := 20
		events, err := h.cfg.Admin.AuditEvents(ctx, p, service.AuditFilter{TargetUserID: &id}, service.PageRequest{Limit: &limit})
		if err != nil {
			return nil, err
		}
		page.Events = events.Items
	}
	return page, nil
}

// userAct is an action on a user, with the confirmation page that says
// what it will do.
type userAct struct {
	Name   string // the path segment
	Title  string
	Button string
	Danger bool
	// Reconfirm: destructive, so it needs a sign-in of the last
	// ReconfirmWithin or the password again.
	Reconfirm bool
	What      func(u service.User) string
	Do        func(h *Handler, ctx context.Context, p service.Principal, u service.User, r *http.Request) (done string, err error)
}

// name is how the console names a user in a sentence.
func name(u service.User) string {
	switch {
	case u.Username != nil:
		return *u.Username
	case u.Email != nil:
		return *u.Email
	}
	return "user " + strconv.FormatInt(u.ID, 10)
}

var userActs = map[string]userAct{
	"deactivate": {
		Title: "Deactivate", Button: "Deactivate", Danger: true, Reconfirm: true,
		What: func(u service.User) string {
			return name(u) + " will be signed out everywhere at once and cannot sign in or use the API until reactivated. Their data stays."
		},
		Do: func(h *Handler, ctx context.Context, p service.Principal, u service.User, _ *http.Request) (string, error) {
			_, err := h.cfg.Admin.SetActive(ctx, p, u.ID, false)
			return "deactivated", err
		},
	},
	"reactivate": {
		Title: "Reactivate", Button: "Reactivate",
		What: func(u service.User) string { return name(u) + " will be able to sign in again." },
		Do: func(h *Handler, ctx context.Context, p service.Principal, u service.User, _ *http.Request) (string, error) {
			_, err := h.cfg.Admin.SetActive(ctx, p, u.ID, true)
			return "reactivated", err
		},
	},
	"role": {
		Title: "Change the role of", Button: "Change role", Reconfirm: true,
		What: func(u service.User) string {
			return name(u) + " is " + string(u.Role) + " now. The new role takes effect at once and ends every session of theirs."
		},
		Do: func(h *Handler, ctx context.Context, p service.Principal, u service.User, r *http.Request) (string, error) {
			var artist *int64
			if a := strings.TrimSpace(r.PostFormValue("artist_id")); a != "" {
				n, err := strconv.ParseInt(a, 10, 64)
				if err != nil {
					return "", service.Invalid(service.FieldError{Field: "artist_id", Message: "must be a positive integer"})
				}
				artist = &n
			}
			_, err := h.cfg.Admin.SetRole(ctx, p, u.ID, service.Role(r.PostFormValue("role")), artist)
			return "role", err
		},
	},
	"reset-link": {
		Title: "Send a password-reset link to", Button: "Send the link",
		What: func(u service.User) string {
			return "A link to choose a new password goes to " + deref(u.Email) + ". The current password keeps working until the link is used."
		},
		Do: func(h *Handler, ctx context.Context, p service.Principal, u service.User, _ *http.Request) (string, error) {
			return "reset", h.cfg.Accounts.SendResetFor(ctx, p, u.ID)
		},
	},
	"verification": {
		Title: "Resend the verification link to", Button: "Resend the link",
		What: func(u service.User) string {
			return "A new link to confirm " + deref(u.Email) + " goes to that address."
		},
		Do: func(h *Handler, ctx context.Context, p service.Principal, u service.User, _ *http.Request) (string, error) {
			return "verification", h.cfg.Accounts.ResendVerificationFor(ctx, p, u.ID)
		},
	},
	"revoke-sessions": {
		Title: "Sign out everywhere:", Button: "Sign out every session", Danger: true, Reconfirm: true,
		What: func(u service.User) string {
			return "Every session of " + name(u) + " ends at once, API and browser: they must sign in again."
		},
		Do: func(h *Handler, ctx context.Context, p service.Principal, u service.User, r *http.Request) (string, error) {
			_, err := h.cfg.Accounts.RevokeSessionsOf(ctx, p, u.ID, 0)
			return "revoked", err
		},
	},
	"revoke-session": {
		Title: "Sign out one session of", Button: "Sign out the session", Danger: true, Reconfirm: true,
		What: func(u service.User) string {
			return "That session of " + name(u) + " ends at once; their other sessions go on."
		},
		Do: func(h *Handler, ctx context.Context, p service.Principal, u service.User, r *http.Request) (string, error) {
			sid, err := strconv.ParseInt(r.PostFormValue("session"), 10, 64)
			if err != nil || sid <= 0 {
				return "", service.ErrNotFound
			}
			_, err = h.cfg.Accounts.RevokeSessionsOf(ctx, p, u.ID, sid)
			return "revoked", err
		},
	},
	"delete": {
		Title: "Delete", Button: "Delete the user", Danger: true, Reconfirm: true,
		What: func(u service.User) string {
			return name(u) + " is signed out everywhere and their personal data is erased: profile, sessions, logins, follows, memberships. It cannot be undone."
		},
		Do: func(h *Handler, ctx context.Context, p service.Principal, u service.User, r *http.Request) (string, error) {
			if strings.TrimSpace(r.PostFormValue("confirm")) != name(u) {
				return "", service.Invalid(service.FieldError{Field: "confirm", Message: "type the username exactly: " + name(u)})
			}
			return "deleted", h.cfg.Users.Delete(ctx, p, u.ID)
		},
	},
}

type actionPage struct {
	Act        userAct
	U          service.User
	What       string
	NeedsPass  bool // no recent sign-in: the password is asked for
	Roles      []service.Role
	Session    string
	ConfirmFor string // the word to type (delete)
}

// actionView is the confirmation page of action a on user id for p.
func (h *Handler) actionView(r *http.Request, s *state, p service.Principal) (*view, *actionPage, error) {
	act, ok := userActs[r.PathValue("action")]
	if !ok {
		return nil, nil, service.ErrNotFound
	}
	act.Name = r.PathValue("action")
	id, err := pathID(r, "id")
	if err != nil {
		return nil, nil, err
	}
	prof, err := h.cfg.Admin.Profile(r.Context(), p, id)
	if err != nil {
		return nil, nil, err
	}
	page := &actionPage{Act: act, U: prof.User, What: act.What(prof.User), Roles: service.Roles(), Session: r.FormValue("session")}
	if act.Name == "delete" {
		page.ConfirmFor = name(prof.User)
	}
	if act.Reconfirm {
		err := h.cfg.Accounts.Reconfirm(r.Context(), p, "", ReconfirmWithin)
		if e, ok := service.ErrorOf(err); ok && e.Code == service.CodeValidation {
			page.NeedsPass = true
		} else if err != nil {
			return nil, nil, err
		}
	}
	v := h.consoleView(r, s, p, page)
	if act.Name == "role" {
		v.Form["role"] = string(prof.User.Role)
	}
	return v, page, nil
}

func (h *Handler) userActionPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	v, _, err := h.actionView(r, s, p)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "admin_action", v)
}

func (h *Handler) userAction(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	v, page, err := h.actionView(r, s, p)
	if err != nil {
		return err
	}
	show := func(status int) error {
		for _, f := range []string{"role", "artist_id", "confirm"} {
			if x := r.PostFormValue(f); x != "" {
				v.Form[f] = x
			}
		}
		return h.render(w, r, status, "admin_action", v)
	}
	if page.Act.Reconfirm {
		if err := h.cfg.Accounts.Reconfirm(r.Context(), p, r.PostFormValue("current_password"), ReconfirmWithin); err != nil {
			page.NeedsPass = true
			return consoleFail(w, v, err, show)
		}
	}
	done, err := page.Act.Do(h, r.Context(), p, page.U, r)
	if err != nil {
		return consoleFail(w, v, err, show)
	}
	if done == "deleted" {
		return redirect(w, r, "/admin/users?done=deleted")
	}
	return redirect(w, r, "/admin/users/"+strconv.FormatInt(page.U.ID, 10)+"?done="+done)
}
