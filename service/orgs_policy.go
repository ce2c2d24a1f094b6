package service

import (
	"context"
	"slices"

	"github.com/userd/userd/dbgen"
)

// OrgStanding is what a user is to one organization.
type OrgStanding int

// The standings, from least to most.
const (
	OrgOutsider OrgStanding = iota // not a member
	OrgMember                      // a member
	OrgAdmin                       // a member in group org_admin
)

// OrgAction is something a caller does to an organization.
type OrgAction int

// The organization actions.
const (
	// OrgView reads the organization, its members and the assignable groups.
	OrgView OrgAction = iota
	// OrgManage renames it, invites, revokes invitations, removes members
	// and sets their groups.
	OrgManage
	// OrgWipeOut deletes it.
	OrgWipeOut
	// OrgChangePlan moves it to another plan.
	OrgChangePlan
)

// orgAdminGroup is the group of an organization's administrators.
const orgAdminGroup = "org_admin"

// OrgMay decides whether a user of platform role role, with standing in
// an organization, may act on it. Platform admins may do everything to
// every organization (they are how an organization whose admins are gone
// is repaired); the plan is theirs alone. Members read; org admins also
// manage and wipe out. Outsiders get not_found, so that an organization's
// existence is not revealed to them; members lacking a right get forbidden.
// Leaving (a member removing themself) is not an action here: every
// member may leave.
func OrgMay(role string, standing OrgStanding, act OrgAction) error {
	switch {
	case role == "admin":
		return nil
	case act == OrgChangePlan:
		return ErrForbidden
	case standing == OrgOutsider:
		return ErrNotFound
	case act == OrgView || standing == OrgAdmin:
		return nil
	default:
		return ErrForbidden
	}
}

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

// may applies OrgMay to the caller.
func (c orgCaller) may(act OrgAction) error { return OrgMay(c.user.Role, c.standing, act) }

// seesEmails reports whether the caller sees invitees' addresses.
func (c orgCaller) seesEmails() bool { return c.may(OrgManage) == nil }
