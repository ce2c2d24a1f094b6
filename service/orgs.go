package service

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/mail"
)

// DefaultInviteTTL is how long an invitation link works.
const DefaultInviteTTL = 7 * 24 * time.Hour

// Orgs is organizations: their members, invitations, groups and plans.
//
// Every change to an organization's members, invitations or plan first
// locks the organization row, then reads the caller's standing, then
// checks the seat limit and the last-admin rule: so concurrent changes
// take turns, and each sees what the one before it committed. The
// database holds the seat limit as well (a trigger that takes the same
// lock), so it holds whatever code path writes.
type Orgs struct {
	db        *DB
	publicURL string
	cursors   cursorCodec
	// InviteTTL is how long an invitation works (DefaultInviteTTL).
	InviteTTL time.Duration
	// Mail renders the invitation (the embedded templates).
	Mail *mail.Templates
}

// NewOrgs returns the Orgs service. publicURL is the base of mailed links;
// cursorKey signs page cursors (see NewAdmin). NewOrgs panics when
// cursorKey is shorter than 16 bytes.
func NewOrgs(db *DB, publicURL string, cursorKey []byte) *Orgs {
	return &Orgs{
		db: db, publicURL: strings.TrimRight(publicURL, "/"),
		cursors: newCursorCodec("NewOrgs", cursorKey), InviteTTL: DefaultInviteTTL,
		Mail: mail.DefaultTemplates(),
	}
}

// Organization is an organization with its plan and seats.
type Organization struct {
	ID   int64
	Name string
	Plan string
	// SeatLimit is the plan's seat limit; nil is unlimited.
	SeatLimit *int
	// SeatsUsed is members plus pending invitations.
	SeatsUsed int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Member is a member of an organization with their organization groups.
type Member struct {
	User   User
	Groups []string
}

// Invitation is an invitation to an organization. Email is "" when the
// viewer may not see invitees' addresses.
type Invitation struct {
	ID             int64
	OrganizationID int64
	InviterID      *int64
	Email          string
	Groups         []string
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

// OrgDetail is an organization as a member sees it: the first pages of its
// members and of its pending invitations (continued by ListMembers and
// ListInvitations).
type OrgDetail struct {
	Organization
	Members     Page[Member]
	Invitations Page[Invitation]
}

// Cursor kinds of the organization lists.
const (
	cursorMembers     = "org_members"
	cursorInvitations = "org_invitations"
)

// maxOrgName is the longest organization name, in characters.
const maxOrgName = 70

func orgBind(orgID int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(orgID)) }

func orgName(name string) (string, error) {
	var v validation
	n := text(&v, "name", &name, maxOrgName)
	if err := v.err(); err != nil {
		return "", err
	}
	if n == nil {
		return "", Invalid(FieldError{Field: "name", Message: "is required"})
	}
	return *n, nil
}

func intPtr(p *int32) *int {
	if p == nil {
		return nil
	}
	n := int(*p)
	return &n
}

// auditOrg records an action on organization orgID. details hold ids, never
// personal data.
func auditOrg(ctx context.Context, q *dbgen.Queries, actorID int64, targetID *int64, orgID int64, action string, details map[string]any) error {
	return auditIn(ctx, q, &actorID, targetID, &orgID, action, details)
}

func (o *Orgs) get(ctx context.Context, q *dbgen.Queries, orgID int64) (Organization, error) {
	r, err := q.OrgGet(ctx, orgID)
	if err != nil {
		return Organization{}, err
	}
	return Organization{
		ID: r.Organization.ID, Name: r.Organization.Name, Plan: r.Organization.Plan,
		SeatLimit: intPtr(r.SeatLimit), SeatsUsed: int(r.SeatsUsed),
		CreatedAt: r.Organization.CreatedAt, UpdatedAt: r.Organization.UpdatedAt,
	}, nil
}

// lockOrg locks organization orgID (see OrgLock) and reads the caller in
// it.
// Errors: not_found (no such organization, or the caller is gone).
func lockOrg(ctx context.Context, q *dbgen.Queries, callerID, orgID int64) (dbgen.Organization, orgCaller, error) {
	org, err := q.OrgLock(ctx, orgID)
	if err != nil {
		return dbgen.Organization{}, orgCaller{}, err
	}
	c, err := callerIn(ctx, q, callerID, orgID)
	return org, c, err
}

// lockOrgFor is lockOrg for a caller who must be allowed act.
// Errors: not_found, forbidden.
func lockOrgFor(ctx context.Context, q *dbgen.Queries, callerID, orgID int64, act OrgAction) (dbgen.Organization, orgCaller, error) {
	org, c, err := lockOrg(ctx, q, callerID, orgID)
	if err == nil {
		err = c.may(act)
	}
	return org, c, err
}

// checkSeats reports seat_limit_reached unless organization orgID, locked
// by the caller, has room for adding more seats (0: is not over its limit).
func checkSeats(ctx context.Context, q *dbgen.Queries, orgID, adding int64) error {
	limit, err := q.OrgSeatLimit(ctx, orgID)
	if err != nil || limit == nil {
		return err
	}
	used, err := q.OrgSeatsUsed(ctx, orgID)
	if err != nil {
		return err
	}
	if used+adding > int64(*limit) {
		return ErrSeatLimit
	}
	return nil
}

// Create makes an organization on the free plan; the caller becomes its
// member and org admin. Audited as org.created.
// Errors: validation_failed (name), already_member (the caller belongs to
// an organization), not_found (the caller is gone).
func (o *Orgs) Create(ctx context.Context, by Principal, name string) (Organization, error) {
	name, err := orgName(name)
	if err != nil {
		return Organization{}, err
	}
	return inTxV(ctx, o.db, func(q *dbgen.Queries) (Organization, error) {
		u, err := lockLiveUser(ctx, q, by.User.ID)
		if err != nil {
			return Organization{}, err
		}
		if u.OrganizationID != nil {
			return Organization{}, ErrAlreadyMember
		}
		org, err := q.OrgCreate(ctx, name)
		if err != nil {
			return Organization{}, err
		}
		if err := o.join(ctx, q, by.User.ID, org.ID, []string{orgAdminGroup}); err != nil {
			return Organization{}, err
		}
		if err := auditOrg(ctx, q, by.User.ID, nil, org.ID, "org.created", nil); err != nil {
			return Organization{}, err
		}
		if err := orgCreatedEvents(ctx, q, org.ID, by.User.ID); err != nil {
			return Organization{}, err
		}
		return o.get(ctx, q, org.ID)
	})
}

// join makes user a member of org with exactly groups among the
// organization-manageable groups.
func (o *Orgs) join(ctx context.Context, q *dbgen.Queries, userID, orgID int64, groups []string) error {
	if err := q.UserSetOrganization(ctx, dbgen.UserSetOrganizationParams{ID: userID, OrganizationID: &orgID}); err != nil {
		return fmt.Errorf("join organization: %w", err)
	}
	return setGroups(ctx, q, userID, groups)
}

func setGroups(ctx context.Context, q *dbgen.Queries, userID int64, groups []string) error {
	if err := q.UserGroupDeleteOrgManageable(ctx, userID); err != nil {
		return fmt.Errorf("clear groups: %w", err)
	}
	if len(groups) == 0 {
		return nil
	}
	if err := q.UserGroupAddOrgManageable(ctx, dbgen.UserGroupAddOrgManageableParams{UserID: userID, Names: groups}); err != nil {
		return fmt.Errorf("add groups: %w", err)
	}
	return nil
}

// Get returns organization orgID as by sees it.
// Errors: not_found (no such organization, or the viewer is neither a
// member nor a platform admin).
func (o *Orgs) Get(ctx context.Context, by Principal, orgID int64) (OrgDetail, error) {
	return inTxV(ctx, o.db, func(q *dbgen.Queries) (OrgDetail, error) {
		c, err := callerFor(ctx, q, by.User.ID, orgID, OrgView)
		if err != nil {
			return OrgDetail{}, err
		}
		org, err := o.get(ctx, q, orgID)
		if err != nil {
			return OrgDetail{}, err
		}
		d := OrgDetail{Organization: org}
		if d.Members, err = o.members(ctx, q, orgID, o.firstPageOf(cursorMembers, orgID)); err != nil {
			return OrgDetail{}, err
		}
		if d.Invitations, err = o.invitations(ctx, q, orgID, o.firstPageOf(cursorInvitations, orgID), c.seesEmails()); err != nil {
			return OrgDetail{}, err
		}
		return d, nil
	})
}

// OrgPatch is a merge patch of an organization: absent fields stay.
type OrgPatch struct {
	Name Optional[string] `json:"name"`
}

// Update applies a merge patch to organization orgID. Audited as
// org.updated when something changed.
// Errors: validation_failed (name: null, empty or over 70 characters),
// not_found, forbidden (not an org admin).
func (o *Orgs) Update(ctx context.Context, by Principal, orgID int64, p OrgPatch) (Organization, error) {
	var name string
	if p.Name.Set {
		if p.Name.Value == nil {
			return Organization{}, Invalid(FieldError{Field: "name", Message: "is required"})
		}
		var err error
		if name, err = orgName(*p.Name.Value); err != nil {
			return Organization{}, err
		}
	}
	return inTxV(ctx, o.db, func(q *dbgen.Queries) (Organization, error) {
		org, _, err := lockOrgFor(ctx, q, by.User.ID, orgID, OrgManage)
		if err != nil {
			return Organization{}, err
		}
		if p.Name.Set && org.Name != name {
			if _, err := q.OrgSetName(ctx, dbgen.OrgSetNameParams{ID: orgID, Name: name}); err != nil {
				return Organization{}, err
			}
			if err := auditOrg(ctx, q, by.User.ID, nil, orgID, "org.updated", map[string]any{"fields": []string{"name"}}); err != nil {
				return Organization{}, err
			}
		}
		return o.get(ctx, q, orgID)
	})
}

// Delete wipes organization orgID out in one transaction: its members stay
// users, with no organization and none of the organization's groups; its
// pending invitations are revoked; the organization row goes. Audited as
// org.deleted (the audit log keeps the organization's id).
// Errors: not_found, forbidden (neither an org admin nor a platform admin).
func (o *Orgs) Delete(ctx context.Context, by Principal, orgID int64) error {
	return inTx(ctx, o.db, func(q *dbgen.Queries) error {
		if _, err := q.OrgLockForDelete(ctx, orgID); err != nil {
			return err
		}
		c, err := callerIn(ctx, q, by.User.ID, orgID)
		if err != nil {
			return err
		}
		if err := c.may(OrgWipeOut); err != nil {
			return err
		}
		if err := q.UserGroupDeleteOrgManageableByOrg(ctx, &orgID); err != nil {
			return fmt.Errorf("clear groups: %w", err)
		}
		members, err := q.MemberDetachAll(ctx, &orgID)
		if err != nil {
			return fmt.Errorf("detach members: %w", err)
		}
		revoked, err := q.InvitationRevokeAllPending(ctx, orgID)
		if err != nil {
			return fmt.Errorf("revoke invitations: %w", err)
		}
		if err := auditOrg(ctx, q, by.User.ID, nil, orgID, "org.deleted", map[string]any{
			"members_detached": members, "invitations_revoked": revoked,
		}); err != nil {
			return err
		}
		if err := orgEvent(ctx, q, EventOrgDeleted, orgID, "actor_id", by.User.ID); err != nil {
			return err
		}
		return q.OrgDelete(ctx, orgID)
	})
}

// SetPlan moves organization orgID to plan. Platform admins only.
// Audited as org.plan_changed.
// Errors: validation_failed (plan), not_found, forbidden,
// seat_limit_reached (the seats in use exceed the new plan's limit).
func (o *Orgs) SetPlan(ctx context.Context, by Principal, orgID int64, plan string) (Organization, error) {
	return inTxV(ctx, o.db, func(q *dbgen.Queries) (Organization, error) {
		org, _, err := lockOrgFor(ctx, q, by.User.ID, orgID, OrgChangePlan)
		if err != nil {
			return Organization{}, err
		}
		p, err := q.PlanGet(ctx, plan)
		if err != nil {
			return Organization{}, notFoundAs(err, Invalid(FieldError{Field: "plan", Message: "is not a known plan"}))
		}
		if p.Code == org.Plan {
			return o.get(ctx, q, orgID)
		}
		used, err := q.OrgSeatsUsed(ctx, orgID)
		if err != nil {
			return Organization{}, err
		}
		if p.SeatLimit != nil && used > int64(*p.SeatLimit) {
			return Organization{}, ErrSeatLimit
		}
		if _, err := q.OrgSetPlan(ctx, dbgen.OrgSetPlanParams{ID: orgID, Plan: p.Code}); err != nil {
			return Organization{}, err
		}
		if err := auditOrg(ctx, q, by.User.ID, nil, orgID, "org.plan_changed", map[string]any{
			"before": map[string]any{"plan": org.Plan}, "after": map[string]any{"plan": p.Code},
		}); err != nil {
			return Organization{}, err
		}
		if err := orgEvent(ctx, q, EventOrgPlanChanged, orgID, "plan", p.Code, "previous_plan", org.Plan); err != nil {
			return Organization{}, err
		}
		return o.get(ctx, q, orgID)
	})
}

// Groups returns the groups org admins may assign: the
// organization-manageable ones.
// Errors: not_found (not a member nor a platform admin).
func (o *Orgs) Groups(ctx context.Context, by Principal, orgID int64) ([]Group, error) {
	return inTxV(ctx, o.db, func(q *dbgen.Queries) ([]Group, error) {
		if _, err := q.OrgGet(ctx, orgID); err != nil {
			return nil, err
		}
		if _, err := callerFor(ctx, q, by.User.ID, orgID, OrgView); err != nil {
			return nil, err
		}
		rows, err := q.GroupListByKind(ctx, kindOrgManageable)
		if err != nil {
			return nil, err
		}
		out := make([]Group, len(rows))
		for i, r := range rows {
			out[i] = Group{Name: r.Name, Kind: r.Kind, Description: r.Description}
		}
		return out, nil
	})
}

// kindOrgManageable is the kind of the groups org admins assign.
const kindOrgManageable = "org_manageable"

// lockOrgForGroups is lockOrgFor(OrgManage) followed by checkGroups of
// names: what a caller that hands out groups needs.
func lockOrgForGroups(ctx context.Context, q *dbgen.Queries, callerID, orgID int64, names []string) (dbgen.Organization, orgCaller, []string, error) {
	org, c, err := lockOrgFor(ctx, q, callerID, orgID, OrgManage)
	if err != nil {
		return org, c, nil, err
	}
	names, err = checkGroups(ctx, q, names)
	return org, c, names, err
}

// checkGroups validates a list of group names against the
// organization-manageable groups and returns it sorted without repeats.
// Errors: validation_failed (field groups).
func checkGroups(ctx context.Context, q *dbgen.Queries, names []string) ([]string, error) {
	rows, err := q.GroupListByKind(ctx, kindOrgManageable)
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(rows))
	for _, r := range rows {
		known[r.Name] = true
	}
	out := append([]string{}, names...)
	slices.Sort(out)
	out = slices.Compact(out)
	for _, n := range out {
		if !known[n] {
			return nil, Invalid(FieldError{Field: "groups", Message: fmt.Sprintf("%q is not a group organization admins may assign", n)})
		}
	}
	return out, nil
}

// invitationLink is the accept link of an invitation token.
func (o *Orgs) invitationLink(token string) string {
	return o.publicURL + "/accept-invitation?token=" + url.QueryEscape(token)
}

// Invite invites email to organization orgID with groups, by mail through
// the outbox. The token is 32 random bytes; only its SHA-256 is kept; it
// works for InviteTTL. An expired pending invitation to the same address
// is revoked first. Audited as org.invitation_created (ids only).
// Errors: validation_failed (email, groups), not_found, forbidden (not an
// org admin), already_member (the address is a member's),
// seat_limit_reached (members + pending invitations fill the plan),
// conflict (an invitation to the address is pending).
func (o *Orgs) Invite(ctx context.Context, by Principal, orgID int64, email string, groups []string) (Invitation, error) {
	email, err := emailRule.required(email)
	if err != nil {
		return Invitation{}, err
	}
	return inTxV(ctx, o.db, func(q *dbgen.Queries) (Invitation, error) {
		org, _, groups, err := lockOrgForGroups(ctx, q, by.User.ID, orgID, groups)
		if err != nil {
			return Invitation{}, err
		}
		member, err := q.MemberExistsByEmail(ctx, dbgen.MemberExistsByEmailParams{OrganizationID: &orgID, Email: email})
		if err != nil {
			return Invitation{}, err
		}
		if member {
			return Invitation{}, ErrAlreadyMember
		}
		if err := q.InvitationRevokeExpired(ctx, dbgen.InvitationRevokeExpiredParams{OrganizationID: orgID, Email: email}); err != nil {
			return Invitation{}, err
		}
		if err := checkSeats(ctx, q, orgID, 1); err != nil {
			return Invitation{}, err
		}
		token, hash, err := newOpaqueToken()
		if err != nil {
			return Invitation{}, err
		}
		inv, err := q.InvitationCreate(ctx, dbgen.InvitationCreateParams{
			OrganizationID: orgID, InviterID: by.actor(), Email: email, TokenHash: hash, Groups: groups,
			TtlSeconds: o.InviteTTL.Seconds(),
		})
		if err != nil {
			return Invitation{}, err
		}
		m, err := o.Mail.Render(mail.Invitation, email, mail.Data{
			Link: o.invitationLink(token), Expires: humanDuration(o.InviteTTL), Org: org.Name,
		})
		if err != nil {
			return Invitation{}, err
		}
		if err := enqueueMail(ctx, q, nil, m); err != nil {
			return Invitation{}, fmt.Errorf("queue invitation mail: %w", err)
		}
		if err := auditOrg(ctx, q, by.User.ID, nil, orgID, "org.invitation_created", map[string]any{
			"invitation_id": inv.ID, "groups": groups,
		}); err != nil {
			return Invitation{}, err
		}
		return invitationFromRow(inv, true), nil
	})
}

func invitationFromRow(r dbgen.Invitation, withEmail bool) Invitation {
	inv := Invitation{
		ID: r.ID, OrganizationID: r.OrganizationID, InviterID: r.InviterID,
		Groups: r.Groups, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt,
	}
	if withEmail {
		inv.Email = r.Email
	}
	return inv
}

// RevokeInvitation revokes pending invitation invitationID of organization
// orgID. Audited as org.invitation_revoked.
// Errors: not_found (no such pending invitation), forbidden.
func (o *Orgs) RevokeInvitation(ctx context.Context, by Principal, orgID, invitationID int64) error {
	return inTx(ctx, o.db, func(q *dbgen.Queries) error {
		_, c, err := lockOrg(ctx, q, by.User.ID, orgID)
		if err != nil {
			return err
		}
		if err := c.may(OrgManage); err != nil {
			return err
		}
		n, err := q.InvitationRevoke(ctx, dbgen.InvitationRevokeParams{ID: invitationID, OrganizationID: orgID})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return auditOrg(ctx, q, by.User.ID, nil, orgID, "org.invitation_revoked", map[string]any{"invitation_id": invitationID})
	})
}

// Accept spends an invitation token for the signed-in user by, who joins
// the organization with the invitation's groups. The user's email must be
// the invitation's (case-insensitively); following the mailed link proves
// the mailbox, so the email becomes verified (proveAddress: the prover is
// signed in to the account, so no other way in is removed). Audited as
// org.invitation_accepted and, for a newly proven address,
// user.address_proven.
// Errors: invalid_token (unknown, accepted, revoked or expired token),
// forbidden (another user's invitation), already_member (the user belongs
// to an organization: leaving one is explicit), seat_limit_reached.
func (o *Orgs) Accept(ctx context.Context, by Principal, token string) (Organization, error) {
	userID := by.User.ID
	hash, ok := tokenHash(token)
	if !ok {
		return Organization{}, ErrInvalidToken
	}
	return inTxV(ctx, o.db, func(q *dbgen.Queries) (Organization, error) {
		found, err := q.InvitationGetByHash(ctx, hash)
		if err != nil {
			return Organization{}, notFoundAs(err, ErrInvalidToken)
		}
		if _, err := q.OrgLock(ctx, found.OrganizationID); err != nil {
			return Organization{}, notFoundAs(err, ErrInvalidToken)
		}
		inv, err := q.InvitationGetForUpdate(ctx, found.ID)
		if err != nil {
			return Organization{}, notFoundAs(err, ErrInvalidToken)
		}
		if inv.AcceptedAt != nil || inv.RevokedAt != nil || !time.Now().Before(inv.ExpiresAt) {
			return Organization{}, ErrInvalidToken
		}
		u, err := q.UserGetByIDForUpdate(ctx, userID)
		if err != nil {
			return Organization{}, err
		}
		if !userFromRow(u).Usable() {
			return Organization{}, ErrAccountDisabled
		}
		if u.Email == nil || !strings.EqualFold(*u.Email, inv.Email) {
			return Organization{}, ErrForbidden
		}
		if u.OrganizationID != nil {
			return Organization{}, ErrAlreadyMember
		}
		// The invitation holds a seat already: accepting moves it from
		// pending to member. The count is checked anyway, under the lock.
		if err := checkSeats(ctx, q, inv.OrganizationID, 0); err != nil {
			return Organization{}, err
		}
		// The invitation stops counting before the member starts to, so
		// the seat trigger never counts both.
		if err := q.InvitationAccept(ctx, dbgen.InvitationAcceptParams{ID: inv.ID, UserID: &userID}); err != nil {
			return Organization{}, err
		}
		if err := o.join(ctx, q, userID, inv.OrganizationID, inv.Groups); err != nil {
			return Organization{}, err
		}
		if err := emailProvenSignedIn(ctx, q, u, by, "invitation"); err != nil {
			return Organization{}, err
		}
		if err := auditOrg(ctx, q, userID, &userID, inv.OrganizationID, "org.invitation_accepted", map[string]any{"invitation_id": inv.ID}); err != nil {
			return Organization{}, err
		}
		if err := acceptEvents(ctx, q, inv.ID, inv.OrganizationID, userID); err != nil {
			return Organization{}, err
		}
		return o.get(ctx, q, inv.OrganizationID)
	})
}

// RemoveMember takes user targetID out of organization orgID: they lose
// the organization's groups. An org admin removes anyone; every member may
// remove themself (leave). The last org admin cannot leave or be removed
// while other members remain. When the last member leaves, the pending
// invitations are revoked, so nobody joins an organization without an
// admin. Audited as org.member_removed or org.member_left.
// Errors: not_found (no such organization or member), forbidden,
// last_admin.
func (o *Orgs) RemoveMember(ctx context.Context, by Principal, orgID, targetID int64) error {
	return inTx(ctx, o.db, func(q *dbgen.Queries) error {
		_, c, err := lockOrg(ctx, q, by.User.ID, orgID)
		if err != nil {
			return err
		}
		if by.User.ID == targetID && c.standing == OrgOutsider {
			return ErrNotFound
		}
		if by.User.ID != targetID {
			if err := c.may(OrgManage); err != nil {
				return err
			}
		}
		target, err := q.UserGetByIDForUpdate(ctx, targetID)
		if err != nil {
			return err
		}
		if target.OrganizationID == nil || *target.OrganizationID != orgID {
			return ErrNotFound
		}
		members, err := q.MemberCount(ctx, &orgID)
		if err != nil {
			return err
		}
		if slices.Contains(c.admins, targetID) && len(c.admins) == 1 && members > 1 {
			return ErrLastAdmin
		}
		if err := setGroups(ctx, q, targetID, nil); err != nil {
			return err
		}
		if err := q.UserSetOrganization(ctx, dbgen.UserSetOrganizationParams{ID: targetID}); err != nil {
			return err
		}
		if members == 1 {
			if _, err := q.InvitationRevokeAllPending(ctx, orgID); err != nil {
				return err
			}
		}
		action := "org.member_removed"
		if by.User.ID == targetID {
			action = "org.member_left"
		}
		if err := orgEvent(ctx, q, EventOrgMemberRemoved, orgID, "user_id", targetID, "actor_id", by.User.ID); err != nil {
			return err
		}
		return auditOrg(ctx, q, by.User.ID, &targetID, orgID, action, nil)
	})
}

// SetMemberGroups sets member targetID's organization groups to groups
// (organization-manageable groups only). Taking org_admin from the last
// org admin is refused. Audited as org.member_groups_changed.
// Errors: validation_failed (groups), not_found, forbidden, last_admin.
func (o *Orgs) SetMemberGroups(ctx context.Context, by Principal, orgID, targetID int64, groups []string) (Member, error) {
	return inTxV(ctx, o.db, func(q *dbgen.Queries) (Member, error) {
		_, c, groups, err := lockOrgForGroups(ctx, q, by.User.ID, orgID, groups)
		if err != nil {
			return Member{}, err
		}
		if _, err := q.UserGetByIDForUpdate(ctx, targetID); err != nil {
			return Member{}, err
		}
		before, err := q.MemberGet(ctx, dbgen.MemberGetParams{ID: targetID, OrganizationID: &orgID})
		if err != nil {
			return Member{}, err
		}
		if slices.Equal(before.Groups, groups) {
			return Member{User: userFromRow(before.User), Groups: before.Groups}, nil
		}
		if slices.Contains(c.admins, targetID) && len(c.admins) == 1 && !slices.Contains(groups, orgAdminGroup) {
			return Member{}, ErrLastAdmin
		}
		if err := setGroups(ctx, q, targetID, groups); err != nil {
			return Member{}, err
		}
		if err := auditOrg(ctx, q, by.User.ID, &targetID, orgID, "org.member_groups_changed", map[string]any{
			"before": map[string]any{"groups": before.Groups}, "after": map[string]any{"groups": groups},
		}); err != nil {
			return Member{}, err
		}
		return Member{User: userFromRow(before.User), Groups: groups}, nil
	})
}

// ListMembers returns one page of organization orgID's members, newest
// account first.
// Errors: validation_failed (limit), invalid_cursor, not_found.
func (o *Orgs) ListMembers(ctx context.Context, by Principal, orgID int64, page PageRequest) (Page[Member], error) {
	return orgList(ctx, o, by.User.ID, orgID, OrgView, cursorMembers, page, readTxV, func(q *dbgen.Queries, p pageAt) (Page[Member], error) {
		return o.members(ctx, q, orgID, p)
	})
}

// ListInvitations returns one page of organization orgID's pending
// invitations, newest first.
// Errors: validation_failed (limit), invalid_cursor, not_found, forbidden.
func (o *Orgs) ListInvitations(ctx context.Context, by Principal, orgID int64, page PageRequest) (Page[Invitation], error) {
	return orgList(ctx, o, by.User.ID, orgID, OrgManage, cursorInvitations, page, inTxV, func(q *dbgen.Queries, p pageAt) (Page[Invitation], error) {
		return o.invitations(ctx, q, orgID, p, true)
	})
}

// orgList reads the page that page asks for of an organization list of
// kind, for viewerID, who needs to be allowed act; read reads the page in
// the transaction that tx runs (inTxV, or readTxV for a list the replica
// may serve).
// Errors: validation_failed (limit), invalid_cursor, not_found, forbidden.
func orgList[T any](ctx context.Context, o *Orgs, viewerID, orgID int64, act OrgAction, kind string, page PageRequest,
	tx func(context.Context, *DB, func(*dbgen.Queries) (Page[T], error)) (Page[T], error),
	read func(q *dbgen.Queries, p pageAt) (Page[T], error)) (Page[T], error) {
	p, err := o.cursors.startPage(kind, orgBind(orgID), page)
	if err != nil {
		return Page[T]{}, err
	}
	return tx(ctx, o.db, func(q *dbgen.Queries) (Page[T], error) {
		if _, err := callerFor(ctx, q, viewerID, orgID, act); err != nil {
			return Page[T]{}, err
		}
		if _, err := q.OrgGet(ctx, orgID); err != nil {
			return Page[T]{}, err
		}
		return read(q, p)
	})
}

// firstPageOf is the first page, of the default length, of an organization
// list.
func (o *Orgs) firstPageOf(kind string, orgID int64) pageAt {
	p, _ := o.cursors.startPage(kind, orgBind(orgID), PageRequest{}) // cannot fail: no limit, no cursor
	return p
}

func (o *Orgs) members(ctx context.Context, q *dbgen.Queries, orgID int64, p pageAt) (Page[Member], error) {
	return readPage(p, func(after Cursor, n int32) ([]dbgen.MemberListRow, error) {
		return q.MemberList(ctx, dbgen.MemberListParams{OrganizationID: &orgID, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n})
	}, func(r dbgen.MemberListRow) Member { return Member{User: userFromRow(r.User), Groups: r.Groups} })
}

func (o *Orgs) invitations(ctx context.Context, q *dbgen.Queries, orgID int64, p pageAt, withEmail bool) (Page[Invitation], error) {
	return readPage(p, func(after Cursor, n int32) ([]dbgen.Invitation, error) {
		return q.InvitationListPending(ctx, dbgen.InvitationListPendingParams{OrganizationID: orgID, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n})
	}, func(r dbgen.Invitation) Invitation { return invitationFromRow(r, withEmail) })
}

// keyset is where a member stands in the members list's order.
func (m Member) keyset() Cursor { return m.User.keyset() }

// keyset is where an invitation stands in the invitations list's order.
func (i Invitation) keyset() Cursor { return Cursor{CreatedAt: i.CreatedAt, ID: i.ID} }

// InvitationPreview is what an invitation link shows before it is
// accepted: the organization and the invited address.
type InvitationPreview struct {
	Organization string
	Email        string
	ExpiresAt    time.Time
}

// PreviewInvitation reads a live invitation by its token, without
// spending it, so its page can say what accepting does (the token's
// holder holds the mailbox it went to).
// Errors: invalid_token (unknown, accepted, revoked or expired token).
func (o *Orgs) PreviewInvitation(ctx context.Context, token string) (InvitationPreview, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return InvitationPreview{}, ErrInvalidToken
	}
	inv, err := o.db.q.InvitationGetByHash(ctx, hash)
	if err != nil {
		return InvitationPreview{}, notFoundAs(err, ErrInvalidToken)
	}
	if inv.AcceptedAt != nil || inv.RevokedAt != nil || !time.Now().Before(inv.ExpiresAt) {
		return InvitationPreview{}, ErrInvalidToken
	}
	org, err := o.db.q.OrgGet(ctx, inv.OrganizationID)
	if err != nil {
		return InvitationPreview{}, notFoundAs(err, ErrInvalidToken)
	}
	return InvitationPreview{Organization: org.Organization.Name, Email: inv.Email, ExpiresAt: inv.ExpiresAt}, nil
}
