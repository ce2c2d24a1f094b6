package service

import (
	"context"
	"fmt"

	"github.com/userd/userd/dbgen"
)

// Group is a permission group.
type Group struct {
	Name        string
	Kind        string // subscription, system or org_manageable
	Description string
}

// DefaultGroups are the groups `userd setup-groups` creates: every group
// the product uses. org_admin is the one userd itself acts on (the
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

// EnsureGroups creates the groups that do not exist yet and returns those
// it created. Existing groups are left as they are.
func EnsureGroups(ctx context.Context, db *DB, groups []Group) ([]Group, error) {
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
