package service_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/userd/userd/service"
)

// orgFixture is the Orgs service over a fresh database.
type orgFixture struct {
	*fixture
	orgs *service.Orgs
}

func newOrgFixture(t *testing.T) *orgFixture {
	t.Helper()
	f := newFixture(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &orgFixture{fixture: f, orgs: service.NewOrgs(service.NewDB(f.pool), "https://userd.test/", key)}
}

// member makes a user with email and returns its id.
func (f *orgFixture) mkEmailUser(email string) int64 {
	f.t.Helper()
	return f.mkUser(userSpec{email: email})
}

// newOrg makes a user who creates an organization; it returns both ids.
func (f *orgFixture) newOrg(name string) (orgID, adminID int64) {
	f.t.Helper()
	adminID = f.mkEmailUser(strings.ToLower(strings.ReplaceAll(name, " ", "")) + "-admin@example.com")
	org, err := f.orgs.Create(context.Background(), as(adminID), name)
	if err != nil {
		f.t.Fatalf("create %q: %v", name, err)
	}
	return org.ID, adminID
}

// token returns the token of the last invitation mail queued to email.
func (f *orgFixture) token(email string) string {
	f.t.Helper()
	var payload []byte
	err := f.pool.QueryRow(context.Background(),
		`SELECT payload FROM outbox WHERE kind = 'mail' AND payload->>'to' = $1 ORDER BY id DESC LIMIT 1`, email).Scan(&payload)
	if err != nil {
		f.t.Fatalf("mail to %s: %v", email, err)
	}
	var m struct{ Text string }
	if err := json.Unmarshal(payload, &m); err != nil {
		f.t.Fatal(err)
	}
	_, rest, ok := strings.Cut(m.Text, "https://userd.test/accept-invitation?token=")
	if !ok {
		f.t.Fatalf("mail to %s: no accept link in %q", email, m.Text)
	}
	tok, _, _ := strings.Cut(rest, "\n")
	tok, err = url.QueryUnescape(tok)
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// join invites email into orgID with groups and accepts as userID.
func (f *orgFixture) join(orgID, adminID, userID int64, email string, groups ...string) {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.orgs.Invite(ctx, as(adminID), orgID, email, groups); err != nil {
		f.t.Fatalf("invite %s: %v", email, err)
	}
	if _, err := f.orgs.Accept(ctx, as(userID), f.token(email)); err != nil {
		f.t.Fatalf("accept %s: %v", email, err)
	}
}

func (f *orgFixture) seats(orgID int64) (used, limit int) {
	f.t.Helper()
	err := f.pool.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM users WHERE organization_id = o.id)
		     + (SELECT count(*) FROM invitations WHERE organization_id = o.id AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()),
		       coalesce(p.seat_limit, 1000000)
		FROM organizations o JOIN plans p ON p.code = o.plan WHERE o.id = $1`, orgID).Scan(&used, &limit)
	if err != nil {
		f.t.Fatal(err)
	}
	return used, limit
}

func (f *orgFixture) groupsOf(userID int64) []string {
	f.t.Helper()
	rows, err := f.pool.Query(context.Background(), `
		SELECT g.name FROM user_permission_groups ug JOIN permission_groups g ON g.id = ug.group_id
		WHERE ug.user_id = $1 ORDER BY g.name`, userID)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func ensureGroups(t *testing.T, f *orgFixture) {
	t.Helper()
	if _, err := service.EnsureGroups(context.Background(), service.NewDB(f.pool), service.DefaultGroups); err != nil {
		t.Fatal(err)
	}
}

func TestOrgCreateGetUpdate(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	ctx := context.Background()
	alice := f.mkEmailUser("alice@example.com")
	org, err := f.orgs.Create(ctx, as(alice), "  Acme  ")
	if err != nil {
		t.Fatal(err)
	}
	if org.Name != "Acme" || org.Plan != "free" || org.SeatLimit == nil || *org.SeatLimit != 3 || org.SeatsUsed != 1 {
		t.Fatalf("got %+v, want Acme on free with 3 seats, 1 used", org)
	}
	if got := f.groupsOf(alice); !slices.Equal(got, []string{"org_admin"}) {
		t.Fatalf("creator's groups: got %v, want [org_admin]", got)
	}
	if _, err := f.orgs.Create(ctx, as(alice), "Second"); !errors.Is(err, service.ErrAlreadyMember) {
		t.Fatalf("second create: got %v, want already_member", err)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("o", 71), "a\x00b"} {
		_, err := f.orgs.Create(ctx, as(f.mkUser(userSpec{})), bad)
		wantCode(t, err, service.CodeValidation)
	}

	d, err := f.orgs.Get(ctx, as(alice), org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Members.Items) != 1 || d.Members.Items[0].User.ID != alice || !slices.Equal(d.Members.Items[0].Groups, []string{"org_admin"}) {
		t.Fatalf("members: got %+v, want alice as org_admin", d.Members.Items)
	}
	outsider := f.mkUser(userSpec{})
	if _, err := f.orgs.Get(ctx, as(outsider), org.ID); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("outsider: got %v, want not_found", err)
	}
	admin := f.mkUser(userSpec{role: "admin"})
	if _, err := f.orgs.Get(ctx, as(admin), org.ID); err != nil {
		t.Fatalf("platform admin: got %v, want the organization", err)
	}
	if _, err := f.orgs.Get(ctx, as(admin), org.ID+1000); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("platform admin, no such org: got %v, want not_found", err)
	}

	rename := func(name string) service.OrgPatch {
		return service.OrgPatch{Name: service.Optional[string]{Set: true, Value: &name}}
	}
	up, err := f.orgs.Update(ctx, as(alice), org.ID, rename("Acme Inc"))
	if err != nil || up.Name != "Acme Inc" {
		t.Fatalf("update: got %+v, %v", up, err)
	}
	if _, err := f.orgs.Update(ctx, as(alice), org.ID, service.OrgPatch{}); err != nil {
		t.Fatalf("empty patch: %v", err)
	}
	_, err = f.orgs.Update(ctx, as(alice), org.ID, service.OrgPatch{Name: service.Optional[string]{Set: true}})
	wantCode(t, err, service.CodeValidation)
	if _, err := f.orgs.Update(ctx, as(outsider), org.ID, rename("Mine")); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("outsider update: got %v, want not_found", err)
	}
	if n := f.count(`SELECT count(*) FROM audit_events WHERE organization_id = $1 AND action IN ('org.created', 'org.updated')`, org.ID); n != 2 {
		t.Fatalf("audit events: got %d, want 2", n)
	}
}

func TestOrgInviteAndAccept(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	ensureGroups(t, f)
	ctx := context.Background()
	org, admin := f.newOrg("Acme")
	bob := f.mkEmailUser("bob@example.com")
	f.addSession(bob)
	mallory := f.mkEmailUser("mallory@example.com")

	inv, err := f.orgs.Invite(ctx, as(admin), org, " bob@example.COM ", []string{"org_editor", "org_viewer", "org_editor"})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Email != "bob@example.com" || !slices.Equal(inv.Groups, []string{"org_editor", "org_viewer"}) {
		t.Fatalf("invitation: got %+v", inv)
	}
	tok := f.token("bob@example.com")
	sum := sha256.Sum256([]byte(tok))
	if n := f.count(`SELECT count(*) FROM invitations WHERE id = $1 AND token_hash = $2 AND expires_at BETWEEN now() + interval '7 days' - interval '1 minute' AND now() + interval '7 days'`, inv.ID, sum[:]); n != 1 {
		t.Fatalf("got %d invitations holding the token's SHA-256 and a 7-day expiry, want 1", n)
	}
	if n := f.count(`SELECT count(*) FROM invitations WHERE position($1 in encode(token_hash, 'escape')) > 0`, tok); n != 0 {
		t.Fatal("the token itself is stored")
	}

	// Errors before any state changes.
	_, err = f.orgs.Invite(ctx, as(admin), org, "BOB@example.com", nil)
	wantCode(t, err, service.CodeConflict)
	_, err = f.orgs.Invite(ctx, as(admin), org, "acme-admin@EXAMPLE.com", nil)
	wantCode(t, err, service.CodeAlreadyMember)
	_, err = f.orgs.Invite(ctx, as(admin), org, "carol@example.com", []string{"support"})
	wantCode(t, err, service.CodeValidation)
	_, err = f.orgs.Invite(ctx, as(admin), org, "not an address", nil)
	wantCode(t, err, service.CodeValidation)
	_, err = f.orgs.Accept(ctx, as(bob), "garbage")
	wantCode(t, err, service.CodeInvalidToken)
	_, err = f.orgs.Accept(ctx, as(mallory), tok)
	wantCode(t, err, service.CodeForbidden)

	// bob accepts: member with the groups, email verified, token spent.
	got, err := f.orgs.Accept(ctx, as(bob), tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != org || got.SeatsUsed != 2 {
		t.Fatalf("accept: got %+v, want org %d with 2 seats used", got, org)
	}
	if g := f.groupsOf(bob); !slices.Equal(g, []string{"org_editor", "org_viewer"}) {
		t.Fatalf("bob's groups: got %v", g)
	}
	if n := f.count(`SELECT count(*) FROM users WHERE id = $1 AND email_verified AND organization_id = $2`, bob, org); n != 1 {
		t.Fatal("bob is not a verified member after accepting")
	}
	// The prover is signed in to the account: the proof is recorded, and
	// no way in is taken away (bob's session stays).
	if n := f.count(`SELECT count(*) FROM audit_events WHERE target_user_id = $1 AND action = 'user.address_proven' AND details->>'via' = 'invitation' AND details->>'signed_in' = 'true'`, bob); n != 1 {
		t.Fatalf("got %d user.address_proven events for bob, want 1", n)
	}
	if n := f.count(`SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL`, bob); n != 1 {
		t.Fatalf("bob's live sessions after accepting: got %d, want 1", n)
	}
	_, err = f.orgs.Accept(ctx, as(bob), tok)
	wantCode(t, err, service.CodeInvalidToken)
	_, err = f.orgs.Invite(ctx, as(admin), org, "bob@example.com", nil)
	wantCode(t, err, service.CodeAlreadyMember)

	// Revoked and expired tokens are invalid; a member of another
	// organization must leave first.
	carol := f.mkEmailUser("carol@example.com")
	inv2, err := f.orgs.Invite(ctx, as(admin), org, "carol@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	revoked := f.token("carol@example.com")
	if err := f.orgs.RevokeInvitation(ctx, as(admin), org, inv2.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.orgs.RevokeInvitation(ctx, as(admin), org, inv2.ID); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("second revoke: got %v, want not_found", err)
	}
	_, err = f.orgs.Accept(ctx, as(carol), revoked)
	wantCode(t, err, service.CodeInvalidToken)
	if _, err := f.orgs.Invite(ctx, as(admin), org, "carol@example.com", nil); err != nil {
		t.Fatal(err)
	}
	expired := f.token("carol@example.com")
	f.exec(`UPDATE invitations SET created_at = now() - interval '8 days', expires_at = now() - interval '1 day' WHERE lower(email) = 'carol@example.com' AND revoked_at IS NULL`)
	_, err = f.orgs.Accept(ctx, as(carol), expired)
	wantCode(t, err, service.CodeInvalidToken)
	// The expired invitation holds no seat and does not block a new one.
	if used, _ := f.seats(org); used != 2 {
		t.Fatalf("seats used with an expired invitation: got %d, want 2", used)
	}
	if _, err := f.orgs.Invite(ctx, as(admin), org, "carol@example.com", nil); err != nil {
		t.Fatalf("invite after expiry: %v", err)
	}
	other, _ := f.newOrg("Other")
	f.exec(`UPDATE users SET organization_id = $1 WHERE id = $2`, other, carol)
	_, err = f.orgs.Accept(ctx, as(carol), f.token("carol@example.com"))
	wantCode(t, err, service.CodeAlreadyMember)

	// Audit events name ids only.
	var details string
	err = f.pool.QueryRow(ctx, `SELECT string_agg(details::text, ' ') FROM audit_events WHERE organization_id = $1`, org).Scan(&details)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(details), "example.com") {
		t.Fatalf("audit details hold an address: %s", details)
	}
	if n := f.count(`SELECT count(*) FROM audit_events WHERE organization_id = $1 AND action = 'org.invitation_accepted' AND actor_id = $2`, org, bob); n != 1 {
		t.Fatalf("got %d org.invitation_accepted events, want 1", n)
	}
}

func TestOrgMembersAndGroups(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	ensureGroups(t, f)
	ctx := context.Background()
	org, admin := f.newOrg("Acme")
	f.exec(`UPDATE organizations SET plan = 'team' WHERE id = $1`, org)
	bob := f.mkEmailUser("bob@example.com")
	carol := f.mkEmailUser("carol@example.com")
	f.join(org, admin, bob, "bob@example.com", "org_viewer")
	f.join(org, admin, carol, "carol@example.com")

	// Members list pages by cursor, every member once.
	var seen []int64
	limit := 2
	req := service.PageRequest{Limit: &limit}
	for {
		p, err := f.orgs.ListMembers(ctx, as(bob), org, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range p.Items {
			seen = append(seen, m.User.ID)
		}
		if p.NextCursor == nil {
			break
		}
		req.Cursor = *p.NextCursor
	}
	slices.Sort(seen)
	if want := []int64{admin, bob, carol}; !slices.Equal(seen, want) {
		t.Fatalf("members: got %v, want %v", seen, want)
	}
	if _, err := f.orgs.ListMembers(ctx, as(bob), org, service.PageRequest{Cursor: "tampered"}); !errors.Is(err, service.ErrInvalidCursor) {
		t.Fatalf("tampered cursor: got %v", err)
	}
	other, otherAdmin := f.newOrg("Other")
	first, err := f.orgs.ListMembers(ctx, as(bob), org, service.PageRequest{Limit: ptr(1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.orgs.ListMembers(ctx, as(otherAdmin), other, service.PageRequest{Cursor: *first.NextCursor}); !errors.Is(err, service.ErrInvalidCursor) {
		t.Fatalf("cursor of another organization: got %v, want invalid_cursor", err)
	}

	// Groups: only org-manageable ones, by org admins.
	groups, err := f.orgs.Groups(ctx, as(bob), org)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if g.Kind != "org_manageable" {
			t.Fatalf("groups: got %+v, want only org_manageable", g)
		}
	}
	if len(groups) != 4 {
		t.Fatalf("groups: got %d, want 4", len(groups))
	}
	if _, err := f.orgs.SetMemberGroups(ctx, as(bob), org, carol, []string{"org_editor"}); !errors.Is(err, service.ErrForbidden) {
		t.Fatalf("member sets groups: got %v, want forbidden", err)
	}
	_, err = f.orgs.SetMemberGroups(ctx, as(admin), org, carol, []string{"premium"})
	wantCode(t, err, service.CodeValidation)
	m, err := f.orgs.SetMemberGroups(ctx, as(admin), org, carol, []string{"org_editor", "org_admin"})
	if err != nil || !slices.Equal(m.Groups, []string{"org_admin", "org_editor"}) {
		t.Fatalf("set groups: got %+v, %v", m, err)
	}
	f.exec(`INSERT INTO user_permission_groups (user_id, group_id) SELECT $1, id FROM permission_groups WHERE name = 'support'`, carol)
	if _, err := f.orgs.SetMemberGroups(ctx, as(admin), org, carol, nil); err != nil {
		t.Fatal(err)
	}
	if g := f.groupsOf(carol); !slices.Equal(g, []string{"support"}) {
		t.Fatalf("carol's groups after clearing: got %v, want the system group kept", g)
	}
	// The last org admin keeps the role.
	_, err = f.orgs.SetMemberGroups(ctx, as(admin), org, admin, []string{"org_viewer"})
	wantCode(t, err, service.CodeLastAdmin)
	if _, err := f.orgs.SetMemberGroups(ctx, as(admin), org, otherAdmin, nil); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("groups of a non-member: got %v, want not_found", err)
	}

	// Removing and leaving.
	if err := f.orgs.RemoveMember(ctx, as(bob), org, carol); !errors.Is(err, service.ErrForbidden) {
		t.Fatalf("member removes member: got %v, want forbidden", err)
	}
	if err := f.orgs.RemoveMember(ctx, as(admin), org, admin); !errors.Is(err, service.ErrLastAdmin) {
		t.Fatalf("last admin leaves: got %v, want last_admin", err)
	}
	if err := f.orgs.RemoveMember(ctx, as(bob), org, bob); err != nil {
		t.Fatalf("bob leaves: %v", err)
	}
	if g := f.groupsOf(bob); len(g) != 0 {
		t.Fatalf("bob's groups after leaving: got %v, want none", g)
	}
	if err := f.orgs.RemoveMember(ctx, as(admin), org, carol); err != nil {
		t.Fatalf("admin removes carol: %v", err)
	}
	if n := f.count(`SELECT count(*) FROM audit_events WHERE organization_id = $1 AND action IN ('org.member_left', 'org.member_removed')`, org); n != 2 {
		t.Fatalf("got %d leave/remove events, want 2", n)
	}
	// Alone, the admin may leave; pending invitations go with the last member.
	if _, err := f.orgs.Invite(ctx, as(admin), org, "dave@example.com", nil); err != nil {
		t.Fatal(err)
	}
	if err := f.orgs.RemoveMember(ctx, as(admin), org, admin); err != nil {
		t.Fatalf("last member leaves: %v", err)
	}
	if used, _ := f.seats(org); used != 0 {
		t.Fatalf("seats after the last member left: got %d, want 0", used)
	}
}

func TestOrgWipeOut(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	ensureGroups(t, f)
	ctx := context.Background()
	org, admin := f.newOrg("Acme")
	bob := f.mkEmailUser("bob@example.com")
	f.join(org, admin, bob, "bob@example.com", "org_editor")
	f.exec(`INSERT INTO user_permission_groups (user_id, group_id) SELECT $1, id FROM permission_groups WHERE name = 'premium'`, bob)
	if _, err := f.orgs.Invite(ctx, as(admin), org, "carol@example.com", nil); err != nil {
		t.Fatal(err)
	}
	if err := f.orgs.Delete(ctx, as(bob), org); !errors.Is(err, service.ErrForbidden) {
		t.Fatalf("member deletes: got %v, want forbidden", err)
	}
	if err := f.orgs.Delete(ctx, as(f.mkUser(userSpec{})), org); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("outsider deletes: got %v, want not_found", err)
	}
	if err := f.orgs.Delete(ctx, as(admin), org); err != nil {
		t.Fatal(err)
	}
	if n := f.count(`SELECT count(*) FROM users WHERE id IN ($1, $2) AND organization_id IS NULL AND deleted_at IS NULL`, admin, bob); n != 2 {
		t.Fatalf("got %d detached live members, want 2", n)
	}
	if g := f.groupsOf(bob); !slices.Equal(g, []string{"premium"}) {
		t.Fatalf("bob's groups: got %v, want only premium", g)
	}
	if n := f.count(`SELECT count(*) FROM organizations WHERE id = $1`, org) + f.count(`SELECT count(*) FROM invitations WHERE organization_id = $1`, org); n != 0 {
		t.Fatalf("got %d organization and invitation rows left, want 0", n)
	}
	var details string
	if err := f.pool.QueryRow(ctx, `SELECT details::text FROM audit_events WHERE organization_id = $1 AND action = 'org.deleted' AND actor_id = $2`, org, admin).Scan(&details); err != nil {
		t.Fatalf("org.deleted event: %v", err)
	}
	if details != `{"members_detached": 2, "invitations_revoked": 1}` {
		t.Fatalf("org.deleted details: got %s", details)
	}
	if n := f.count(`SELECT count(*) FROM audit_events WHERE organization_id = $1`, org); n < 4 {
		t.Fatalf("got %d events still naming the organization, want its whole history", n)
	}
	if err := f.orgs.Delete(ctx, as(admin), org); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("second delete: got %v, want not_found", err)
	}
	// A platform admin may wipe out any organization.
	org2, _ := f.newOrg("Second")
	if err := f.orgs.Delete(ctx, as(f.mkUser(userSpec{role: "admin"})), org2); err != nil {
		t.Fatalf("platform admin deletes: %v", err)
	}
}

func TestOrgPlanChange(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	ctx := context.Background()
	org, admin := f.newOrg("Acme")
	platform := f.mkUser(userSpec{role: "admin"})
	if _, err := f.orgs.SetPlan(ctx, as(admin), org, "team"); !errors.Is(err, service.ErrForbidden) {
		t.Fatalf("org admin changes plan: got %v, want forbidden", err)
	}
	_, err := f.orgs.SetPlan(ctx, as(platform), org, "platinum")
	wantCode(t, err, service.CodeValidation)
	got, err := f.orgs.SetPlan(ctx, as(platform), org, "team")
	if err != nil || got.Plan != "team" || *got.SeatLimit != 25 {
		t.Fatalf("to team: got %+v, %v", got, err)
	}
	for i := range 4 {
		if _, err := f.orgs.Invite(ctx, as(admin), org, fmt.Sprintf("u%d@example.com", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.orgs.SetPlan(ctx, as(platform), org, "free"); !errors.Is(err, service.ErrSeatLimit) {
		t.Fatalf("downgrade below seats in use: got %v, want seat_limit_reached", err)
	}
	got, err = f.orgs.SetPlan(ctx, as(platform), org, "enterprise")
	if err != nil || got.SeatLimit != nil || got.SeatsUsed != 5 {
		t.Fatalf("to enterprise: got %+v, %v", got, err)
	}
}

// TestSeatTriggerHoldsBelowTheService writes past the seat limit directly:
// the database refuses, and the service reports seat_limit_reached.
func TestSeatTriggerHoldsBelowTheService(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	ctx := context.Background()
	org, _ := f.newOrg("Acme")
	f.exec(`INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES ($1, 'a@example.com', sha256('a'), now() + interval '1 day')`, org)
	f.exec(`INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES ($1, 'b@example.com', sha256('b'), now() + interval '1 day')`, org)
	_, err := f.pool.Exec(ctx, `INSERT INTO invitations (organization_id, email, token_hash, expires_at) VALUES ($1, 'c@example.com', sha256('c'), now() + interval '1 day')`, org)
	wantSeatLimit(t, err)
	// Accepting an invitation with the count already full still works:
	// the invitation's seat becomes the member's.
	id := f.mkEmailUser("a@example.com")
	var invID int64
	if err := f.pool.QueryRow(ctx, `SELECT id FROM invitations WHERE email = 'a@example.com'`).Scan(&invID); err != nil {
		t.Fatal(err)
	}
	f.exec(`UPDATE invitations SET accepted_at = now(), accepted_by = $1 WHERE id = $2`, id, invID)
	f.exec(`UPDATE users SET organization_id = $1 WHERE id = $2`, org, id)
	_, err = f.pool.Exec(ctx, `UPDATE users SET organization_id = $1 WHERE id = $2`, org, f.mkUser(userSpec{}))
	wantSeatLimit(t, err)
}

func wantSeatLimit(t *testing.T, err error) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23514" || pgErr.ConstraintName != "organizations_seat_limit" {
		t.Fatalf("got %v, want a check violation of organizations_seat_limit", err)
	}
}

// Twenty invitations race for the two free seats of a one-member free
// organization: exactly two win. The service's lock holds it by itself
// too: a second run drops the database's seat trigger first.
func TestOrgInviteRaceKeepsSeatLimit(t *testing.T) {
	t.Parallel()
	for _, withTrigger := range []bool{true, false} {
		t.Run(fmt.Sprintf("trigger=%v", withTrigger), func(t *testing.T) {
			t.Parallel()
			inviteRace(t, withTrigger)
		})
	}
}

func inviteRace(t *testing.T, withTrigger bool) {
	f := newOrgFixture(t)
	ctx := context.Background()
	org, admin := f.newOrg("Acme")
	if !withTrigger {
		f.exec("DROP TRIGGER invitations_seats_insert_trg ON invitations")
	}
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = f.orgs.Invite(ctx, as(admin), org, fmt.Sprintf("racer%d@example.com", i), nil)
		}()
	}
	close(start)
	wg.Wait()
	ok, full := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, service.ErrSeatLimit):
			full++
		default:
			t.Errorf("invite: got %v, want success or seat_limit_reached", err)
		}
	}
	if ok != 2 || full != 18 {
		t.Fatalf("got %d invitations and %d seat_limit_reached, want 2 and 18", ok, full)
	}
	if used, limit := f.seats(org); used != 3 || limit != 3 {
		t.Fatalf("seats: got %d of %d, want 3 of 3", used, limit)
	}
}

// Accepts race with more invitations: the pending invitations hold their
// seats, so every accept succeeds and every extra invitation is refused.
func TestOrgAcceptRaceKeepsSeatLimit(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	ctx := context.Background()
	org, admin := f.newOrg("Acme")
	const invited = 9
	f.exec(`UPDATE plans SET seat_limit = 10 WHERE code = 'free'`) // this database only
	users := make([]int64, invited)
	tokens := make([]string, invited)
	for i := range invited {
		email := fmt.Sprintf("joiner%d@example.com", i)
		users[i] = f.mkEmailUser(email)
		if _, err := f.orgs.Invite(ctx, as(admin), org, email, nil); err != nil {
			t.Fatal(err)
		}
		tokens[i] = f.token(email)
	}
	const extra = 6
	errs := make([]error, invited+extra)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range invited + extra {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if i < invited {
				_, errs[i] = f.orgs.Accept(ctx, as(users[i]), tokens[i])
			} else {
				_, errs[i] = f.orgs.Invite(ctx, as(admin), org, fmt.Sprintf("late%d@example.com", i), nil)
			}
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if i < invited && err != nil {
			t.Errorf("accept %d: got %v, want success", i, err)
		}
		if i >= invited && !errors.Is(err, service.ErrSeatLimit) {
			t.Errorf("late invite %d: got %v, want seat_limit_reached", i, err)
		}
	}
	if n := f.count(`SELECT count(*) FROM users WHERE organization_id = $1`, org); n != 10 {
		t.Fatalf("members: got %d, want 10", n)
	}
	if used, limit := f.seats(org); used != 10 || limit != 10 {
		t.Fatalf("seats: got %d of %d, want 10 of 10", used, limit)
	}
}

// A downgrade races invitations: whichever order they run in, the seats in
// use never exceed the plan the organization ends on.
func TestOrgDowngradeRaceKeepsSeatLimit(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	ctx := context.Background()
	platform := f.mkUser(userSpec{role: "admin"})
	for round := range 5 {
		org, admin := f.newOrg(fmt.Sprintf("Round %d", round))
		if _, err := f.orgs.SetPlan(ctx, as(platform), org, "team"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.orgs.Invite(ctx, as(admin), org, fmt.Sprintf("r%d-first@example.com", round), nil); err != nil {
			t.Fatal(err)
		}
		const invites = 6
		var wg sync.WaitGroup
		start := make(chan struct{})
		var downgradeErr error
		inviteErrs := make([]error, invites)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, downgradeErr = f.orgs.SetPlan(ctx, as(platform), org, "free")
		}()
		for i := range invites {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, inviteErrs[i] = f.orgs.Invite(ctx, as(admin), org, fmt.Sprintf("r%d-%d@example.com", round, i), nil)
			}()
		}
		close(start)
		wg.Wait()
		if downgradeErr != nil && !errors.Is(downgradeErr, service.ErrSeatLimit) {
			t.Fatalf("downgrade: got %v", downgradeErr)
		}
		for _, err := range inviteErrs {
			if err != nil && !errors.Is(err, service.ErrSeatLimit) {
				t.Fatalf("invite: got %v", err)
			}
		}
		used, limit := f.seats(org)
		if used > limit {
			t.Fatalf("round %d: seats used %d exceed the limit %d", round, used, limit)
		}
		if downgradeErr == nil && limit != 3 || downgradeErr != nil && limit != 25 {
			t.Fatalf("round %d: downgrade error %v but limit %d", round, downgradeErr, limit)
		}
	}
}

// Two org admins remove each other at once: exactly one goes, and the
// organization keeps an admin.
func TestOrgAdminsRemovingEachOtherLeaveOne(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	ctx := context.Background()
	for round := range 5 {
		org, a := f.newOrg(fmt.Sprintf("Round %d", round))
		email := fmt.Sprintf("b%d@example.com", round)
		b := f.mkEmailUser(email)
		f.join(org, a, b, email, "org_admin")
		var wg sync.WaitGroup
		start := make(chan struct{})
		var errA, errB error
		wg.Add(2)
		go func() { defer wg.Done(); <-start; errA = f.orgs.RemoveMember(ctx, as(a), org, b) }()
		go func() { defer wg.Done(); <-start; errB = f.orgs.RemoveMember(ctx, as(b), org, a) }()
		close(start)
		wg.Wait()
		if (errA == nil) == (errB == nil) {
			t.Fatalf("round %d: got errors %v and %v, want exactly one success", round, errA, errB)
		}
		for _, err := range []error{errA, errB} {
			if err != nil && !errors.Is(err, service.ErrNotFound) {
				t.Fatalf("round %d: the loser got %v, want not_found (no longer a member)", round, err)
			}
		}
		admins := f.count(`
			SELECT count(*) FROM users u JOIN user_permission_groups ug ON ug.user_id = u.id
			JOIN permission_groups g ON g.id = ug.group_id AND g.name = 'org_admin' WHERE u.organization_id = $1`, org)
		members := f.count(`SELECT count(*) FROM users WHERE organization_id = $1`, org)
		if admins != 1 || members != 1 {
			t.Fatalf("round %d: got %d admins of %d members, want 1 of 1", round, admins, members)
		}
	}
}

// Deleting accounts frees their seats: a member's account leaves the
// organization with its groups, and an invitee's account takes its pending
// invitation with it.
func TestOrgAccountDeletionFreesSeats(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	ctx := context.Background()
	org, admin := f.newOrg("Acme")
	bob := f.mkEmailUser("bob@example.com")
	f.join(org, admin, bob, "bob@example.com", "org_admin")
	carol := f.mkEmailUser("carol@example.com")
	if _, err := f.orgs.Invite(ctx, as(admin), org, "Carol@example.com", nil); err != nil {
		t.Fatal(err)
	}
	if used, _ := f.seats(org); used != 3 {
		t.Fatalf("seats before: got %d, want 3", used)
	}
	for _, id := range []int64{bob, carol} {
		if err := f.users.Delete(ctx, as(id), id); err != nil {
			t.Fatalf("delete %d: %v", id, err)
		}
	}
	if used, _ := f.seats(org); used != 1 {
		t.Fatalf("seats after the deletions: got %d, want 1", used)
	}
	if g := f.groupsOf(bob); len(g) != 0 {
		t.Fatalf("deleted member's groups: got %v, want none", g)
	}
	d, err := f.orgs.Get(ctx, as(admin), org)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Members.Items) != 1 || len(d.Invitations.Items) != 0 {
		t.Fatalf("after the deletions: got %d members and %d invitations, want 1 and 0", len(d.Members.Items), len(d.Invitations.Items))
	}
	for i := range 2 {
		if _, err := f.orgs.Invite(ctx, as(admin), org, fmt.Sprintf("new%d@example.com", i), nil); err != nil {
			t.Fatalf("invite into a freed seat: %v", err)
		}
	}
}

// A deactivated org admin does not count for the last-admin rule: with the
// other admin deactivated by a platform admin, the last active one can
// neither leave nor give up the role while members remain.
func TestOrgLastActiveAdminStays(t *testing.T) {
	t.Parallel()
	f := newOrgFixture(t)
	ensureGroups(t, f)
	ctx := context.Background()
	org, a := f.newOrg("Acme")
	f.exec(`UPDATE organizations SET plan = 'team' WHERE id = $1`, org)
	b := f.mkEmailUser("b@example.com")
	f.join(org, a, b, "b@example.com", "org_admin")
	c := f.mkEmailUser("c@example.com")
	f.join(org, a, c, "c@example.com")
	root := f.mkUser(userSpec{email: "root@example.com", role: "admin"})
	if _, err := f.admin.SetActive(ctx, as(root), b, false); err != nil {
		t.Fatalf("deactivate b: %v", err)
	}
	if _, err := f.orgs.SetMemberGroups(ctx, as(a), org, a, []string{"org_viewer"}); !errors.Is(err, service.ErrLastAdmin) {
		t.Fatalf("last active admin drops org_admin: got %v, want last_admin", err)
	}
	if err := f.orgs.RemoveMember(ctx, as(a), org, a); !errors.Is(err, service.ErrLastAdmin) {
		t.Fatalf("last active admin leaves: got %v, want last_admin", err)
	}
	if g := f.groupsOf(a); !slices.Contains(g, "org_admin") {
		t.Fatalf("a's groups: got %v, want org_admin kept", g)
	}
	// Reactivated, b counts again: a may leave.
	if _, err := f.admin.SetActive(ctx, as(root), b, true); err != nil {
		t.Fatalf("reactivate b: %v", err)
	}
	if err := f.orgs.RemoveMember(ctx, as(a), org, a); err != nil {
		t.Fatalf("a leaves with b active: %v", err)
	}
}
