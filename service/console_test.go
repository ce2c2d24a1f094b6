package service_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/userd/userd/service"
)

// The admin console's reads and actions: the directory's wider filters
// and phone search, the overview, the organization list, and who may.

func TestConsoleDirectoryFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	in := f.mkUser(userSpec{username: "ravi", email: "ravi@example.com", phone: "+919876543210", created: base})
	uk := f.mkUser(userSpec{username: "rhys", email: "rhys@example.com", phone: "+449876543210", created: base.Add(time.Minute)})
	other := f.mkUser(userSpec{username: "ola", email: "ola@example.com", phone: "+919876543211", created: base.Add(2 * time.Minute)})
	plain := f.mkUser(userSpec{username: "9876543210x", created: base.Add(3 * time.Minute)})
	f.exec("UPDATE users SET email_verified = true WHERE id IN ($1, $2)", in, other)
	var org int64
	if err := f.pool.QueryRow(ctx, "INSERT INTO organizations (name) VALUES ('Acme') RETURNING id").Scan(&org); err != nil {
		t.Fatal(err)
	}
	f.exec("UPDATE users SET organization_id = $1 WHERE id IN ($2, $3)", org, uk, other)
	cases := []struct {
		name   string
		filter service.UserFilter
		want   []int64 // newest first
	}{
		{"phone, last ten digits", service.UserFilter{Q: ptr("98765 43210")}, []int64{uk, in}},
		{"phone with a country code", service.UserFilter{Q: ptr("+91 (98765) 43210")}, []int64{uk, in}},
		{"phone with 00 and dashes", service.UserFilter{Q: ptr("0091-98765-43210")}, []int64{uk, in}},
		{"nine digits is a prefix", service.UserFilter{Q: ptr("987654321")}, []int64{plain}},
		{"verified", service.UserFilter{EmailVerified: ptr(true)}, []int64{other, in}},
		{"not verified", service.UserFilter{EmailVerified: ptr(false)}, []int64{plain, uk}},
		{"organization", service.UserFilter{OrganizationID: &org}, []int64{other, uk}},
		{"organization and verified", service.UserFilter{OrganizationID: &org, EmailVerified: ptr(true)}, []int64{other}},
		{"phone and organization", service.UserFilter{Q: ptr("9876543210"), OrganizationID: &org}, []int64{uk}},
		{"prefix and verified", service.UserFilter{Q: ptr("r"), EmailVerified: ptr(true)}, []int64{in}},
		{"verified and role", service.UserFilter{EmailVerified: ptr(true), Role: ptr("admin")}, nil},
	}
	for _, c := range cases {
		res, err := f.admin.ListUsers(ctx, service.Console(), c.filter, service.PageRequest{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := ids(res.Items); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	// Pages of one under a wide filter walk exactly its rows, and a
	// cursor of one filter is refused under another.
	if got := walk(t, f, service.UserFilter{OrganizationID: &org}, 1, nil); !slices.Equal(got, []int64{other, uk}) {
		t.Fatalf("walk organization: got %v, want %v", got, []int64{other, uk})
	}
	one := 1
	res, err := f.admin.ListUsers(ctx, service.Console(), service.UserFilter{EmailVerified: ptr(true)}, service.PageRequest{Limit: &one})
	if err != nil || res.NextCursor == nil {
		t.Fatalf("first page: %v, next %v", err, res.NextCursor)
	}
	_, err = f.admin.ListUsers(ctx, service.Console(), service.UserFilter{EmailVerified: ptr(false)}, service.PageRequest{Limit: &one, Cursor: *res.NextCursor})
	wantCode(t, err, service.CodeInvalidCursor)
	_, err = f.admin.ListUsers(ctx, service.Console(), service.UserFilter{OrganizationID: ptr(int64(0))}, service.PageRequest{})
	wantCode(t, err, service.CodeValidation)
}

func TestConsoleOverviewAndOrgs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.mkUser(userSpec{username: "root", role: "admin"})
	op := f.mkUser(userSpec{username: "oper", role: "operator"})
	old := f.mkUser(userSpec{username: "old", created: time.Now().AddDate(0, 0, -40)})
	f.mkUser(userSpec{username: "off", inactive: true})
	f.exec("UPDATE users SET last_login_at = now() - interval '2 hours' WHERE id = $1", admin)
	f.exec("UPDATE users SET last_login_at = now() - interval '3 days' WHERE id = $1", op)
	f.exec("UPDATE users SET last_login_at = now() - interval '30 days' WHERE id = $1", old)
	f.exec("INSERT INTO organizations (name, plan) VALUES ('Acme', 'team'), ('Acorn', 'team'), ('Beta', 'free')")
	f.exec("INSERT INTO outbox (kind, payload) VALUES ('mail', '{}')")

	byAdmin := asUser(service.User{ID: admin, Role: service.RoleAdmin})
	byOp := asUser(service.User{ID: op, Role: service.RoleOperator})
	o, err := f.admin.Overview(ctx, byOp, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if o.Users != 4 || o.ActiveUsers != 3 || o.SignedInDay != 1 || o.SignedInWeek != 2 || o.OutboxBacklog != 1 {
		t.Fatalf("got %+v, want 4 users, 3 active, 1 and 2 signed in, 1 waiting", o)
	}
	if len(o.SignupsByDay) != service.OverviewDays || o.SignupsByDay[service.OverviewDays-1].Count != 3 {
		t.Fatalf("sign-ups by day: got %d days, today %v; want %d days, today 3", len(o.SignupsByDay), o.SignupsByDay[len(o.SignupsByDay)-1], service.OverviewDays)
	}
	var sum int64
	for _, d := range o.SignupsByDay {
		sum += d.Count
	}
	if sum != 3 {
		t.Fatalf("got %d sign-ups in 30 days, want 3 (the 40-day-old one is out)", sum)
	}
	plans := map[string]int64{}
	for _, p := range o.OrgsByPlan {
		plans[p.Plan] = p.Orgs
	}
	if plans["team"] != 2 || plans["free"] != 1 || plans["enterprise"] != 0 {
		t.Fatalf("orgs by plan: got %v", plans)
	}
	_, err = f.admin.Overview(ctx, as(old), time.Now())
	wantCode(t, err, service.CodeForbidden)

	orgs := service.NewOrgs(service.NewDB(f.pool), "http://localhost", make([]byte, 32))
	page, err := orgs.List(ctx, byAdmin, ptr("ac"), service.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range page.Items {
		names = append(names, o.Name)
	}
	if !slices.Equal(names, []string{"Acorn", "Acme"}) {
		t.Fatalf("orgs starting with ac: got %v, want [Acorn Acme]", names)
	}
	_, err = orgs.List(ctx, byOp, nil, service.PageRequest{})
	wantCode(t, err, service.CodeForbidden)

	// Verification is the private view's: an operator cannot filter on it.
	_, err = f.admin.ListUsers(ctx, byOp, service.UserFilter{EmailVerified: ptr(true)}, service.PageRequest{})
	wantCode(t, err, service.CodeForbidden)
	if _, err := f.admin.ListUsers(ctx, byAdmin, service.UserFilter{EmailVerified: ptr(true)}, service.PageRequest{}); err != nil {
		t.Fatal(err)
	}

	// An operator reads no one's sessions or logins.
	_, err = f.admin.UserSessions(ctx, byOp, old, service.PageRequest{})
	wantCode(t, err, service.CodeForbidden)
	_, err = f.admin.UserIdentities(ctx, byOp, old)
	wantCode(t, err, service.CodeForbidden)
}
