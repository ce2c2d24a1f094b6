package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/service"
)

// The console's organizations, audit log and webhook endpoints.

type orgsPage struct {
	Orgs  []service.OrgSummary
	Pager pager
}

func (h *Handler) orgsPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	page := &orgsPage{}
	v := h.consoleView(r, s, p, page)
	v.Form["q"] = r.URL.Query().Get("q")
	list, err := h.cfg.Orgs.List(r.Context(), p, optString(r.URL.Query(), "q"), pageOf(r))
	if err != nil {
		return consoleFail(w, v, err, func(status int) error { return h.render(w, r, status, "admin_orgs", v) })
	}
	page.Orgs, page.Pager = list.Items, pageLinks(r, list.NextCursor)
	return h.render(w, r, http.StatusOK, "admin_orgs", v)
}

type orgPage struct {
	Org    service.OrgDetail
	Groups []service.Group
	Plans  []service.Plan
	More   bool // members beyond the first page
}

func (h *Handler) orgPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	v, err := h.orgView(r, s, p)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "admin_org", v)
}

func (h *Handler) orgView(r *http.Request, s *state, p service.Principal) (*view, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	org, err := h.cfg.Orgs.Get(r.Context(), p, id)
	if err != nil {
		return nil, err
	}
	groups, err := h.cfg.Orgs.Groups(r.Context(), p, id)
	if err != nil {
		return nil, err
	}
	plans, err := h.cfg.Orgs.Plans(r.Context())
	if err != nil {
		return nil, err
	}
	v := h.consoleView(r, s, p, &orgPage{Org: org, Groups: groups, Plans: plans, More: org.Members.NextCursor != nil})
	v.Form["plan"] = org.Plan
	return v, nil
}

func (h *Handler) orgPlan(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	v, err := h.orgView(r, s, p)
	if err != nil {
		return err
	}
	id := v.Data["C"].(console).Page.(*orgPage).Org.ID
	if _, err := h.cfg.Orgs.SetPlan(r.Context(), p, id, r.PostFormValue("plan")); err != nil {
		v.Form["plan"] = r.PostFormValue("plan")
		return consoleFail(w, v, err, func(status int) error { return h.render(w, r, status, "admin_org", v) })
	}
	return redirect(w, r, "/admin/orgs/"+strconv.FormatInt(id, 10)+"?done=plan")
}

type auditPage struct {
	Events []service.AuditEvent
	Pager  pager
}

func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	q := r.URL.Query()
	page := &auditPage{}
	v := h.consoleView(r, s, p, page)
	for _, k := range []string{"actor", "target", "action", "since"} {
		v.Form[k] = q.Get(k)
	}
	f := service.AuditFilter{Action: optString(q, "action")}
	var ok bool
	if f.ActorID, ok = optID(q, "actor"); !ok {
		v.Errors["actor"] = "Must be a user's number."
	}
	if f.TargetUserID, ok = optID(q, "target"); !ok {
		v.Errors["target"] = "Must be a user's number."
	}
	if since := optString(q, "since"); since != nil {
		t, err := parseSince(*since)
		if err != nil {
			v.Errors["since"] = "Must be a date (2026-12-01) or a time (2026-12-01T08:00:00Z)."
		} else {
			f.Since = &t
		}
	}
	if len(v.Errors) > 0 {
		return h.render(w, r, http.StatusUnprocessableEntity, "admin_audit", v)
	}
	list, err := h.cfg.Admin.AuditEvents(r.Context(), p, f, pageOf(r))
	if err != nil {
		return consoleFail(w, v, err, func(status int) error { return h.render(w, r, status, "admin_audit", v) })
	}
	page.Events, page.Pager = list.Items, pageLinks(r, list.NextCursor)
	return h.render(w, r, http.StatusOK, "admin_audit", v)
}

// parseSince reads a date (midnight UTC) or an RFC 3339 time.
func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

type webhooksPage struct {
	Endpoints []service.WebhookEndpoint
	Secret    string // a new secret, shown once
	SecretFor int64
}

func (h *Handler) webhooksView(r *http.Request, s *state, p service.Principal) (*view, *webhooksPage, error) {
	if h.cfg.Webhooks == nil {
		return nil, nil, service.ErrNotFound
	}
	eps, err := h.cfg.Webhooks.Endpoints(r.Context(), p)
	if err != nil {
		return nil, nil, err
	}
	page := &webhooksPage{Endpoints: eps}
	return h.consoleView(r, s, p, page), page, nil
}

func (h *Handler) webhooksPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	v, _, err := h.webhooksView(r, s, p)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "admin_webhooks", v)
}

func (h *Handler) addWebhook(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	if h.cfg.Webhooks == nil {
		return service.ErrNotFound
	}
	var events []string
	for _, e := range strings.FieldsFunc(r.PostFormValue("events"), func(r rune) bool { return r == ',' || r == ' ' }) {
		events = append(events, e)
	}
	if len(events) == 0 {
		events = []string{"*"}
	}
	ep, secret, err := h.cfg.Webhooks.AddEndpoint(r.Context(), p, strings.TrimSpace(r.PostFormValue("url")), events)
	v, page, verr := h.webhooksView(r, s, p)
	if verr != nil {
		return verr
	}
	if err != nil {
		v.Form["url"], v.Form["events"] = r.PostFormValue("url"), r.PostFormValue("events")
		return consoleFail(w, v, err, func(status int) error { return h.render(w, r, status, "admin_webhooks", v) })
	}
	// The secret is shown on this answer only: it is not stored in the clear anywhere a page could read it again.
	page.Secret, page.SecretFor = secret, ep.ID
	v.Notice = "The endpoint is added. Copy its signing secret now: it is not shown again."
	return h.render(w, r, http.StatusCreated, "admin_webhooks", v)
}

type webhookPage struct {
	E          service.WebhookEndpoint
	Deliveries []service.WebhookDelivery
	Pager      pager
	Action     string // a confirmation: "rotate" or "remove"
	Secret     string // a new secret, shown once
}

func (h *Handler) webhookView(r *http.Request, s *state, p service.Principal) (*view, *webhookPage, error) {
	if h.cfg.Webhooks == nil {
		return nil, nil, service.ErrNotFound
	}
	id, err := pathID(r, "id")
	if err != nil {
		return nil, nil, err
	}
	ep, err := h.cfg.Webhooks.Endpoint(r.Context(), p, id)
	if err != nil {
		return nil, nil, err
	}
	page := &webhookPage{E: ep}
	return h.consoleView(r, s, p, page), page, nil
}

func (h *Handler) webhookPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	v, page, err := h.webhookView(r, s, p)
	if err != nil {
		return err
	}
	list, err := h.cfg.Webhooks.Deliveries(r.Context(), p, page.E.ID, pageOf(r))
	if err != nil {
		if e, ok := service.ErrorOf(err); ok && e.Code == service.CodeInvalidCursor {
			return redirect(w, r, r.URL.Path)
		}
		return err
	}
	page.Deliveries, page.Pager = list.Items, pageLinks(r, list.NextCursor)
	return h.render(w, r, http.StatusOK, "admin_webhook", v)
}

// webhookActionPage confirms rotating an endpoint's secret or removing it.
func (h *Handler) webhookActionPage(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	v, page, err := h.webhookView(r, s, p)
	if err != nil {
		return err
	}
	if page.Action = r.PathValue("action"); page.Action != "rotate" && page.Action != "remove" {
		return service.ErrNotFound
	}
	return h.render(w, r, http.StatusOK, "admin_webhook", v)
}

func (h *Handler) webhookAction(w http.ResponseWriter, r *http.Request, s *state, p service.Principal) error {
	v, page, err := h.webhookView(r, s, p)
	if err != nil {
		return err
	}
	switch r.PathValue("action") {
	case "rotate":
		ep, secret, err := h.cfg.Webhooks.RotateSecret(r.Context(), p, page.E.ID)
		if err != nil {
			return err
		}
		page.E, page.Secret = ep, secret
		v.Notice = "The secret is rotated. Copy the new one now: it is not shown again. The old one also signs for a day."
		return h.render(w, r, http.StatusOK, "admin_webhook", v)
	case "remove":
		if err := h.cfg.Webhooks.RemoveEndpoint(r.Context(), p, page.E.ID); err != nil {
			return err
		}
		return redirect(w, r, "/admin/webhooks?"+url.Values{"done": {"removed"}}.Encode())
	}
	return service.ErrNotFound
}
