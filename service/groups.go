package service

import (
	"context"
	"fmt"
	"regexp"

	"github.com/userd/userd/dbgen"
)

// Group is a permission group.
type Group struct {
	Name        string
	Kind        string // subscription, system or org_manageable
	Description string
}

// DefaultGroups are every group the product uses. The migrations seed
// them (20261207500001_default_groups); `userd setup-groups` recreates any
// that were deleted. org_admin is the one userd itself acts on (the
// administrators of an organization); the other organization-manageable
// groups are for the application's own checks, assigned by org admins.
var DefaultGroups = []Group{
	{"org_admin", "org_manageable", "Administers the organization: members, invitations, groups"},
	{"org_billing", "org_manageable", "Sees and changes the organization's plan"},
	{"org_editor", "org_manageable", "Edits the organization's content"},
	{"org_viewer", "org_manageable", "Reads the organization's content"},
	{"support", "system", "userd operators' support staff"},
	{"premium", "subscription", "Granted by a paid subscription"},
}

// groupName is the rule of permission_groups_name_chk.
var groupName = regexp.MustCompile(`^[a-z][a-z0-9_]{1,63}$`)

// Validate says what is wrong with a group before the database does:
// the rules of permission_groups' CHECK constraints.
func (g Group) Validate() error {
	switch {
	case !groupName.MatchString(g.Name):
		return fmt.Errorf("group name %q: want 2 to 64 of a-z, 0-9 and _, starting with a letter", g.Name)
	case g.Kind != "subscription" && g.Kind != "system" && g.Kind != "org_manageable":
		return fmt.Errorf("group %s: kind %q: want subscription, system or org_manageable", g.Name, g.Kind)
	case len([]rune(g.Description)) > 500:
		return fmt.Errorf("group %s: description longer than 500 characters", g.Name)
	}
	return nil
}

// EnsureGroups creates the groups that do not exist yet and returns those
// it created. Existing groups are left as they are.
func EnsureGroups(ctx context.Context, db *DB, groups []Group) ([]Group, error) {
	for _, g := range groups {
		if err := g.Validate(); err != nil {
			return nil, err
		}
	}
	return inTxV(ctx, db, func(q *dbgen.Queries) ([]Group, error) {
		var created []Group
		for _, g := range groups {
			c, err := q.GroupEnsure(ctx, dbgen.GroupEnsureParams{Name: g.Name, Kind: g.Kind, Description: g.Description})
			if err != nil {
				return nil, fmt.Errorf("group %s: %w", g.Name, err)
			}
			if c > 0 {
				created = append(created, g)
			}
		}
		return created, nil
	})
}
