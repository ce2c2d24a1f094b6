package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// orgUser signs an IdP user in with a verified email and returns their
// token and id.
func (e *env) orgUser(sub string) (string, int64) {
	e.t.Helper()
	return e.signIn(sub, map[string]any{"email": sub + "@example.com", "email_verified": true})
}

// invite invites email into org as the org admin adminTok and returns the
// mailed token.
func (e *env) invite(adminTok string, org int64, email string, groups ...string) string {
	e.t.Helper()
	body := map[string]any{"email": email}
	if len(groups) > 0 {
		body["groups"] = groups
	}
	expect(e.t, e.do("POST", fmt.Sprintf("/api/v1/organizations/%d/invitations", org), adminTok, body), http.StatusCreated, "")
	mails := e.mailsTo(email)
	if len(mails) == 0 {
		e.t.Fatalf("no invitation mail to %s", email)
	}
	return tokenIn(e.t, mails[len(mails)-1], "/accept-invitation")
}

// orgSetup is one organization on the team plan: its org admin, a member,
// a second member (the target of member routes) and a pending invitation.
type orgSetup struct {
	id                  int64
	adminTok, memberTok string
	targetID            int64
	invitationID        int64
}

func (e *env) newOrgSetup(prefix string) orgSetup {
	e.t.Helper()
	var s orgSetup
	s.adminTok, _ = e.orgUser(prefix + "-admin")
	r := e.do("POST", "/api/v1/organizations", s.adminTok, map[string]any{"name": "Org " + prefix})
	expect(e.t, r, http.StatusCreated, "")
	s.id = int64(r.json(e.t)["id"].(float64))
	if _, err := e.pool.Exec(context.Background(), `UPDATE organizations SET plan = 'team' WHERE id = $1`, s.id); err != nil {
		e.t.Fatal(err)
	}
	for _, who := range []string{"member", "target"} {
		tok, id := e.orgUser(prefix + "-" + who)
		accept := e.do("POST", "/api/v1/invitations/accept", tok, map[string]any{"token": e.invite(s.adminTok, s.id, prefix+"-"+who+"@example.com")})
		expect(e.t, accept, http.StatusOK, "")
		if who == "member" {
			s.memberTok = tok
		} else {
			s.targetID = id
		}
	}
	r = e.do("POST", fmt.Sprintf("/api/v1/organizations/%d/invitations", s.id), s.adminTok, map[string]any{"email": prefix + "-pending@example.com"})
	expect(e.t, r, http.StatusCreated, "")
	s.invitationID = int64(r.json(e.t)["id"].(float64))
	return s
}

// orgRouteMatrix is every organization route with the status each kind
// of caller gets (orgCallers); TestRouteRoleMatrix checks that it and
// routeMatrix together cover every route.
var orgRouteMatrix = []struct {
	method, path string // %[1]d: organization, %[2]d: target member, %[3]d: pending invitation
	body         any
	want         []int // per caller, in the order of callers
}{
	{"POST", "/api/v1/organizations", map[string]any{"name": "New"}, []int{401, 201, 409, 409, 201}},
	{"GET", "/api/v1/organizations/%[1]d", nil, []int{401, 404, 200, 200, 200}},
	{"PATCH", "/api/v1/organizations/%[1]d", map[string]any{"name": "Renamed"}, []int{401, 404, 403, 200, 200}},
	{"DELETE", "/api/v1/organizations/%[1]d", nil, []int{401, 404, 403, 204, 204}},
	{"POST", "/api/v1/organizations/%[1]d/invitations", map[string]any{"email": "new@example.com"}, []int{401, 404, 403, 201, 201}},
	{"GET", "/api/v1/organizations/%[1]d/invitations", nil, []int{401, 404, 403, 200, 200}},
	{"DELETE", "/api/v1/organizations/%[1]d/invitations/%[3]d", nil, []int{401, 404, 403, 204, 204}},
	{"POST", "/api/v1/invitations/accept", "token", []int{401, 403, 403, 403, 403}},
	{"GET", "/api/v1/organizations/%[1]d/members", nil, []int{401, 404, 200, 200, 200}},
	{"DELETE", "/api/v1/organizations/%[1]d/members/%[2]d", nil, []int{401, 404, 403, 204, 204}},
	{"PUT", "/api/v1/organizations/%[1]d/members/%[2]d/groups", map[string]any{"groups": []string{"org_admin"}}, []int{401, 404, 403, 200, 200}},
	{"GET", "/api/v1/organizations/%[1]d/groups", nil, []int{401, 404, 200, 200, 200}},
	{"PUT", "/api/v1/organizations/%[1]d/plan", map[string]any{"plan": "business"}, []int{401, 403, 403, 403, 200}},
}

// orgCallers are the kinds of caller of orgRouteMatrix, in its order.
var orgCallers = []string{"anonymous", "nonmember", "member", "orgadmin", "platform"}

// TestOrgRoutesMatrix calls every organization route as each kind of
// caller, each on an organization of its own, and checks the exact status:
// 401 without a token; outsiders learn nothing (404); members read; org
// admins manage; platform admins do everything and alone change plans.
func TestOrgRoutesMatrix(t *testing.T) {
	t.Parallel()
	callers, routes := orgCallers, orgRouteMatrix
	codes := map[int]string{401: "invalid_token", 403: "forbidden", 404: "not_found", 409: "already_member"}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			nonmemberTok, _ := e.orgUser("nonmember")
			platformTok, _ := e.userWithRole("platform", "admin")
			for i, c := range callers {
				// Each caller acts on an organization of its own, so that
				// one caller's change does not decide the next one's status.
				s := e.newOrgSetup(c)
				tok := map[string]string{"anonymous": "", "nonmember": nonmemberTok, "member": s.memberTok, "orgadmin": s.adminTok, "platform": platformTok}[c]
				body := rt.body
				if body == "token" {
					body = map[string]any{"token": e.invite(s.adminTok, s.id, c+"-someone-else@example.com")}
				}
				path := fmt.Sprintf(rt.path, s.id, s.targetID, s.invitationID)
				if !strings.Contains(rt.path, "%") {
					path = rt.path
				}
				r := e.do(rt.method, path, tok, body)
				if r.status != rt.want[i] {
					t.Fatalf("%s: got status %d (%s), want %d", c, r.status, r.body, rt.want[i])
				}
				expect(t, r, rt.want[i], codes[rt.want[i]])
			}
		})
	}
}

// TestOrgFlowOverHTTP walks an organization's life over HTTP: create,
// invite by mail, accept (marking the email verified), details as member
// and admin, seat limit, plan change, last admin, leave, wipe-out.
func TestOrgFlowOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Every exchange is checked against openapi.json as it is served
	// (validated); key names the operation for the reader.
	check := func(_ string, r response, want int, code string) response {
		t.Helper()
		expect(t, r, want, code)
		return r
	}
	at := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }
	adminTok, adminID := e.orgUser("founder")
	org := check("POST /api/v1/organizations", e.do("POST", "/api/v1/organizations", adminTok, map[string]any{"name": " Acme "}), 201, "").json(t)
	id := int64(org["id"].(float64))
	if org["name"] != "Acme" || org["plan"] != "free" || org["seat_limit"] != 3.0 || org["seats_used"] != 1.0 {
		t.Fatalf("created: got %v", org)
	}
	check("POST /api/v1/organizations", e.do("POST", "/api/v1/organizations", adminTok, map[string]any{"name": "Again"}), 409, "already_member")
	check("POST /api/v1/organizations", e.do("POST", "/api/v1/organizations", adminTok, map[string]any{"name": strings.Repeat("x", 71)}), 422, "validation_failed")

	// A local account with an unverified address accepts by mail.
	reg := e.register(map[string]any{"email": "Joiner@Example.com", "password": testPassword})
	joinerTok, _ := tokens(reg)
	joinerID := userID(t, reg)
	check("POST /api/v1/organizations/{id}/invitations", e.do("POST", at("/api/v1/organizations/%d/invitations", id), adminTok,
		map[string]any{"email": "joiner@example.com", "groups": []string{"nope"}}), 422, "validation_failed")
	tok := e.invite(adminTok, id, "joiner@example.com")
	check("POST /api/v1/organizations/{id}/invitations", e.do("POST", at("/api/v1/organizations/%d/invitations", id), adminTok,
		map[string]any{"email": "JOINER@example.com"}), 409, "conflict")
	strangerTok, _ := e.orgUser("stranger")
	check("POST /api/v1/invitations/accept", e.do("POST", "/api/v1/invitations/accept", strangerTok, map[string]any{"token": tok}), 403, "forbidden")
	check("POST /api/v1/invitations/accept", e.do("POST", "/api/v1/invitations/accept", joinerTok, map[string]any{"token": otherFirst(tok)}), 401, "invalid_token")
	check("POST /api/v1/invitations/accept", e.do("POST", "/api/v1/invitations/accept", joinerTok, map[string]any{"token": tok}), 200, "")
	check("POST /api/v1/invitations/accept", e.do("POST", "/api/v1/invitations/accept", joinerTok, map[string]any{"token": tok}), 401, "invalid_token")
	me := e.do("GET", "/api/v1/users/me", joinerTok, nil).json(t)
	if me["email_verified"] != true || me["organization_id"] != float64(id) {
		t.Fatalf("joiner after accepting: got email_verified %v organization_id %v", me["email_verified"], me["organization_id"])
	}

	// One seat left: one invitation fits, the next does not.
	check("POST /api/v1/organizations/{id}/invitations", e.do("POST", at("/api/v1/organizations/%d/invitations", id), adminTok, map[string]any{"email": "third@example.com"}), 201, "")
	check("POST /api/v1/organizations/{id}/invitations", e.do("POST", at("/api/v1/organizations/%d/invitations", id), adminTok, map[string]any{"email": "fourth@example.com"}), 409, "seat_limit_reached")

	// Details: members with groups; invitee emails for org admins only.
	detail := check("GET /api/v1/organizations/{id}", e.do("GET", at("/api/v1/organizations/%d", id), adminTok, nil), 200, "").json(t)
	if detail["seats_used"] != 3.0 || len(detail["members"].(map[string]any)["items"].([]any)) != 2 {
		t.Fatalf("detail: got %v", detail)
	}
	pending := detail["pending_invitations"].(map[string]any)["items"].([]any)
	if len(pending) != 1 || pending[0].(map[string]any)["email"] != "third@example.com" {
		t.Fatalf("admin's pending invitations: got %v", pending)
	}
	asMember := check("GET /api/v1/organizations/{id}", e.do("GET", at("/api/v1/organizations/%d", id), joinerTok, nil), 200, "").json(t)
	if p := asMember["pending_invitations"].(map[string]any)["items"].([]any); p[0].(map[string]any)["email"] != nil {
		t.Fatalf("member sees the invitee's email: %v", p)
	}
	members := check("GET /api/v1/organizations/{id}/members", e.do("GET", at("/api/v1/organizations/%d/members?limit=1", id), joinerTok, nil), 200, "")
	next := decodePage(t, members).NextCursor
	if next == nil {
		t.Fatal("members page 1 of 2: got no next_cursor")
	}
	check("GET /api/v1/organizations/{id}/members", e.do("GET", at("/api/v1/organizations/%d/members?cursor=%s", id, *next), joinerTok, nil), 200, "")
	check("GET /api/v1/organizations/{id}/members", e.do("GET", at("/api/v1/organizations/%d/members?cursor=tampered", id), joinerTok, nil), 400, "invalid_cursor")
	check("GET /api/v1/organizations/{id}/invitations", e.do("GET", at("/api/v1/organizations/%d/invitations", id), adminTok, nil), 200, "")
	check("GET /api/v1/organizations/{id}/groups", e.do("GET", at("/api/v1/organizations/%d/groups", id), joinerTok, nil), 200, "")

	// Plans: a downgrade below the seats in use is refused.
	platformTok, _ := e.userWithRole("platform", "admin")
	check("PUT /api/v1/organizations/{id}/plan", e.do("PUT", at("/api/v1/organizations/%d/plan", id), platformTok, map[string]any{"plan": "team"}), 200, "")
	for _, addr := range []string{"fourth@example.com", "fifth@example.com"} {
		check("POST /api/v1/organizations/{id}/invitations", e.do("POST", at("/api/v1/organizations/%d/invitations", id), adminTok, map[string]any{"email": addr}), 201, "")
	}
	check("PUT /api/v1/organizations/{id}/plan", e.do("PUT", at("/api/v1/organizations/%d/plan", id), platformTok, map[string]any{"plan": "free"}), 409, "seat_limit_reached")
	check("PUT /api/v1/organizations/{id}/plan", e.do("PUT", at("/api/v1/organizations/%d/plan", id), platformTok, map[string]any{"plan": "gold"}), 422, "validation_failed")

	// Groups, last admin, leaving.
	check("PUT /api/v1/organizations/{id}/members/{user_id}/groups", e.do("PUT", at("/api/v1/organizations/%d/members/%d/groups", id, adminID), adminTok, map[string]any{"groups": []string{}}), 409, "last_admin")
	check("PUT /api/v1/organizations/{id}/members/{user_id}/groups", e.do("PUT", at("/api/v1/organizations/%d/members/%d/groups", id, joinerID), adminTok, map[string]any{"groups": []string{"premium"}}), 422, "validation_failed")
	check("PUT /api/v1/organizations/{id}/members/{user_id}/groups", e.do("PUT", at("/api/v1/organizations/%d/members/%d/groups", id, joinerID), adminTok, map[string]any{}), 422, "validation_failed")
	check("DELETE /api/v1/organizations/{id}/members/{user_id}", e.do("DELETE", at("/api/v1/organizations/%d/members/%d", id, adminID), adminTok, nil), 409, "last_admin")
	check("PATCH /api/v1/organizations/{id}", e.do("PATCH", at("/api/v1/organizations/%d", id), adminTok, `{"name": "Acme Inc"}`, "Content-Type", "application/merge-patch+json"), 200, "")
	check("PATCH /api/v1/organizations/{id}", e.do("PATCH", at("/api/v1/organizations/%d", id), adminTok, `{"name": null}`, "Content-Type", "application/merge-patch+json"), 422, "validation_failed")
	check("DELETE /api/v1/organizations/{id}/members/{user_id}", e.do("DELETE", at("/api/v1/organizations/%d/members/%d", id, joinerID), joinerTok, nil), 204, "")
	check("DELETE /api/v1/organizations/{id}/members/{user_id}", e.do("DELETE", at("/api/v1/organizations/%d/members/%d", id, joinerID), adminTok, nil), 404, "not_found")
	check("DELETE /api/v1/organizations/{id}/invitations/{invitation_id}", e.do("DELETE", at("/api/v1/organizations/%d/invitations/999999", id), adminTok, nil), 404, "not_found")

	// Wipe-out: 204, then gone; the audit log keeps ids and no addresses.
	check("DELETE /api/v1/organizations/{id}", e.do("DELETE", at("/api/v1/organizations/%d", id), adminTok, nil), 204, "")
	check("GET /api/v1/organizations/{id}", e.do("GET", at("/api/v1/organizations/%d", id), adminTok, nil), 404, "not_found")
	if me := e.do("GET", "/api/v1/users/me", adminTok, nil).json(t); me["organization_id"] != nil {
		t.Fatalf("founder after the wipe-out: organization_id %v, want null", me["organization_id"])
	}
	events := decodePage(t, e.do("GET", "/api/v1/audit-events?limit=200", platformTok, nil))
	actions := map[string]int{}
	for _, ev := range events.Items {
		if ev["organization_id"] == float64(id) {
			actions[ev["action"].(string)]++
		}
		if b, _ := json.Marshal(ev); strings.Contains(strings.ToLower(string(b)), "example.com") {
			t.Errorf("audit event holds an address: %v", ev)
		}
	}
	for _, a := range []string{"org.created", "org.invitation_created", "org.invitation_accepted", "org.plan_changed", "org.updated", "org.member_left", "org.deleted"} {
		if actions[a] == 0 {
			t.Errorf("audit log: no %s event for the organization (got %v)", a, actions)
		}
	}
}

// otherFirst returns token with its first character replaced by a different
// one, so the result never equals token.
func otherFirst(token string) string {
	if token[0] == 'x' {
		return "y" + token[1:]
	}
	return "x" + token[1:]
}
