package service

import (
	"context"
	"slices"

	"github.com/userd/userd/dbgen"
)

// orgAdminGroup is the group of an organization's administrators.
const orgAdminGroup = "org_admin"

// orgCaller is a caller as one organization sees them, read in the
// caller's transaction (after the organization's lock, when there is one).
type orgCaller struct {
	user     dbgen.User
	standing OrgStanding
	admins   []int64 // the organization's org admins, by id
}

// callerIn reads user userID and their standing in organization orgID.
// Errors: not_found (no such live user).
func callerIn(ctx context.Context, q *dbgen.Queries, userID, orgID int64) (orgCaller, error) {
	u, err := q.UserGetByID(ctx, userID)
	if err != nil {
		return orgCaller{}, err
	}
	if u.DeletedAt != nil || !u.IsActive {
		return orgCaller{}, ErrNotFound
	}
	admins, err := q.MemberAdminIDs(ctx, &orgID)
	if err != nil {
		return orgCaller{}, err
	}
	c := orgCaller{user: u, admins: admins}
	switch {
	case u.OrganizationID == nil || *u.OrganizationID != orgID:
		c.standing = OrgOutsider
	case slices.Contains(admins, u.ID):
		c.standing = OrgAdmin
	default:
		c.standing = OrgMember
	}
	return c, nil
}

// callerFor is callerIn for a caller who must be allowed act.
// Errors: not_found, forbidden.
func callerFor(ctx context.Context, q *dbgen.Queries, userID, orgID int64, act OrgAction) (orgCaller, error) {
	c, err := callerIn(ctx, q, userID, orgID)
	if err == nil {
		err = c.may(act)
	}
	return c, err
}

// may applies OrgMay to the caller.
func (c orgCaller) may(act OrgAction) error { return OrgMay(Role(c.user.Role), c.standing, act) }

// seesEmails reports whether the caller sees invitees' addresses.
func (c orgCaller) seesEmails() bool { return c.may(OrgManage) == nil }
