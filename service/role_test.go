package service_test

import (
	"errors"
	"testing"

	"github.com/userd/userd/service"
)

// TestRolePolicy checks every role against every permission, as docs/api.md's
// "who" column grants them, plus a role the database would refuse.
func TestRolePolicy(t *testing.T) {
	t.Parallel()
	perms := []service.Permission{
		service.PermListUsers, service.PermLookUpUsers, service.PermManageUsers,
		service.PermReadAudit, service.PermSeeInactive, service.PermSeePrivate, service.PermManageOrganizations,
		service.PermManageWebhooks, service.PermManageClients,
	}
	// Per role, in the order of perms.
	want := map[service.Role][]bool{
		service.RoleUser:      {false, false, false, false, false, false, false, false, false},
		service.RoleOwner:     {false, false, false, false, false, false, false, false, false},
		service.RoleAgent:     {false, true, false, false, false, false, false, false, false},
		service.RoleBroker:    {false, false, false, false, false, false, false, false, false},
		service.RoleArtist:    {false, false, false, false, false, false, false, false, false},
		service.RoleAssistant: {false, false, false, false, false, false, false, false, false},
		service.RoleOperator:  {true, true, false, false, true, false, false, false, false},
		service.RoleAdmin:     {true, true, true, true, true, true, true, true, true},
		"king":                {false, false, false, false, false, false, false, false, false},
		"":                    {false, false, false, false, false, false, false, false, false},
	}
	for role, grants := range want {
		for i, p := range perms {
			if got := role.Can(p); got != grants[i] {
				t.Errorf("%q.Can(%d): got %v, want %v", role, p, got, grants[i])
			}
			err := service.Authorize(service.User{Role: role}, p)
			if grants[i] != (err == nil) || (err != nil && !errors.Is(err, service.ErrForbidden)) {
				t.Errorf("Authorize(%q, %d): got %v, want allowed=%v", role, p, err, grants[i])
			}
		}
		if service.RoleAdmin.Can(service.Permission(0)) || role.Can(service.Permission(len(perms)+1)) {
			t.Errorf("%q: an unknown permission was granted", role)
		}
	}
	if len(service.Roles()) != 8 {
		t.Fatalf("got %d roles, want the 8 of the README", len(service.Roles()))
	}
	for _, r := range service.Roles() {
		if _, ok := want[r]; !ok {
			t.Errorf("role %q has no row in the policy table", r)
		}
	}
}

// TestRoleValid checks that the roles the schema allows are valid and
// that nothing else is.
func TestRoleValid(t *testing.T) {
	t.Parallel()
	for _, r := range []service.Role{"user", "owner", "agent", "broker", "artist", "assistant", "operator", "admin"} {
		if !r.Valid() {
			t.Errorf("%q: got invalid, want valid", r)
		}
	}
	for _, r := range []service.Role{"", "king", "Admin", "admin "} {
		if r.Valid() {
			t.Errorf("%q: got valid, want invalid", r)
		}
	}
}

// TestOrgPolicy checks every standing and platform role against every
// organization action: outsiders learn nothing (not_found), members read,
// org admins manage and wipe out, platform admins do everything and alone
// change plans.
func TestOrgPolicy(t *testing.T) {
	t.Parallel()
	acts := []service.OrgAction{service.OrgView, service.OrgManage, service.OrgWipeOut, service.OrgChangePlan}
	nf, fb := service.ErrNotFound, service.ErrForbidden
	cases := []struct {
		role     service.Role
		standing service.OrgStanding
		want     []error // per action, in the order of acts
	}{
		{service.RoleUser, service.OrgOutsider, []error{nf, nf, nf, fb}},
		{service.RoleOperator, service.OrgOutsider, []error{nf, nf, nf, fb}},
		{service.RoleUser, service.OrgMember, []error{nil, fb, fb, fb}},
		{service.RoleAgent, service.OrgMember, []error{nil, fb, fb, fb}},
		{service.RoleUser, service.OrgAdmin, []error{nil, nil, nil, fb}},
		{service.RoleOperator, service.OrgAdmin, []error{nil, nil, nil, fb}},
		{service.RoleAdmin, service.OrgOutsider, []error{nil, nil, nil, nil}},
		{service.RoleAdmin, service.OrgMember, []error{nil, nil, nil, nil}},
		{"king", service.OrgAdmin, []error{nil, nil, nil, fb}},
	}
	for _, c := range cases {
		for i, act := range acts {
			got := service.OrgMay(c.role, c.standing, act)
			if (got == nil) != (c.want[i] == nil) || (got != nil && !errors.Is(got, c.want[i])) {
				t.Errorf("OrgMay(%q, %d, %d): got %v, want %v", c.role, c.standing, act, got, c.want[i])
			}
		}
	}
}
