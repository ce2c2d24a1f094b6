package service

import (
	"context"
	"slices"
	"strings"

	"github.com/userd/userd/dbgen"
)

// Role is a user's role. The database CHECKs the same set
// (users_role_chk); the policy below is the one place that says what each
// role may do.
type Role string

// The roles. They are not ranked: each holds the permissions Can gives
// it (an agent may look users up, which a broker may not).
const (
	RoleUser      Role = "user"
	RoleOwner     Role = "owner"
	RoleAgent     Role = "agent"
	RoleBroker    Role = "broker"
	RoleArtist    Role = "artist"
	RoleAssistant Role = "assistant"
	RoleOperator  Role = "operator"
	RoleAdmin     Role = "admin"
)

// Roles returns every role.
func Roles() []Role {
	return []Role{RoleUser, RoleOwner, RoleAgent, RoleBroker, RoleArtist, RoleAssistant, RoleOperator, RoleAdmin}
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles(), r) }

// roleProblem is the validation message of an unknown role.
func roleProblem() string {
	names := make([]string, 0, 8)
	for _, r := range Roles() {
		names = append(names, string(r))
	}
	return "must be one of " + strings.Join(names, ", ")
}

// Permission is something a role may do to accounts other than the
// caller's own.
type Permission int

// The permissions the policy grants.
const (
	PermListUsers   Permission = iota + 1 // page through the directory
	PermLookUpUsers                       // find one user by phone or email
	PermManageUsers                       // change roles, deactivate, reactivate, delete others
	PermReadAudit                         // read the audit log
	PermSeeInactive                       // find and view inactive and blocking accounts
	PermSeePrivate                        // see another user's private view
	// PermManageOrganizations acts as an org admin of every organization
	// and changes their plans.
	PermManageOrganizations
	PermManageWebhooks // add, remove and rotate webhook endpoints, read and replay their deliveries
	PermManageClients  // add, remove and rotate OAuth clients
)

// Can reports whether role r holds permission p: the policy (the "who"
// column of docs/api.md, "API tour"). Unknown roles and permissions hold nothing.
func (r Role) Can(p Permission) bool {
	switch p {
	case PermListUsers, PermSeeInactive:
		return r == RoleAdmin || r == RoleOperator
	case PermLookUpUsers:
		return r == RoleAdmin || r == RoleOperator || r == RoleAgent
	case PermManageUsers, PermReadAudit, PermSeePrivate, PermManageOrganizations, PermManageWebhooks, PermManageClients:
		return r == RoleAdmin
	default:
		return false
	}
}

// Authorize returns ErrForbidden unless u's role holds p.
func Authorize(u User, p Permission) error {
	if !u.Role.Can(p) {
		return ErrForbidden
	}
	return nil
}

// Every exported method that acts for someone takes that someone, by,
// right after ctx and applies the policy itself: the HTTP layer and the
// pages may ask the policy first (an early 403), but the service decides.

// Console returns the principal of the operator at the command line
// (`userd webhooks …`, the benchmarks): whoever runs userd's commands holds
// the database's credentials, so the console holds every permission. It
// names no user; the audit log records its actions with no actor.
func Console() Principal { return Principal{console: true} }

// actor is by's user id as the audit log records it; nil for the console.
func (by Principal) actor() *int64 {
	if by.console {
		return nil
	}
	id := by.User.ID
	return &id
}

// is reports whether by is user id signed in (never the console).
func (by Principal) is(id int64) bool { return !by.console && by.User.ID == id }

// may returns ErrForbidden unless by holds p, by the role by was
// authenticated with. Where a concurrent role change matters, mayNow
// reads the role again.
func (by Principal) may(p Permission) error {
	if by.console {
		return nil
	}
	return Authorize(by.User, p)
}

// mayNow is may against by's users row as q's transaction reads it now,
// after the locks the caller took: ErrForbidden unless it is a live,
// active user whose role holds p. Every check of "may manage users" that
// races with role changes (lockForChange, deleteTx) takes the admin rows'
// locks first, so a concurrent demotion is either committed and seen here
// or waits for this transaction.
func mayNow(ctx context.Context, q *dbgen.Queries, by Principal, p Permission) error {
	if by.console {
		return nil
	}
	r, err := q.UserGetByID(ctx, by.User.ID)
	if err != nil {
		return notFoundAs(err, ErrForbidden)
	}
	if u := userFromRow(r); !u.Usable() || !u.Role.Can(p) {
		return ErrForbidden
	}
	return nil
}

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

// OrgMay decides whether a user of platform role role, with standing in
// an organization, may act on it. Platform admins may do everything to
// every organization (PermManageOrganizations: they are how an
// organization whose admins are gone is repaired); the plan is theirs
// alone. Members read; org admins also
// manage and wipe out. Outsiders get not_found, so that an organization's
// existence is not revealed to them; members lacking a right get forbidden.
// Leaving (a member removing themself) is not an action here: every
// member may leave.
func OrgMay(role Role, standing OrgStanding, act OrgAction) error {
	switch {
	case role.Can(PermManageOrganizations):
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
