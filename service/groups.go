package service

import (
	"context"

	"github.com/userd/userd/dbgen"
)

// Group is a permission group.
type Group struct {
	Name        string
	Kind        string // subscription, system or org_manageable
	Description string
}

// DefaultGroups are the groups `userd setup-groups` creates.
var DefaultGroups = []Group{
	{"org_admin", "org_manageable", "Administers the organization: members, invitations, groups"},
	{"org_billing", "org_manageable", "Sees and changes the organization's plan"},
	{"org_editor", "org_manageable", "Edits the organization's content"},
	{"org_viewer", "org_manageable", "Reads the organization's content"},
	{"support", "system", "userd operators' support staff"},
	{"premium", "subscription", "Granted by a paid subscription"},
}

// EnsureGroups creates the groups that do not exist yet and returns how
// many it created. Existing groups are left as they are.
func EnsureGroups(ctx context.Context, db *DB, groups []Group) (int, error) {
	return inTx(ctx, db, func(q *dbgen.Queries) (int, error) {
		n := 0
		for _, g := range groups {
			c, err := q.GroupEnsure(ctx, dbgen.GroupEnsureParams{Name: g.Name, Kind: g.Kind, Description: g.Description})
			if err != nil {
				return 0, err
			}
			n += int(c)
		}
		return n, nil
	})
}
