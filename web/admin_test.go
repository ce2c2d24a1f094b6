package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The admin console's tests: its flows in Chromium (every page checked
// with axe-core; USERD_SCREENSHOTS=docs saves docs/admin-*.png), and its
// refusals over plain HTTP.

// member signs up an account through the sign-up page with the given
// fields and gives it role (user: none given), directly in the database,
// as `userd setup-dev-users` or an operator's SQL would. It returns the
// account's id.
func (s *site) member(role string, fields ...string) int64 {
	s.t.Helper()
	form := mustValues(append([]string{"password", testPassword}, fields...)...)
	p := s.browser().post("/signup", form)
	expectRedirect(s.t, p, "/account?welcome=1")
	id := s.userID(form.Get("email"))
	if role != "user" {
		if _, err := s.db.Pool.Exec(context.Background(), "UPDATE users SET role = $1 WHERE id = $2", role, id); err != nil {
			s.t.Fatal(err)
		}
	}
	return id
}

// apiToken signs in over the JSON API and returns the access token.
func (s *site) apiToken(identifier string) string {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"identifier": identifier, "password": testPassword})
	res, err := s.srv.Client().Post(s.url+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.AccessToken == "" {
		s.t.Fatalf("login %s: status %d, %v", identifier, res.StatusCode, err)
	}
	return out.AccessToken
}

// me is the status of GET /api/v1/users/me with token.
func (s *site) me(token string) int {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url+"/api/v1/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// shot waits for the heading want, checks the page with axe-core and, with
// USERD_SCREENSHOTS set, saves it as admin-name.png there.
func (d *device) shot(want, name string) {
	d.t.Helper()
	d.waitHeading(want)
	d.axe()
	if dir := os.Getenv("USERD_SCREENSHOTS"); dir != "" {
		d.screenshot(filepath.Join(dir, "admin-"+name+".png"))
	}
}

// signInTo signs d in through the sign-in page and lands on path.
func (d *device) signInTo(identifier, path string) {
	d.t.Helper()
	d.open("/signin?" + url.Values{"redirect_to": {path}}.Encode())
	d.waitHeading("Sign in")
	d.submit(`form[action="/signin"]`, map[string]string{"identifier": identifier, "password": testPassword})
}

func (s *site) active(id int64) bool {
	s.t.Helper()
	var active bool
	s.row("SELECT is_active FROM users WHERE id = $1", &active, id)
	return active
}

// An admin signs in, finds a user by the last ten digits of their phone,
// deactivates them (their next API request is refused), and walks every
// console page.
func TestBrowserAdminConsole(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.member("admin", "email", "root@example.com", "username", "root")
	target := s.member("user", "email", "ravi@example.com", "username", "ravi.k", "phone", "+91 98765 43210")
	s.member("user", "email", "owner@example.com", "username", "northwind.owner")
	ctx := context.Background()
	org, err := s.orgs.Create(ctx, s.as("owner@example.com"), "Northwind")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.orgs.Invite(ctx, s.as("owner@example.com"), org.ID, "invitee@example.com", nil); err != nil {
		t.Fatal(err)
	}
	token := s.apiToken("ravi@example.com")
	if got := s.me(token); got != http.StatusOK {
		t.Fatalf("before: GET /users/me got %d, want 200", got)
	}

	d := s.device(t, "admin")
	d.signInTo("root@example.com", "/admin")
	d.shot("Admin overview", "overview")
	d.expectText("Sign-ups per day", "Organizations by plan", "Latest audit events")

	d.click(`nav a[href="/admin/users"]`)
	d.waitHeading("Users")
	d.submit(`form[action="/admin/users"]`, map[string]string{"q": "9876543210"})
	d.shot("Users", "users")
	d.expectText("ravi@example.com", "+919876543210")
	if strings.Contains(d.text(), "owner@example.com") {
		t.Fatal("a phone search listed a user without that phone")
	}
	d.click(`main table a[href="/admin/users/` + strconv.FormatInt(target, 10) + `"]`)
	d.shot("ravi.k", "user")
	d.expectText("Sessions", "Linked logins", "Audit trail")

	d.click(`a[href$="/deactivate"]`)
	d.shot("Deactivate ravi.k", "confirm")
	d.expectText("signed out everywhere at once")
	d.click(`main form button[type="submit"]`)
	d.waitHeading("ravi.k")
	d.expectText("The user is deactivated", "deactivated")
	if s.active(target) {
		t.Fatal("the user is still active")
	}
	if got := s.me(token); got != http.StatusUnauthorized && got != http.StatusForbidden {
		t.Fatalf("after: GET /users/me got %d, want 401 or 403", got)
	}

	// Every other confirmation page of a user's actions, checked.
	for _, a := range []struct{ path, heading string }{
		{"reactivate", "Reactivate ravi.k"}, {"reset-link", "Send a password-reset link to ravi.k"},
		{"verification", "Resend the verification link to ravi.k"}, {"revoke-sessions", "Sign out everywhere: ravi.k"},
	} {
		d.open("/admin/users/" + strconv.FormatInt(target, 10) + "/" + a.path)
		d.waitHeading(a.heading)
	}

	d.open("/admin/audit?actor=" + strconv.FormatInt(s.userID("root@example.com"), 10))
	d.shot("Audit log", "audit")
	d.expectText("admin.user_deactivated")

	d.open("/admin/orgs")
	d.shot("Organizations", "orgs")
	d.click(`main table a[href="/admin/orgs/` + strconv.FormatInt(org.ID, 10) + `"]`)
	d.shot("Northwind", "org")
	d.expectText("northwind.owner", "invitee@example.com", "2 used of 3")
	d.run(chromedp.SetValue(chromedp.CSS(`#plan`), "team"))
	d.click(`form[action$="/plan"] button`)
	d.waitHeading("Northwind")
	d.expectText("The plan is changed", "2 used of 25")
	d.axe()

	d.open("/admin/webhooks")
	d.waitHeading("Webhooks")
	d.submit(`form[action="/admin/webhooks"]`, map[string]string{"url": "https://hooks.example.com/userd"})
	d.shot("Webhooks", "webhooks")
	d.expectText("whsec_", "https://hooks.example.com/userd")
	d.click(`main table a[href^="/admin/webhooks/"]`)
	d.waitHeading("Webhook endpoint #1")
	d.axe()
	d.click(`a[href$="/rotate"]`)
	d.waitHeading("Webhook endpoint #1")
	d.axe()
	d.click(`form[action$="/rotate"] button`)
	d.waitHeading("Webhook endpoint #1")
	d.expectText("New signing secret: whsec_")
	d.axe()
	d.open("/admin/webhooks/1/remove")
	d.expectText("nothing more is sent to it")
	d.click(`form[action$="/remove"] button`)
	d.waitHeading("Webhooks")
	d.expectText("The endpoint is removed", "No endpoints.")
	d.axe()
}

// An admin demotes another admin (the role-change page says what it
// does); the two admins demoting each other at once leave one, and the
// one refused is told why.
func TestBrowserAdminRoleChange(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	a := s.member("admin", "email", "ada@example.com", "username", "ada")
	b := s.member("admin", "email", "bob@example.com", "username", "bob")
	c := s.member("admin", "email", "cyra@example.com", "username", "cyra")

	d := s.device(t, "ada")
	d.signInTo("ada@example.com", "/admin/users/"+strconv.FormatInt(c, 10))
	d.waitHeading("cyra")
	d.click(`a[href$="/role"]`)
	d.shot("Change the role of cyra", "role")
	d.expectText("cyra is admin now")
	d.run(chromedp.SetValue(chromedp.CSS(`#role`), "operator"))
	d.click(`main form button[type="submit"]`)
	d.waitHeading("cyra")
	d.expectText("The role is changed", "operator")

	// Ada and Bob, the last two admins, demote each other at once: the
	// admin rows are held locked until both requests wait on them.
	ab, bb := s.browser(), s.browser()
	expectRedirect(t, ab.signIn("ada@example.com", testPassword), "/account")
	expectRedirect(t, bb.signIn("bob@example.com", testPassword), "/account")
	tx, err := s.db.Pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), "SELECT id FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL ORDER BY id FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	pages := make([]page, 2)
	var wg sync.WaitGroup
	for i, x := range []struct {
		b      *browser
		target int64
	}{{ab, b}, {bb, a}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pages[i] = x.b.post("/admin/users/"+strconv.FormatInt(x.target, 10)+"/role", mustValues("role", "user"))
		}()
	}
	time.Sleep(time.Second)
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	var admins int
	s.row("SELECT count(*) FROM users WHERE role = 'admin' AND is_active", &admins)
	if admins != 1 {
		t.Fatalf("got %d admins, want 1", admins)
	}
	refused := 0
	for _, p := range pages {
		if p.status == http.StatusConflict {
			refused++
			expectPage(t, p, http.StatusConflict, "This is the last active admin")
		} else if p.status != http.StatusSeeOther {
			t.Fatalf("got %d, want 303 or 409:\n%s", p.status, p.body)
		}
	}
	if refused != 1 {
		t.Fatalf("%d of the two demotions were refused, want 1", refused)
	}
}

// Deleting a user takes their username typed; a wrong one deletes
// nothing. A sign-in older than ten minutes asks for the password.
func TestBrowserAdminDelete(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.member("admin", "email", "root@example.com", "username", "root")
	target := s.member("user", "email", "gone@example.com", "username", "gone.soon")
	d := s.device(t, "admin")
	d.signInTo("root@example.com", "/admin/users/"+strconv.FormatInt(target, 10)+"/delete")
	d.shot("Delete gone.soon", "delete")
	d.expectText("It cannot be undone")
	d.submit(`main form[action$="/delete"]`, map[string]string{"confirm": "gone"})
	d.waitHeading("Delete gone.soon")
	d.expectText("Type the username exactly")
	d.axe()
	var deleted bool
	s.row("SELECT deleted_at IS NOT NULL FROM users WHERE id = $1", &deleted, target)
	if deleted {
		t.Fatal("a wrong confirmation deleted the user")
	}

	// The sign-in grows old: now the password is asked for too.
	if _, err := s.db.Pool.Exec(context.Background(), "UPDATE sessions SET created_at = now() - interval '11 minutes' WHERE user_id = $1", s.userID("root@example.com")); err != nil {
		t.Fatal(err)
	}
	d.open("/admin/users/" + strconv.FormatInt(target, 10) + "/delete")
	d.waitHeading("Delete gone.soon")
	d.expectText("confirm with your password")
	d.submit(`main form[action$="/delete"]`, map[string]string{"confirm": "gone.soon", "current_password": "not the password"})
	d.waitHeading("Delete gone.soon")
	d.expectText("Is not correct")
	d.axe()
	// The typed username stays in the form; the password does not.
	d.submit(`main form[action$="/delete"]`, map[string]string{"current_password": testPassword})
	d.waitHeading("Users")
	d.expectText("The user is deleted")
	s.row("SELECT deleted_at IS NOT NULL FROM users WHERE id = $1", &deleted, target)
	if !deleted {
		t.Fatal("the user is not deleted")
	}
}

// An operator pages through the directory and sees the contact view; the
// admin-only pages and actions are refused, and a plain user finds no
// console at all.
func TestBrowserAdminOperator(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.member("operator", "email", "op@example.com", "username", "oper")
	target := s.member("user", "email", "pat@example.com", "username", "pat", "phone", "+91 91234 56789")
	if _, err := s.db.Pool.Exec(context.Background(), "UPDATE users SET city = 'Pune', bio = 'private bio' WHERE id = $1", target); err != nil {
		t.Fatal(err)
	}
	d := s.device(t, "operator")
	d.signInTo("op@example.com", "/admin/users/"+strconv.FormatInt(target, 10))
	d.shot("pat", "operator-user")
	d.expectText("pat@example.com", "+919123456789", "You see the contact view")
	for _, hidden := range []string{"Pune", "private bio", "Sessions", "Linked logins", "Audit trail", "Deactivate", "Organizations", "Audit log"} {
		if strings.Contains(d.text(), hidden) {
			t.Fatalf("the operator sees %q:\n%s", hidden, d.text())
		}
	}
	for _, path := range []string{"/admin/audit", "/admin/orgs", "/admin/webhooks", "/admin/users/" + strconv.FormatInt(target, 10) + "/deactivate"} {
		d.open(path)
		d.waitHeading("Not allowed")
	}

	b := s.browser()
	expectRedirect(t, b.signIn("op@example.com", testPassword), "/account")
	p := b.post("/admin/users/"+strconv.FormatInt(target, 10)+"/deactivate", url.Values{})
	expectPage(t, p, http.StatusForbidden, "Not allowed")
	if !s.active(target) {
		t.Fatal("an operator deactivated a user")
	}
	expectPage(t, b.get("/admin/users?q=pat"), http.StatusOK, "pat@example.com")

	u := s.browser()
	expectRedirect(t, u.signIn("pat@example.com", testPassword), "/account")
	expectPage(t, u.get("/admin"), http.StatusNotFound, "Not found")
	expectPage(t, u.get("/admin/users"), http.StatusNotFound)
}

// A form on another site posting to the console, in a signed-in admin's
// browser, changes nothing.
func TestBrowserAdminForgedPost(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.member("admin", "email", "root@example.com", "username", "root")
	target := s.member("user", "email", "victim@example.com", "username", "victim")
	action := s.url + "/admin/users/" + strconv.FormatInt(target, 10) + "/deactivate"
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><title>Win a prize</title><h1>Win a prize</h1>
<form method="post" action="` + action + `"><button type="submit">Claim</button></form>`))
	}))
	t.Cleanup(evil.Close)
	d := s.device(t, "admin")
	d.signInTo("root@example.com", "/admin")
	d.waitHeading("Admin overview")
	// localhost is another site than the console's 127.0.0.1.
	d.run(chromedp.Navigate(strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)))
	d.waitHeading("Win a prize")
	d.click(`button`)
	time.Sleep(time.Second)
	if !s.active(target) {
		t.Fatal("a cross-site form deactivated a user")
	}

	// The same POST with the admin's cookie, marked cross-site, as an
	// older browser sends it with an Origin only.
	b := s.browser()
	expectRedirect(t, b.signIn("root@example.com", testPassword), "/account")
	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "", "Origin", "https://evil.example"}} {
		if p := b.post("/admin/users/"+strconv.FormatInt(target, 10)+"/deactivate", url.Values{}, h...); p.status != http.StatusForbidden {
			t.Fatalf("cross-site POST %v: got %d, want 403", h, p.status)
		}
	}
	if !s.active(target) {
		t.Fatal("a cross-site POST deactivated a user")
	}
	// The same form from the console itself works.
	expectRedirect(t, b.post("/admin/users/"+strconv.FormatInt(target, 10)+"/deactivate", url.Values{}),
		"/admin/users/"+strconv.FormatInt(target, 10)+"?done=deactivated")
}

// From the user page an admin signs out one session (its API token is
// refused at once) or all, and mails a reset link and a verification
// link; each is audited with the admin as the actor.
func TestAdminSessionsAndMail(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin := s.member("admin", "email", "root@example.com", "username", "root")
	target := s.member("user", "email", "mia@example.com", "username", "mia")
	first, second := s.apiToken("mia@example.com"), s.apiToken("mia@example.com")
	var sid int64
	s.row("SELECT min(id) FROM sessions WHERE user_id = $1 AND kind = 'api'", &sid, target)

	b := s.browser()
	expectRedirect(t, b.signIn("root@example.com", testPassword), "/account")
	user := "/admin/users/" + strconv.FormatInt(target, 10)
	expectPage(t, b.get(user+"/revoke-session?session="+strconv.FormatInt(sid, 10)), http.StatusOK, "That session of mia ends at once")
	expectRedirect(t, b.post(user+"/revoke-session", mustValues("session", strconv.FormatInt(sid, 10))), user+"?done=revoked")
	if got := s.me(first); got != http.StatusUnauthorized {
		t.Fatalf("the revoked session's token: got %d, want 401", got)
	}
	if got := s.me(second); got != http.StatusOK {
		t.Fatalf("the other session's token: got %d, want 200", got)
	}
	expectRedirect(t, b.post(user+"/revoke-sessions", nil), user+"?done=revoked")
	if got := s.me(second); got != http.StatusUnauthorized {
		t.Fatalf("after sign out everywhere: got %d, want 401", got)
	}
	var reason string
	s.row("SELECT revoked_reason FROM sessions WHERE id = $1", &reason, sid)
	if reason != "revoked_by_admin" {
		t.Fatalf("got revoked_reason %q, want revoked_by_admin", reason)
	}

	before := len(s.mails("mia@example.com"))
	expectPage(t, b.get(user+"/reset-link"), http.StatusOK, "A link to choose a new password goes to mia@example.com")
	expectRedirect(t, b.post(user+"/reset-link", nil), user+"?done=reset")
	s.link("mia@example.com", "/reset-password")
	expectRedirect(t, b.post(user+"/verification", nil), user+"?done=verification")
	if got := len(s.mails("mia@example.com")); got != before+2 {
		t.Fatalf("got %d new mails, want 2", got-before)
	}
	for _, action := range []string{"admin.sessions_revoked", "admin.reset_link_sent", "admin.verification_resent"} {
		var n int
		s.row("SELECT count(*) FROM audit_events WHERE action = $1 AND actor_id = $2 AND target_user_id = $3", &n, action, admin, target)
		if n == 0 {
			t.Fatalf("no %s event with the admin as actor", action)
		}
	}
	// Unknown actions and sessions of someone else are not found.
	expectPage(t, b.get(user+"/promote"), http.StatusNotFound)
	expectPage(t, b.post(user+"/revoke-session", mustValues("session", "999999")), http.StatusNotFound)
}
