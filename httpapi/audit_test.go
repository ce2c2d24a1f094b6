package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestAuditEventFilters walks the audit log page by page under each filter
// and checks that every event returned matches it and that every seeded
// event matching it is returned.
func TestAuditEventFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, a := e.userWithRole("audit-admin", "admin")
	_, b := e.signIn("audit-b", nil)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	type event struct {
		actor  *int64
		target int64
		action string
		at     time.Time
	}
	seeded := []event{
		{&a, b, "admin.role_changed", base},
		{&a, a, "user.password_changed", base.Add(time.Hour)},
		{&b, b, "user.password_changed", base.Add(2 * time.Hour)},
		{nil, b, "session.reuse_detected", base.Add(3 * time.Hour)},
		{&a, b, "admin.role_changed", base.Add(4 * time.Hour)},
	}
	ids := map[float64]event{}
	for _, ev := range seeded {
		var id int64
		err := e.pool.QueryRow(context.Background(), `INSERT INTO audit_events (actor_id, target_user_id, action, created_at)
			VALUES ($1, $2, $3, $4) RETURNING id`, ev.actor, ev.target, ev.action, ev.at).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		ids[float64(id)] = ev
	}
	since := base.Add(90 * time.Minute)
	cases := []struct {
		query string
		match func(actor *float64, target float64, action string, at time.Time) bool
	}{
		{"", func(*float64, float64, string, time.Time) bool { return true }},
		{fmt.Sprintf("actor_id=%d", a), func(ac *float64, _ float64, _ string, _ time.Time) bool { return ac != nil && *ac == float64(a) }},
		{fmt.Sprintf("target_user_id=%d", b), func(_ *float64, tg float64, _ string, _ time.Time) bool { return tg == float64(b) }},
		{"action=user.password_changed", func(_ *float64, _ float64, ac string, _ time.Time) bool { return ac == "user.password_changed" }},
		{"since=" + url.QueryEscape(since.Format(time.RFC3339)), func(_ *float64, _ float64, _ string, at time.Time) bool { return !at.Before(since) }},
		{fmt.Sprintf("actor_id=%d&target_user_id=%d&action=admin.role_changed", a, b), func(ac *float64, tg float64, act string, _ time.Time) bool {
			return ac != nil && *ac == float64(a) && tg == float64(b) && act == "admin.role_changed"
		}},
		{fmt.Sprintf("target_user_id=%d&since=%s", b, url.QueryEscape(since.Format(time.RFC3339))), func(_ *float64, tg float64, _ string, at time.Time) bool {
			return tg == float64(b) && !at.Before(since)
		}},
		{"action=admin.role_changed&since=" + url.QueryEscape(since.Format(time.RFC3339)), func(_ *float64, _ float64, act string, at time.Time) bool {
			return act == "admin.role_changed" && !at.Before(since)
		}},
	}
	for _, c := range cases {
		seen := map[float64]bool{}
		next := "/api/v1/audit-events?limit=2"
		if c.query != "" {
			next += "&" + c.query
		}
		for pages := 0; next != ""; pages++ {
			if pages > 20 {
				t.Fatalf("%s: more than 20 pages", c.query)
			}
			r := e.do("GET", next, admin, nil)
			expect(t, r, http.StatusOK, "")
			p := decodePage(t, r)
			for _, it := range p.Items {
				var actor *float64
				if v, ok := it["actor_id"].(float64); ok {
					actor = &v
				}
				target, _ := it["target_user_id"].(float64)
				at, err := time.Parse(time.RFC3339Nano, it["created_at"].(string))
				if err != nil {
					t.Fatal(err)
				}
				if !c.match(actor, target, it["action"].(string), at) {
					t.Errorf("%s: got event %v, which does not match", c.query, it)
				}
				seen[it["id"].(float64)] = true
			}
			next = ""
			if p.NextCursor != nil {
				next = "/api/v1/audit-events?limit=2&cursor=" + url.QueryEscape(*p.NextCursor)
				if c.query != "" {
					next += "&" + c.query
				}
			}
		}
		for id, ev := range ids {
			var actor *float64
			if ev.actor != nil {
				f := float64(*ev.actor)
				actor = &f
			}
			if want := c.match(actor, float64(ev.target), ev.action, ev.at); seen[id] != want {
				t.Errorf("%s: seeded event %v (%+v): returned %v, want %v", c.query, id, ev, seen[id], want)
			}
		}
	}

	// Malformed filters are 422 on their field; a cursor is bound to its filters.
	for q, field := range map[string]string{
		"actor_id=x": "actor_id", "actor_id=0": "actor_id", "target_user_id=-3": "target_user_id",
		"action=Not%20An%20Action": "action", "since=yesterday": "since",
	} {
		r := e.do("GET", "/api/v1/audit-events?"+q, admin, nil)
		expect(t, r, http.StatusUnprocessableEntity, "validation_failed")
		if errs, _ := r.json(t)["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["field"] != field {
			t.Errorf("?%s: got errors %v, want one on %s", q, r.json(t)["errors"], field)
		}
	}
	first := decodePage(t, e.do("GET", fmt.Sprintf("/api/v1/audit-events?limit=1&actor_id=%d", a), admin, nil))
	if first.NextCursor == nil {
		t.Fatal("actor's first page of one: got no next_cursor")
	}
	r := e.do("GET", fmt.Sprintf("/api/v1/audit-events?limit=1&actor_id=%d&cursor=%s", b, url.QueryEscape(*first.NextCursor)), admin, nil)
	expect(t, r, http.StatusBadRequest, "invalid_cursor")
}
