package service_test

import (
	"context"
	"errors"
	"testing"

	"github.com/userd/userd/service"
)

// TestPolicyInTheService calls every method that applies a permission
// directly, as callers the policy refuses, and expects forbidden (or
// not_found for organization outsiders, who must not learn that the
// organization exists). Nothing the HTTP layer does stands in front: the
// service itself refuses. A stale principal that still claims the admin
// role its row lost is refused wherever the check races with role changes.
func TestPolicyInTheService(t *testing.T) {
	t.Parallel()
	f := newHookFixture(t, service.WebhookConfig{})
	ctx := context.Background()
	admin := f.mkUser(userSpec{role: "admin"})
	target := f.mkUser(userSpec{email: "target@example.com"})
	ep, _, err := f.hooks.AddEndpoint(ctx, asUser(service.User{ID: admin, Role: service.RoleAdmin}), "https://example.com/h", []string{"*"})
	if err != nil {
		t.Fatal(err)
	}
	org, orgAdmin := f.newOrg("Policy")
	f.exec("UPDATE organizations SET plan = 'business' WHERE id = $1", org)
	f.join(org, orgAdmin, target, "target@example.com")
	member := f.mkEmailUser("member@example.com")
	f.join(org, orgAdmin, member, "member@example.com")
	inv, err := f.orgs.Invite(ctx, as(orgAdmin), org, "pending@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}

	// Every role but admin, signed in with its own role; and a demoted
	// admin whose cached principal still says admin.
	var callers []service.Principal
	for _, r := range service.Roles() {
		if r != service.RoleAdmin {
			callers = append(callers, asUser(service.User{ID: f.mkUser(userSpec{role: string(r)}), Role: r}))
		}
	}
	demoted := f.mkUser(userSpec{role: "user"})
	stale := asUser(service.User{ID: demoted, Role: service.RoleAdmin})

	type call struct {
		name string
		perm service.Permission // the callers whose role holds it are skipped
		do   func(by service.Principal) error
		// racy: the check reads the caller's row, so a stale principal is
		// refused too.
		racy bool
	}
	page := service.PageRequest{}
	calls := []call{
		{"Admin.ListUsers", service.PermListUsers, func(by service.Principal) error {
			_, err := f.admin.ListUsers(ctx, by, service.UserFilter{IsActive: ptr(false)}, page)
			return err
		}, false},
		{"Admin.AuditEvents", service.PermReadAudit, func(by service.Principal) error {
			_, err := f.admin.AuditEvents(ctx, by, service.AuditFilter{}, page)
			return err
		}, false},
		{"Admin.SetRole", service.PermManageUsers, func(by service.Principal) error {
			_, err := f.admin.SetRole(ctx, by, target, service.RoleOperator, nil)
			return err
		}, true},
		{"Admin.SetActive", service.PermManageUsers, func(by service.Principal) error {
			_, err := f.admin.SetActive(ctx, by, target, false)
			return err
		}, true},
		{"Users.Delete", service.PermManageUsers, func(by service.Principal) error { return f.users.Delete(ctx, by, target) }, true},
		{"Webhooks.AddEndpoint", service.PermManageWebhooks, func(by service.Principal) error {
			_, _, err := f.hooks.AddEndpoint(ctx, by, "https://example.com/x", []string{"*"})
			return err
		}, true},
		{"Webhooks.Endpoints", service.PermManageWebhooks, func(by service.Principal) error { _, err := f.hooks.Endpoints(ctx, by); return err }, true},
		{"Webhooks.Endpoint", service.PermManageWebhooks, func(by service.Principal) error { _, err := f.hooks.Endpoint(ctx, by, ep.ID); return err }, true},
		{"Webhooks.RemoveEndpoint", service.PermManageWebhooks, func(by service.Principal) error { return f.hooks.RemoveEndpoint(ctx, by, ep.ID) }, true},
		{"Webhooks.RotateSecret", service.PermManageWebhooks, func(by service.Principal) error { _, _, err := f.hooks.RotateSecret(ctx, by, ep.ID); return err }, true},
		{"Webhooks.Deliveries", service.PermManageWebhooks, func(by service.Principal) error { _, err := f.hooks.Deliveries(ctx, by, ep.ID, page); return err }, true},
		{"Webhooks.Replay", service.PermManageWebhooks, func(by service.Principal) error { _, err := f.hooks.Replay(ctx, by, ep.ID, 1); return err }, true},
		{"Orgs.SetPlan", service.PermManageOrganizations, func(by service.Principal) error { _, err := f.orgs.SetPlan(ctx, by, org, "team"); return err }, true},
	}
	for _, c := range calls {
		for _, by := range callers {
			if by.User.Role.Can(c.perm) {
				continue
			}
			if err := c.do(by); !errors.Is(err, service.ErrForbidden) {
				t.Errorf("%s as %s: got %v, want forbidden", c.name, by.User.Role, err)
			}
		}
		if err := c.do(stale); c.racy && !errors.Is(err, service.ErrForbidden) {
			t.Errorf("%s as a demoted admin: got %v, want forbidden", c.name, err)
		}
	}
	// Lookup: everyone but agents, operators and admins.
	for _, by := range callers {
		_, err := f.admin.Lookup(ctx, by, service.LookupQuery{Email: ptr("target@example.com")})
		may := by.User.Role == service.RoleAgent || by.User.Role == service.RoleOperator
		if may != (err == nil) || (!may && !errors.Is(err, service.ErrForbidden)) {
			t.Errorf("Admin.Lookup as %s: got %v, want allowed %v (else forbidden)", by.User.Role, err, may)
		}
	}

	// Organizations: a member may not manage; an outsider gets not_found.
	outsider := as(f.mkUser(userSpec{}))
	orgCalls := []call{
		{"Orgs.Update", service.PermManageOrganizations, func(by service.Principal) error {
			_, err := f.orgs.Update(ctx, by, org, service.OrgPatch{Name: service.Optional[string]{Set: true, Value: ptr("Renamed")}})
			return err
		}, false},
		{"Orgs.Delete", service.PermManageOrganizations, func(by service.Principal) error { return f.orgs.Delete(ctx, by, org) }, false},
		{"Orgs.Invite", service.PermManageOrganizations, func(by service.Principal) error {
			_, err := f.orgs.Invite(ctx, by, org, "someone@example.com", nil)
			return err
		}, false},
		{"Orgs.ListInvitations", service.PermManageOrganizations, func(by service.Principal) error { _, err := f.orgs.ListInvitations(ctx, by, org, page); return err }, false},
		{"Orgs.RevokeInvitation", service.PermManageOrganizations, func(by service.Principal) error { return f.orgs.RevokeInvitation(ctx, by, org, inv.ID) }, false},
		{"Orgs.RemoveMember", service.PermManageOrganizations, func(by service.Principal) error { return f.orgs.RemoveMember(ctx, by, org, target) }, false},
		{"Orgs.SetMemberGroups", service.PermManageOrganizations, func(by service.Principal) error {
			_, err := f.orgs.SetMemberGroups(ctx, by, org, target, []string{"org_admin"})
			return err
		}, false},
	}
	for _, c := range orgCalls {
		for _, w := range []struct {
			name string
			by   service.Principal
			want error
		}{{"member", as(member), service.ErrForbidden}, {"outsider", outsider, service.ErrNotFound}} {
			if err := c.do(w.by); !errors.Is(err, w.want) {
				t.Errorf("%s as %s: got %v, want %v", c.name, w.name, err, w.want)
			}
		}
	}
	for _, read := range []func(by service.Principal) error{
		func(by service.Principal) error { _, err := f.orgs.Get(ctx, by, org); return err },
		func(by service.Principal) error { _, err := f.orgs.Groups(ctx, by, org); return err },
		func(by service.Principal) error { _, err := f.orgs.ListMembers(ctx, by, org, page); return err },
	} {
		if err := read(outsider); !errors.Is(err, service.ErrNotFound) {
			t.Errorf("an organization read as an outsider: got %v, want not_found", err)
		}
	}

	// Nothing changed.
	if n := f.count("SELECT count(*) FROM users WHERE id = $1 AND role = 'user' AND is_active AND deleted_at IS NULL AND organization_id = $2", target, org); n != 1 {
		t.Errorf("the target changed under refused calls")
	}
	if n := f.count("SELECT count(*) FROM webhook_endpoints"); n != 1 {
		t.Errorf("got %d webhook endpoints after refused calls, want 1", n)
	}
}
