package service_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/userd/userd/service"
)

// TestDefaultGroupsComeWithTheSchema: a freshly migrated database holds
// every default group as DefaultGroups describes it, so invitations with
// groups work without `userd setup-groups`, which then finds nothing to do.
func TestDefaultGroupsComeWithTheSchema(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	ctx := context.Background()
	for _, g := range service.DefaultGroups {
		if n := f.count(`SELECT count(*) FROM permission_groups WHERE name = $1 AND kind = $2 AND description = $3`, g.Name, g.Kind, g.Description); n != 1 {
			t.Errorf("group %s (%s, %q): %d rows after the migrations, want 1", g.Name, g.Kind, g.Description, n)
		}
	}

	org, admin := f.newOrg("Acme")
	inv, err := f.orgs.Invite(ctx, as(admin), org, "bob@example.com", []string{"org_editor", "org_billing"})
	if err != nil {
		t.Fatalf("invite with default groups on a fresh database: %v", err)
	}
	if !slices.Equal(inv.Groups, []string{"org_billing", "org_editor"}) && !slices.Equal(inv.Groups, []string{"org_editor", "org_billing"}) {
		t.Fatalf("invitation groups: got %v", inv.Groups)
	}

	created, err := service.EnsureGroups(ctx, service.NewDB(f.pool), service.DefaultGroups)
	if err != nil || len(created) != 0 {
		t.Fatalf("EnsureGroups(DefaultGroups) after the migrations: got %v, %v; want none created", created, err)
	}
}

// TestEnsureGroupsRefusesBadGroups: a custom group that breaks a rule of
// the table is refused with a message naming it, and nothing of the set is
// created.
func TestEnsureGroupsRefusesBadGroups(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	ctx := context.Background()
	before := f.count(`SELECT count(*) FROM permission_groups`)
	for _, tc := range []struct {
		bad  service.Group
		want string
	}{
		{service.Group{Name: "Staff", Kind: "system"}, `group name "Staff"`},
		{service.Group{Name: "staff", Kind: "admin"}, `kind "admin"`},
		{service.Group{Name: "staff", Kind: "system", Description: strings.Repeat("é", 501)}, "longer than 500"},
	} {
		_, err := service.EnsureGroups(ctx, service.NewDB(f.pool), []service.Group{{Name: "fine_group", Kind: "system"}, tc.bad})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("EnsureGroups(%+v): got %v, want an error containing %q", tc.bad, err, tc.want)
		}
	}
	if after := f.count(`SELECT count(*) FROM permission_groups`); after != before {
		t.Fatalf("refused sets created groups: %d before, %d after", before, after)
	}
}
