package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/service"
)

// The admin console: /admin and below, for the platform's staff. Its
// pages call the same service methods as the JSON API with the signed-in
// operator as the caller, so the service's policy (service.Role.Can)
// decides what each role sees and does; the checks here only choose what
// to show and turn a refusal into a page. An admin sees and does
// everything; an operator pages through the directory and sees the
// contact view of users; anyone else is told there is nothing here.

// ReconfirmWithin is how recent a sign-in must be for a destructive
// console action to go ahead without the password again.
const ReconfirmWithin = 10 * time.Minute

// adminRoutes is every page of the console; none when Config.Admin is
// not set.
func (h *Handler) adminRoutes() map[string]pageFunc {
	if h.cfg.Admin == nil {
		return nil
	}
	return map[string]pageFunc{
		"GET /admin":                         h.staff(service.PermListUsers, h.overviewPage),
		"GET /admin/users":                   h.staff(service.PermListUsers, h.usersPage),
		"GET /admin/users/{id}":              h.staff(service.PermListUsers, h.userPage),
		"GET /admin/users/{id}/{action}":     h.staff(service.PermManageUsers, h.userActionPage),
		"POST /admin/users/{id}/{action}":    h.staff(service.PermManageUsers, h.userAction),
		"GET /admin/orgs":                    h.staff(service.PermManageOrganizations, h.orgsPage),
		"GET /admin/orgs/{id}":               h.staff(service.PermManageOrganizations, h.orgPage),
		"POST /admin/orgs/{id}/plan":         h.staff(service.PermManageOrganizations, h.orgPlan),
		"GET /admin/audit":                   h.staff(service.PermReadAudit, h.auditPage),
		"GET /admin/webhooks":                h.staff(service.PermManageWebhooks, h.webhooksPage),
		"POST /admin/webhooks":               h.staff(service.PermManageWebhooks, h.addWebhook),
		"GET /admin/webhooks/{id}":           h.staff(service.PermManageWebhooks, h.webhookPage),
		"GET /admin/webhooks/{id}/{action}":  h.staff(service.PermManageWebhooks, h.webhookActionPage),
		"POST /admin/webhooks/{id}/{action}": h.staff(service.PermManageWebhooks, h.webhookAction),
	}
}

// staff wraps a console page that needs permission perm. Signed out, the
// browser is sent to sign in and back; a signed-in user who is not staff
// at all finds nothing here (404); staff without perm are refused (403).
func (h *Handler) staff(perm service.Permission, f accountFunc) pageFunc {
	return h.account(func(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
		role := p.User.Role
		if !role.Can(service.PermListUsers) {
			return service.ErrNotFound
		}
		if !role.Can(perm) {
			return service.ErrForbidden
		}
		return f(w, r, s, p)
	})
}

// console is what every console template sees besides its page's data:
// the menu for the caller's role.
type console struct {
	Menu []menuItem
	Page any
}

type menuItem struct {
	Path, Label string
	Current     bool
}

// consoleView is the view of a console page: the menu entries the
// caller's role may open, and page as .Data.C.Page.
func (h *Handler) consoleView(r *http.Request, s *state, p service.Principal, page any) *view {
	v := h.newView(s)
	v.Data["Wide"] = true
	items := []struct {
		path, label string
		perm        service.Permission
	}{
		{"/admin", "Overview", service.PermListUsers},
		{"/admin/users", "Users", service.PermListUsers},
		{"/admin/orgs", "Organizations", service.PermManageOrganizations},
		{"/admin/audit", "Audit log", service.PermReadAudit},
		{"/admin/webhooks", "Webhooks", service.PermManageWebhooks},
	}
	c := console{Page: page}
	for _, it := range items {
		if p.User.Role.Can(it.perm) {
			cur := r.URL.Path == it.path || (it.path != "/admin" && strings.HasPrefix(r.URL.Path, it.path+"/"))
			c.Menu = append(c.Menu, menuItem{Path: it.path, Label: it.label, Current: cur})
		}
	}
	v.Data["C"] = c
	if n := r.URL.Query().Get("done"); n != "" {
		v.Notice = consoleNotices[n]
	}
	return v
}

// consoleNotices are the sentences a console page shows after an action,
// by the done parameter the action redirected with.
var consoleNotices = map[string]string{
	"deactivated":  "The user is deactivated: every session of theirs ended.",
	"reactivated":  "The user is active again.",
	"role":         "The role is changed; the user's sessions ended.",
	"reset":        "A password-reset link is on its way, unless the account is deactivated or got several already this hour.",
	"verification": "A verification link is on its way, unless the address is verified already.",
	"revoked":      "The sessions are signed out.",
	"deleted":      "The user is deleted.",
	"plan":         "The plan is changed.",
	"removed":      "The endpoint is removed.",
}

// pathID is the positive integer path value name; anything else is a
// page that does not exist.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, service.ErrNotFound
	}
	return id, nil
}

// Keyset pages go forward with the service's cursor. Going back needs
// the cursors the earlier pages started at: the link carries them in
// "back" (a page's start, "~" for the first page), at most maxBack, so
// "previous" works without offsets or state on the server.
const maxBack = 40

// pager is the previous and next links of a keyset page.
type pager struct {
	Prev, Next string // "": none
}

// pageLinks builds the pager of the page r shows, whose next cursor is
// next (nil: the last page).
func pageLinks(r *http.Request, next *string) pager {
	q := r.URL.Query()
	cur := q.Get("cursor")
	var back []string
	if b := q.Get("back"); b != "" {
		back = strings.Split(b, ",")
	}
	link := func(cursor string, back []string) string {
		v := url.Values{}
		for k, vals := range q {
			if k != "cursor" && k != "back" && k != "done" && len(vals) > 0 && vals[0] != "" {
				v.Set(k, vals[0])
			}
		}
		if cursor != "" && cursor != "~" {
			v.Set("cursor", cursor)
		}
		if len(back) > 0 {
			v.Set("back", strings.Join(back, ","))
		}
		if len(v) == 0 {
			return r.URL.Path
		}
		return r.URL.Path + "?" + v.Encode()
	}
	var p pager
	if len(back) > 0 {
		p.Prev = link(back[len(back)-1], back[:len(back)-1])
	} else if cur != "" {
		p.Prev = link("", nil) // deeper than the trail kept: back to the start
	}
	if next != nil {
		start := cur
		if start == "" {
			start = "~"
		}
		nb := append(append([]string(nil), back...), start)
		if len(nb) > maxBack {
			nb = nb[len(nb)-maxBack:]
		}
		p.Next = link(*next, nb)
	}
	return p
}

// pageOf is the page request of r: its cursor, limit 25.
func pageOf(r *http.Request) service.PageRequest {
	limit := 25
	return service.PageRequest{Cursor: r.URL.Query().Get("cursor"), Limit: &limit}
}

// optBool reads a "true"/"false" query parameter; anything else is nil.
func optBool(v url.Values, name string) *bool {
	switch v.Get(name) {
	case "true":
		t := true
		return &t
	case "false":
		f := false
		return &f
	}
	return nil
}

// optString is a trimmed query parameter, nil when blank.
func optString(v url.Values, name string) *string {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return nil
	}
	return &s
}

// optID is a positive integer query parameter, nil when blank; ok is
// false when it is not blank and not a positive integer.
func optID(v url.Values, name string) (id *int64, ok bool) {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return nil, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return nil, false
	}
	return &n, true
}

// when formats a time for the console: UTC, to the minute.
func when(t any) string {
	switch t := t.(type) {
	case time.Time:
		return t.UTC().Format("2006-01-02 15:04 UTC")
	case *time.Time:
		if t == nil {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
	return fmt.Sprint(t)
}

// consoleFuncs are the template functions of the console's pages.
var consoleFuncs = map[string]any{
	"when": when,
	"id": func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	},
	"seats": func(limit *int) string {
		if limit == nil {
			return "unlimited"
		}
		return strconv.Itoa(*limit)
	},
	"join": strings.Join,
}

// consoleFail answers a console form that the service refused: the
// refusals a form shows (validation, the last admin) are rendered beside
// it by show with the status; any other error is the error page's.
func consoleFail(w http.ResponseWriter, v *view, err error, show func(status int) error) error {
	if errors.Is(err, service.ErrLastAdmin) {
		v.Errors[""] = "This is the last active admin. Make another user an admin first: userd always keeps one."
		return show(http.StatusConflict)
	}
	status, ok := formErrors(w, v, err)
	if !ok {
		return err
	}
	return show(status)
}
