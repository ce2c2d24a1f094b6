package service_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
)

// fixture is the admin and users services over a fresh database.
type fixture struct {
	t     *testing.T
	pool  *pgxpool.Pool
	admin *service.Admin
	users *service.Users
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return fixtureOn(t, pgtest.NewPool(t))
}

func fixtureOn(t *testing.T, pool *pgxpool.Pool) *fixture {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	db := service.NewDB(pool)
	return &fixture{t: t, pool: pool, admin: service.NewAdmin(db, "IN", key), users: service.NewUsers(db, "IN", "")}
}

// userSpec describes a user row; zero fields are NULL (role: user,
// active: true, created: now).
type userSpec struct {
	username, email, phone, first, last, role string
	inactive                                  bool
	created                                   time.Time
}

func (f *fixture) mkUser(s userSpec) int64 {
	f.t.Helper()
	if s.role == "" {
		s.role = "user"
	}
	var created *time.Time
	if !s.created.IsZero() {
		created = &s.created
	}
	var id int64
	err := f.pool.QueryRow(context.Background(), `
		INSERT INTO users (username, email, phone, first_name, last_name, role, artist_id, is_active, created_at, updated_at)
		VALUES (NULLIF($1, ''), NULLIF($2, ''), NULLIF($3, ''), NULLIF($4, ''), NULLIF($5, ''), $6,
			CASE WHEN $6 = 'artist' THEN 1 END, $7, COALESCE($8, now()), COALESCE($8, now()))
		RETURNING id`,
		s.username, s.email, s.phone, s.first, s.last, s.role, !s.inactive, created).Scan(&id)
	if err != nil {
		f.t.Fatalf("insert user %+v: %v", s, err)
	}
	return id
}

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.pool.Exec(context.Background(), sql, args...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

func (f *fixture) count(sql string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// addSession gives a user one live refresh-token session.
func (f *fixture) addSession(userID int64) {
	f.t.Helper()
	f.exec("INSERT INTO sessions (user_id, expires_at) VALUES ($1, now() + interval '1 day')", userID)
}

func wantCode(t *testing.T, err error, want service.Code) {
	t.Helper()
	e, ok := service.ErrorOf(err)
	if !ok || e.Code != want {
		t.Fatalf("got error %v, want %s", err, want)
	}
}

func ids(us []service.User) []int64 {
	out := make([]int64, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// as is the principal of user userID signed in. Its role is the zero
// role: the methods that must not trust a cached role read the row.
func as(userID int64) service.Principal { return service.Principal{User: service.User{ID: userID}} }

// asUser is the principal of u signed in, with u's role.
func asUser(u service.User) service.Principal { return service.Principal{User: u} }

// walk pages through the directory with limit n and returns every id seen.
// between runs after each page.
func walk(t *testing.T, f *fixture, filter service.UserFilter, n int, between func(page int)) []int64 {
	t.Helper()
	var seen []int64
	req := service.PageRequest{Limit: &n}
	for page := 0; ; page++ {
		res, err := f.admin.ListUsers(context.Background(), service.Console(), filter, req)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if len(res.Items) > n {
			t.Fatalf("page %d: got %d items, want at most %d", page, len(res.Items), n)
		}
		seen = append(seen, ids(res.Items)...)
		if res.NextCursor == nil {
			return seen
		}
		if len(res.Items) != n {
			t.Fatalf("page %d: got %d items and a next cursor, want a full page", page, len(res.Items))
		}
		if between != nil {
			between(page)
		}
		req.Cursor = *res.NextCursor
	}
}

func TestAdminListUsersKeysetWalk(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	// 30 users, two per created_at so ties are broken by id.
	var initial []int64
	for i := range 30 {
		initial = append(initial, f.mkUser(userSpec{created: base.Add(-time.Duration(i/2) * time.Minute)}))
	}
	// Expected order: created_at DESC, id DESC.
	want := slices.Clone(initial)
	for i := 0; i+1 < len(want); i += 2 {
		want[i], want[i+1] = want[i+1], want[i]
	}
	if got := walk(t, f, service.UserFilter{}, 4, nil); !slices.Equal(got, want) {
		t.Fatalf("got order %v, want %v", got, want)
	}

	// Mid-walk: rows inserted ahead of the cursor are not seen, rows
	// inserted behind it are; a deleted row not yet reached is not seen; a
	// deleted row already seen stays seen once.
	var older, deletedAhead int64
	got := walk(t, f, service.UserFilter{}, 4, func(page int) {
		if page != 1 {
			return
		}
		f.mkUser(userSpec{}) // newest: ahead of the cursor
		older = f.mkUser(userSpec{created: base.Add(-time.Hour)})
		deletedAhead = want[20]
		for _, id := range []int64{want[2], deletedAhead} {
			if err := f.users.Delete(ctx, as(id), id); err != nil {
				t.Fatal(err)
			}
		}
	})
	var expected []int64
	for _, id := range want {
		if id != deletedAhead {
			expected = append(expected, id)
		}
	}
	expected = append(expected, older)
	if !slices.Equal(got, expected) {
		t.Fatalf("got %v, want %v", got, expected)
	}
}

func TestAdminListUsersFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	asha := f.mkUser(userSpec{username: "asha.rao", email: "asha.rao@example.com", first: "Asha", last: "Rao"})
	bala := f.mkUser(userSpec{username: "bala", email: "b@x.io", first: "Éloïse", last: "Ashford", role: "agent", inactive: true})
	chitra := f.mkUser(userSpec{username: "c.k", email: "ashwin@corp.io", first: "Chitra", last: "K", role: "operator"})
	zed := f.mkUser(userSpec{username: "zed", first: "Zed", last: "Zed"})
	gone := f.mkUser(userSpec{username: "ash.gone", email: "ash.gone@x.io"})
	if err := f.users.Delete(ctx, as(gone), gone); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		filter service.UserFilter
		want   []int64 // newest first
	}{
		{"all live", service.UserFilter{}, []int64{zed, chitra, bala, asha}},
		{"role", service.UserFilter{Role: ptr("user")}, []int64{zed, asha}},
		{"inactive", service.UserFilter{IsActive: ptr(false)}, []int64{bala}},
		{"active", service.UserFilter{IsActive: ptr(true)}, []int64{zed, chitra, asha}},
		{"role and active", service.UserFilter{Role: ptr("agent"), IsActive: ptr(true)}, nil},
		{"role and inactive", service.UserFilter{Role: ptr("agent"), IsActive: ptr(false)}, []int64{bala}},
		{"q any column", service.UserFilter{Q: ptr("ash")}, []int64{chitra, bala, asha}},
		{"q upper case", service.UserFilter{Q: ptr("  ASH ")}, []int64{chitra, bala, asha}},
		{"q email only", service.UserFilter{Q: ptr("ashw")}, []int64{chitra}},
		{"q username with dot", service.UserFilter{Q: ptr("asha.")}, []int64{asha}},
		{"q is not a pattern", service.UserFilter{Q: ptr("a%")}, nil},
		{"q non-ascii", service.UserFilter{Q: ptr("Él")}, []int64{bala}},
		{"q whole value", service.UserFilter{Q: ptr("zed")}, []int64{zed}},
		{"q blank is no filter", service.UserFilter{Q: ptr(" ")}, []int64{zed, chitra, bala, asha}},
		{"q and role", service.UserFilter{Q: ptr("ash"), Role: ptr("agent")}, []int64{bala}},
		{"q and active", service.UserFilter{Q: ptr("ash"), IsActive: ptr(true)}, []int64{chitra, asha}},
		{"q, role and active", service.UserFilter{Q: ptr("ash"), Role: ptr("operator"), IsActive: ptr(true)}, []int64{chitra}},
	}
	for _, c := range cases {
		res, err := f.admin.ListUsers(ctx, service.Console(), c.filter, service.PageRequest{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := ids(res.Items); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		if res.NextCursor != nil {
			t.Errorf("%s: got next cursor %q, want nil", c.name, *res.NextCursor)
		}
	}
	// A walk with a filter pages through exactly the filtered rows.
	if got := walk(t, f, service.UserFilter{Q: ptr("ash")}, 1, nil); !slices.Equal(got, []int64{chitra, bala, asha}) {
		t.Fatalf("walk q=ash: got %v, want %v", got, []int64{chitra, bala, asha})
	}
}

func TestAdminListUsersRefusesBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for range 3 {
		f.mkUser(userSpec{})
	}
	one := 1
	first, err := f.admin.ListUsers(ctx, service.Console(), service.UserFilter{Role: ptr("user")}, service.PageRequest{Limit: &one})
	if err != nil || first.NextCursor == nil {
		t.Fatalf("got %+v, %v; want a page with a next cursor", first, err)
	}
	cur := *first.NextCursor
	if _, err := f.admin.ListUsers(ctx, service.Console(), service.UserFilter{Role: ptr("user")}, service.PageRequest{Limit: &one, Cursor: cur}); err != nil {
		t.Fatalf("same filters: got %v, want nil", err)
	}
	cases := []struct {
		name   string
		filter service.UserFilter
		page   service.PageRequest
		code   service.Code
		field  string
	}{
		{"limit 0", service.UserFilter{}, service.PageRequest{Limit: ptr(0)}, service.CodeValidation, "limit"},
		{"limit 201", service.UserFilter{}, service.PageRequest{Limit: ptr(201)}, service.CodeValidation, "limit"},
		{"unknown role", service.UserFilter{Role: ptr("king")}, service.PageRequest{}, service.CodeValidation, "role"},
		{"control character", service.UserFilter{Q: ptr("a\x00")}, service.PageRequest{}, service.CodeValidation, "q"},
		{"last code point", service.UserFilter{Q: ptr("a\U0010FFFF")}, service.PageRequest{}, service.CodeValidation, "q"},
		{"other role", service.UserFilter{Role: ptr("agent")}, service.PageRequest{Cursor: cur}, service.CodeInvalidCursor, ""},
		{"no filter", service.UserFilter{}, service.PageRequest{Cursor: cur}, service.CodeInvalidCursor, ""},
		{"tampered", service.UserFilter{Role: ptr("user")}, service.PageRequest{Cursor: cur[:10] + flip(cur[10]) + cur[11:]}, service.CodeInvalidCursor, ""},
		{"garbage", service.UserFilter{}, service.PageRequest{Cursor: "not a cursor"}, service.CodeInvalidCursor, ""},
	}
	for _, c := range cases {
		_, err := f.admin.ListUsers(ctx, service.Console(), c.filter, c.page)
		e, ok := service.ErrorOf(err)
		if !ok || e.Code != c.code || (c.field != "" && (len(e.Fields) != 1 || e.Fields[0].Field != c.field)) {
			t.Errorf("%s: got %v, want %s on %q", c.name, err, c.code, c.field)
		}
	}
	// An audit cursor is not a directory cursor.
	for range 2 {
		f.exec("INSERT INTO audit_events (action) VALUES ('test.event')")
	}
	ap, err := f.admin.AuditEvents(ctx, service.Console(), service.AuditFilter{}, service.PageRequest{Limit: &one})
	if err != nil || ap.NextCursor == nil {
		t.Fatalf("audit: got %+v, %v; want a next cursor", ap, err)
	}
	_, err = f.admin.ListUsers(ctx, service.Console(), service.UserFilter{}, service.PageRequest{Cursor: *ap.NextCursor})
	wantCode(t, err, service.CodeInvalidCursor)
}

// flip changes one base64url character into another.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestAdminLookup(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := service.User{ID: 1 << 40, Role: "admin"}
	agent := service.User{ID: 1 << 41, Role: "agent"}
	exact := f.mkUser(userSpec{phone: "+919876543210", email: "priya@example.com"})
	// Stored with another country prefix than the one asked for.
	foreign := f.mkUser(userSpec{phone: "+19811111111"})
	f.mkUser(userSpec{phone: "+19822222222"})
	f.mkUser(userSpec{phone: "+449822222222"})
	inactive := f.mkUser(userSpec{email: "gone@example.com", inactive: true})
	deleted := f.mkUser(userSpec{email: "deleted@example.com", phone: "+919833333333"})
	if err := f.users.Delete(ctx, as(deleted), deleted); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		viewer service.User
		q      service.LookupQuery
		want   int64
		code   service.Code
	}{
		{"exact phone", agent, service.LookupQuery{Phone: ptr("+91 98765 43210")}, exact, ""},
		{"national phone", agent, service.LookupQuery{Phone: ptr("098765-43210")}, exact, ""},
		{"last ten digits", agent, service.LookupQuery{Phone: ptr("9811111111")}, foreign, ""},
		{"ambiguous", agent, service.LookupQuery{Phone: ptr("+91 98222 22222")}, 0, service.CodeAmbiguousPhone},
		{"unknown phone", agent, service.LookupQuery{Phone: ptr("+91 98444 44444")}, 0, service.CodeNotFound},
		{"deleted phone", admin, service.LookupQuery{Phone: ptr("+91 98333 33333")}, 0, service.CodeNotFound},
		{"bad phone", agent, service.LookupQuery{Phone: ptr("12")}, 0, service.CodeValidation},
		{"email any case", agent, service.LookupQuery{Email: ptr(" priya@EXAMPLE.com ")}, exact, ""},
		{"unknown email", agent, service.LookupQuery{Email: ptr("nobody@example.com")}, 0, service.CodeNotFound},
		{"deleted email", admin, service.LookupQuery{Email: ptr("deleted@example.com")}, 0, service.CodeNotFound},
		{"bad email", agent, service.LookupQuery{Email: ptr("nope")}, 0, service.CodeValidation},
		{"inactive to admin", admin, service.LookupQuery{Email: ptr("gone@example.com")}, inactive, ""},
		{"inactive to agent", agent, service.LookupQuery{Email: ptr("gone@example.com")}, 0, service.CodeNotFound},
		{"neither", agent, service.LookupQuery{}, 0, service.CodeValidation},
		{"both", agent, service.LookupQuery{Phone: ptr("9876543210"), Email: ptr("priya@example.com")}, 0, service.CodeValidation},
	}
	for _, c := range cases {
		u, err := f.admin.Lookup(ctx, asUser(c.viewer), c.q)
		if c.code != "" {
			if e, ok := service.ErrorOf(err); !ok || e.Code != c.code {
				t.Errorf("%s: got %v, want %s", c.name, err, c.code)
			}
			continue
		}
		if err != nil || u.ID != c.want {
			t.Errorf("%s: got user %d, %v; want %d", c.name, u.ID, err, c.want)
		}
	}
}

func TestAdminProfileVisibility(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	viewerID := f.mkUser(userSpec{username: "viewer"})
	viewer := service.User{ID: viewerID, Role: "user"}
	op := service.User{ID: f.mkUser(userSpec{role: "operator"}), Role: "operator"}
	adm := service.User{ID: f.mkUser(userSpec{role: "admin"}), Role: "admin"}
	other := f.mkUser(userSpec{username: "other"})
	inactive := f.mkUser(userSpec{inactive: true})
	blocker := f.mkUser(userSpec{})
	f.exec("INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)", blocker, viewerID)
	// The viewer blocking someone does not hide them from the viewer.
	blockedByViewer := f.mkUser(userSpec{})
	f.exec("INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)", viewerID, blockedByViewer)
	deleted := f.mkUser(userSpec{})
	if err := f.users.Delete(ctx, as(deleted), deleted); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		viewer      service.User
		id          int64
		wantPrivate bool
		code        service.Code
	}{
		{"other", viewer, other, false, ""},
		{"self", viewer, viewerID, true, ""},
		{"operator", op, other, false, ""},
		{"admin", adm, other, true, ""},
		{"inactive to admin", adm, inactive, true, ""},
		{"inactive", viewer, inactive, false, service.CodeNotFound},
		{"inactive to operator", op, inactive, false, ""},
		{"blocks the viewer", viewer, blocker, false, service.CodeNotFound},
		{"blocks the viewer, to operator", op, blocker, false, ""},
		{"blocked by the viewer", viewer, blockedByViewer, false, ""},
		{"deleted", viewer, deleted, false, service.CodeNotFound},
		{"deleted to operator", op, deleted, false, service.CodeNotFound},
		{"unknown", op, 1 << 50, false, service.CodeNotFound},
	}
	for _, c := range cases {
		p, err := f.admin.Profile(ctx, asUser(c.viewer), c.id)
		if c.code != "" {
			if e, ok := service.ErrorOf(err); !ok || e.Code != c.code {
				t.Errorf("%s: got %v, want %s", c.name, err, c.code)
			}
			continue
		}
		if err != nil || p.User.ID != c.id || p.Private != c.wantPrivate {
			t.Errorf("%s: got %d private=%v, %v; want %d private=%v", c.name, p.User.ID, p.Private, err, c.id, c.wantPrivate)
		}
	}
}

func TestAdminSetRole(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.mkUser(userSpec{role: "admin"})
	target := f.mkUser(userSpec{email: "t@example.com"})
	f.addSession(target)

	u, err := f.admin.SetRole(ctx, as(admin), target, "artist", ptr(int64(77)))
	if err != nil || u.Role != "artist" || u.ArtistID == nil || *u.ArtistID != 77 {
		t.Fatalf("to artist: got %+v, %v; want artist 77", u, err)
	}
	if n := f.count("SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_reason = 'role_changed'", target); n != 1 {
		t.Fatalf("got %d sessions revoked for role_changed, want 1", n)
	}
	u, err = f.admin.SetRole(ctx, as(admin), target, "operator", nil)
	if err != nil || u.Role != "operator" || u.ArtistID != nil {
		t.Fatalf("to operator: got %+v, %v; want operator without artist_id", u, err)
	}
	// The same role again changes nothing and audits nothing.
	if _, err := f.admin.SetRole(ctx, as(admin), target, "operator", nil); err != nil {
		t.Fatal(err)
	}
	var details []string
	rows, err := f.pool.Query(ctx, "SELECT details::text FROM audit_events WHERE action = 'admin.role_changed' AND actor_id = $1 AND target_user_id = $2 ORDER BY id", admin, target)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		details = append(details, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	wantDetails := []string{
		`{"after": {"role": "artist"}, "before": {"role": "user"}}`,
		`{"after": {"role": "operator"}, "before": {"role": "artist"}}`,
	}
	if !slices.Equal(details, wantDetails) {
		t.Fatalf("got audit details %q, want %q", details, wantDetails)
	}

	deleted := f.mkUser(userSpec{})
	if err := f.users.Delete(ctx, as(deleted), deleted); err != nil {
		t.Fatal(err)
	}
	plain := f.mkUser(userSpec{})
	cases := []struct {
		name          string
		actor, target int64
		role          service.Role
		artistID      *int64
		code          service.Code
		field         string
	}{
		{name: "unknown role", actor: admin, target: target, role: "king", code: service.CodeValidation, field: "role"},
		{name: "artist without id", actor: admin, target: target, role: "artist", code: service.CodeValidation, field: "artist_id"},
		{name: "artist_id for another role", actor: admin, target: target, role: "user", artistID: ptr(int64(1)), code: service.CodeValidation, field: "artist_id"},
		{name: "own role", actor: admin, target: admin, role: "user", code: service.CodeForbidden},
		{name: "last admin", actor: plain, target: admin, role: "user", code: service.CodeLastAdmin},
		{name: "actor not an admin", actor: plain, target: target, role: "user", code: service.CodeForbidden},
		{name: "deleted", actor: admin, target: deleted, role: "user", code: service.CodeNotFound},
		{name: "unknown", actor: admin, target: 1 << 50, role: "user", code: service.CodeNotFound},
	}
	for _, c := range cases {
		_, err := f.admin.SetRole(ctx, as(c.actor), c.target, c.role, c.artistID)
		e, ok := service.ErrorOf(err)
		if !ok || e.Code != c.code || (c.field != "" && (len(e.Fields) != 1 || e.Fields[0].Field != c.field)) {
			t.Errorf("%s: got %v, want %s %s", c.name, err, c.code, c.field)
		}
	}
}

func TestAdminDeactivate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := f.mkUser(userSpec{role: "admin"})
	target := f.mkUser(userSpec{})
	f.addSession(target)
	f.addSession(target)

	u, err := f.admin.SetActive(ctx, as(admin), target, false)
	if err != nil || u.IsActive {
		t.Fatalf("deactivate: got %+v, %v; want inactive", u, err)
	}
	if n := f.count("SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_reason = 'deactivated'", target); n != 2 {
		t.Fatalf("got %d sessions revoked for deactivated, want 2", n)
	}
	// Again: nothing changes, nothing more is audited.
	if _, err := f.admin.SetActive(ctx, as(admin), target, false); err != nil {
		t.Fatal(err)
	}
	u, err = f.admin.SetActive(ctx, as(admin), target, true)
	if err != nil || !u.IsActive {
		t.Fatalf("reactivate: got %+v, %v; want active", u, err)
	}
	var actions []string
	rows, err := f.pool.Query(ctx, "SELECT action FROM audit_events WHERE target_user_id = $1 ORDER BY id", target)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, a)
	}
	if want := []string{"admin.user_deactivated", "admin.user_reactivated"}; !slices.Equal(actions, want) {
		t.Fatalf("got audit actions %v, want %v", actions, want)
	}

	plain := f.mkUser(userSpec{})
	_, err = f.admin.SetActive(ctx, as(admin), admin, false)
	wantCode(t, err, service.CodeForbidden)
	_, err = f.admin.SetActive(ctx, as(plain), admin, false)
	wantCode(t, err, service.CodeLastAdmin)
	_, err = f.admin.SetActive(ctx, as(plain), target, false)
	wantCode(t, err, service.CodeForbidden)
	_, err = f.admin.SetActive(ctx, as(admin), 1<<50, true)
	wantCode(t, err, service.CodeNotFound)
	// With a second admin, one admin may deactivate the other.
	second := f.mkUser(userSpec{role: "admin"})
	if _, err := f.admin.SetActive(ctx, as(admin), second, false); err != nil {
		t.Fatalf("deactivate the second admin: got %v, want nil", err)
	}
}

// TestAdminDemoteEachOtherConcurrently runs two admins demoting (or
// deactivating) each other at the same moment, many times: exactly one
// admin must remain every time, and the loser gets last_admin.
func TestAdminDemoteEachOtherConcurrently(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.mkUser(userSpec{role: "admin"})
	b := f.mkUser(userSpec{role: "admin"})
	actions := map[string]func(actor, target int64) error{
		"demote": func(actor, target int64) error {
			_, err := f.admin.SetRole(ctx, as(actor), target, "user", nil)
			return err
		},
		"deactivate": func(actor, target int64) error {
			_, err := f.admin.SetActive(ctx, as(actor), target, false)
			return err
		},
	}
	const rounds = 30
	for round := range rounds {
		f.exec("UPDATE users SET role = 'admin', artist_id = NULL, is_active = true WHERE id = ANY($1)", []int64{a, b})
		first, second := actions["demote"], actions["demote"]
		switch round % 3 {
		case 1:
			first, second = actions["deactivate"], actions["deactivate"]
		case 2:
			second = actions["deactivate"]
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 2)
		for i, run := range []func() error{func() error { return first(a, b) }, func() error { return second(b, a) }} {
			wg.Go(func() {
				<-start
				errs[i] = run()
			})
		}
		close(start)
		wg.Wait()
		n := f.count("SELECT count(*) FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL")
		if n != 1 {
			t.Fatalf("round %d: got %d active admins (errors %v), want 1", round, n, errs)
		}
		var ok, lastAdmin int
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, service.ErrLastAdmin):
				lastAdmin++
			default:
				t.Fatalf("round %d: got error %v, want nil or last_admin", round, err)
			}
		}
		if ok != 1 || lastAdmin != 1 {
			t.Fatalf("round %d: got %d successes and %d last_admin, want 1 and 1", round, ok, lastAdmin)
		}
	}
}

func TestAdminAuditEventsPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	// 7 events, three sharing one timestamp.
	f.exec(`INSERT INTO audit_events (action, created_at)
		SELECT 'test.event', CASE WHEN g <= 3 THEN timestamptz '2026-01-01' ELSE timestamptz '2026-01-01' + g * interval '1 second' END
		FROM generate_series(1, 7) g`)
	var want []int64
	rows, err := f.pool.Query(ctx, "SELECT id FROM audit_events ORDER BY created_at DESC, id DESC")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	var got []int64
	three := 3
	req := service.PageRequest{Limit: &three}
	for {
		p, err := f.admin.AuditEvents(ctx, service.Console(), service.AuditFilter{}, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Items {
			got = append(got, e.ID)
		}
		if p.NextCursor == nil {
			break
		}
		req.Cursor = *p.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	_, err = f.admin.AuditEvents(ctx, service.Console(), service.AuditFilter{}, service.PageRequest{Limit: ptr(500)})
	wantCode(t, err, service.CodeValidation)
	_, err = f.admin.AuditEvents(ctx, service.Console(), service.AuditFilter{}, service.PageRequest{Cursor: "AAAA"})
	wantCode(t, err, service.CodeInvalidCursor)
}

func TestNewAdminRefusesShortKey(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("got no panic for a 15-byte key, want one")
		}
	}()
	service.NewAdmin(nil, "IN", make([]byte, 15))
}

// sqlRecorder is a pgx tracer that keeps the SQL text and arguments of
// every query, so a test can EXPLAIN exactly what sqlc generated.
type sqlRecorder struct {
	mu      sync.Mutex
	queries []recordedQuery
}

type recordedQuery struct {
	sql  string
	args []any
}

func (r *sqlRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queries = append(r.queries, recordedQuery{sql: d.SQL, args: d.Args})
	return ctx
}

func (r *sqlRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// take returns the sqlc queries recorded since the last take.
func (r *sqlRecorder) take() []recordedQuery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recordedQuery
	for _, q := range r.queries {
		if strings.HasPrefix(q.sql, "-- name: ") {
			out = append(out, q)
		}
	}
	r.queries = nil
	return out
}

// sqlLiteral renders a query argument as an SQL literal for EXECUTE.
func sqlLiteral(t *testing.T, a any) string {
	t.Helper()
	v := reflect.ValueOf(a)
	if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return "NULL"
	}
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	switch x := v.Interface().(type) {
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case bool:
		return strconv.FormatBool(x)
	case int32, int64, int:
		return fmt.Sprint(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []byte:
		return "'\\x" + hex.EncodeToString(x) + "'::bytea"
	case time.Time:
		return "'" + x.Format(time.RFC3339Nano) + "'"
	}
	t.Fatalf("no literal for %T", a)
	return ""
}

// planScans collects the tables a JSON plan reads with a sequential scan
// (seq) and the indexes it uses (idx).
func planScans(node any, seq, idx map[string]bool) {
	switch n := node.(type) {
	case []any:
		for _, c := range n {
			planScans(c, seq, idx)
		}
	case map[string]any:
		if n["Node Type"] == "Seq Scan" {
			seq[fmt.Sprint(n["Relation Name"])] = true
		}
		if name, ok := n["Index Name"].(string); ok {
			idx[name] = true
		}
		for _, c := range n {
			planScans(c, seq, idx)
		}
	}
}

// TestDirectoryQueriesUseIndexes loads 60,000 users and 50,000 audit
// events, then EXPLAINs every directory, lookup and audit query exactly as
// sqlc generated it, with the arguments the service sent, as both a
// generic plan (what a cached pgx prepared statement may run) and a custom
// plan. None may read users or audit_events with a sequential scan.
func TestDirectoryQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := &sqlRecorder{}
	cfg.ConnConfig.Tracer = rec
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	f := fixtureOn(t, pool)
	f.exec(`INSERT INTO users (username, email, phone, first_name, last_name, role, is_active, created_at, updated_at)
		SELECT 'user' || g, 'mail' || g || '@example.com', '+9198' || lpad(g::text, 8, '0'),
			(ARRAY['Asha', 'Bala', 'Chitra', 'Dev', 'Esha', 'Farah', 'Gopal', 'Hari'])[1 + g % 8] || (g % 100),
			(ARRAY['Rao', 'Iyer', 'Khan', 'Singh', 'Das', 'Menon'])[1 + g % 6],
			CASE WHEN g % 1000 = 0 THEN 'admin' WHEN g % 50 = 0 THEN 'agent' WHEN g % 97 = 0 THEN 'operator' ELSE 'user' END,
			g % 20 <> 0, now() - g * interval '1 minute', now()
		FROM generate_series(1, 60000) g`)
	f.exec(`UPDATE users SET deleted_at = now(), is_active = false, email = NULL, phone = NULL WHERE id % 100 = 7`)
	f.exec(`INSERT INTO audit_events (actor_id, target_user_id, action, created_at)
		SELECT 1 + g % 60000, 1 + (g * 7) % 60000,
			CASE WHEN g % 500 = 0 THEN 'admin.role_changed' ELSE 'test.event' END, now() - g * interval '1 second'
		FROM generate_series(1, 50000) g`)
	f.exec("ANALYZE users")
	f.exec("ANALYZE audit_events")
	rec.take()

	viewer := service.User{ID: 1, Role: "admin"}
	two := 2
	type call struct {
		name string
		run  func() error
	}
	list := func(filter service.UserFilter) func() error {
		return func() error {
			p, err := f.admin.ListUsers(ctx, service.Console(), filter, service.PageRequest{Limit: &two})
			if err != nil || p.NextCursor == nil {
				return fmt.Errorf("first page: %+v, %w", p, err)
			}
			_, err = f.admin.ListUsers(ctx, service.Console(), filter, service.PageRequest{Limit: &two, Cursor: *p.NextCursor})
			return err
		}
	}
	lookup := func(lq service.LookupQuery) func() error {
		return func() error {
			_, err := f.admin.Lookup(ctx, asUser(viewer), lq)
			if errors.Is(err, service.ErrNotFound) {
				return nil // the last-ten-digits path is taken and finds nobody
			}
			return err
		}
	}
	audit := func(filter service.AuditFilter) func() error {
		return func() error {
			p, err := f.admin.AuditEvents(ctx, service.Console(), filter, service.PageRequest{Limit: &two})
			if err != nil || len(p.Items) == 0 {
				return fmt.Errorf("first page: %+v, %w", p, err)
			}
			if p.NextCursor != nil {
				_, err = f.admin.AuditEvents(ctx, service.Console(), filter, service.PageRequest{Limit: &two, Cursor: *p.NextCursor})
			}
			return err
		}
	}
	hourAgo := time.Now().Add(-time.Hour)
	calls := []call{
		{"list", list(service.UserFilter{})},
		{"list role=user", list(service.UserFilter{Role: ptr("user")})},
		{"list role=admin", list(service.UserFilter{Role: ptr("admin")})},
		{"list active", list(service.UserFilter{IsActive: ptr(true)})},
		{"list inactive", list(service.UserFilter{IsActive: ptr(false)})},
		{"list role=agent inactive", list(service.UserFilter{Role: ptr("agent"), IsActive: ptr(false)})},
		{"list role=user active", list(service.UserFilter{Role: ptr("user"), IsActive: ptr(true)})},
		{"search q=a", list(service.UserFilter{Q: ptr("a")})},
		{"search q=zzz (no match)", func() error {
			p, err := f.admin.ListUsers(ctx, service.Console(), service.UserFilter{Q: ptr("zzz")}, service.PageRequest{})
			if err == nil && len(p.Items) != 0 {
				err = fmt.Errorf("got %d users, want none", len(p.Items))
			}
			return err
		}},
		{"search q=asha1", list(service.UserFilter{Q: ptr("asha1")})},
		{"search q=mail12", list(service.UserFilter{Q: ptr("mail12")})},
		{"search q=user4 role", list(service.UserFilter{Q: ptr("user4"), Role: ptr("user")})},
		{"search q=khan inactive", list(service.UserFilter{Q: ptr("khan"), IsActive: ptr(false)})},
		{"search q=dev role active", list(service.UserFilter{Q: ptr("dev"), Role: ptr("user"), IsActive: ptr(true)})},
		{"lookup exact phone", lookup(service.LookupQuery{Phone: ptr("+919800012345")})},
		{"lookup last ten digits", lookup(service.LookupQuery{Phone: ptr("+14155550100")})},
		{"lookup email", lookup(service.LookupQuery{Email: ptr("MAIL4242@example.com")})},
		{"profile", func() error { _, err := f.admin.Profile(ctx, asUser(viewer), 4242); return err }},
		{"audit", func() error {
			p, err := f.admin.AuditEvents(ctx, service.Console(), service.AuditFilter{}, service.PageRequest{Limit: &two})
			if err != nil || p.NextCursor == nil {
				return fmt.Errorf("first page: %+v, %w", p, err)
			}
			_, err = f.admin.AuditEvents(ctx, service.Console(), service.AuditFilter{}, service.PageRequest{Limit: &two, Cursor: *p.NextCursor})
			return err
		}},
		{"audit actor", audit(service.AuditFilter{ActorID: ptr(int64(4243))})},
		{"audit target", audit(service.AuditFilter{TargetUserID: ptr(int64(4243))})},
		{"audit action", audit(service.AuditFilter{Action: ptr("admin.role_changed")})},
		{"audit since", audit(service.AuditFilter{Since: &hourAgo})},
		{"audit actor action since", audit(service.AuditFilter{ActorID: ptr(int64(501)), Action: ptr("admin.role_changed"), Since: ptr(time.Time{})})},
		{"audit target action", audit(service.AuditFilter{TargetUserID: ptr(int64(3501)), Action: ptr("admin.role_changed")})},
	}
	conn, err := pgx.Connect(ctx, cfg.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	explained := map[string]bool{}
	used := map[string]map[string]bool{} // call and plan mode → indexes of its last query
	for _, c := range calls {
		if err := c.run(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		qs := rec.take()
		if len(qs) == 0 {
			t.Fatalf("%s: recorded no query", c.name)
		}
		for i, q := range qs {
			name := strings.Fields(q.sql)[2]
			if name == "UserSearchForceCustomPlan" {
				continue
			}
			explained[name] = true
			lits := make([]string, len(q.args))
			for j, a := range q.args {
				lits[j] = sqlLiteral(t, a)
			}
			stmt := fmt.Sprintf("q%d", i)
			execute := stmt
			if len(lits) > 0 {
				execute += "(" + strings.Join(lits, ", ") + ")"
			}
			if _, err := conn.Exec(ctx, "PREPARE "+stmt+" AS "+q.sql); err != nil {
				t.Fatalf("%s: prepare %s: %v", c.name, name, err)
			}
			for _, mode := range []string{"force_generic_plan", "force_custom_plan"} {
				if _, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode); err != nil {
					t.Fatal(err)
				}
				var plan []any
				if err := conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) EXECUTE "+execute).Scan(&plan); err != nil {
					t.Fatalf("%s: explain %s: %v", c.name, name, err)
				}
				seq, idx := map[string]bool{}, map[string]bool{}
				planScans(plan, seq, idx)
				if seq["users"] || seq["audit_events"] {
					t.Errorf("%s: %s (%s) got a Seq Scan on %v, want index scans only; plan: %v", c.name, name, mode, seq, plan)
				}
				t.Logf("%s: %s (%s): indexes %v", c.name, name, mode, slices.Sorted(maps.Keys(idx)))
				used[c.name+" "+mode] = idx
			}
			if _, err := conn.Exec(ctx, "DEALLOCATE "+stmt); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The plans this design is for: a rare prefix reads the prefix indexes
	// (UserSearch runs with custom plans), the rare inactive users and the
	// phone suffix their own indexes whatever the plan.
	for key, index := range map[string]string{
		"search q=zzz (no match) force_custom_plan":   "users_username_prefix_idx",
		"list inactive force_generic_plan":            "users_active_created_at_idx",
		"list inactive force_custom_plan":             "users_active_created_at_idx",
		"lookup last ten digits force_generic_plan":   "users_phone_last10_idx",
		"lookup last ten digits force_custom_plan":    "users_phone_last10_idx",
		"list role=agent inactive force_generic_plan": "users_role_active_created_at_idx",
		"audit actor force_generic_plan":              "audit_events_actor_created_at_idx",
		"audit actor force_custom_plan":               "audit_events_actor_created_at_idx",
		"audit target force_generic_plan":             "audit_events_target_created_at_idx",
		"audit target force_custom_plan":              "audit_events_target_created_at_idx",
		"audit action force_generic_plan":             "audit_events_action_created_at_idx",
		"audit action force_custom_plan":              "audit_events_action_created_at_idx",
		"audit actor action since force_generic_plan": "audit_events_actor_created_at_idx",
		"audit target action force_generic_plan":      "audit_events_target_created_at_idx",
	} {
		if !used[key][index] {
			t.Errorf("%s: got indexes %v, want %s among them", key, slices.Sorted(maps.Keys(used[key])), index)
		}
	}
	for _, name := range []string{"UserList", "UserListByRole", "UserListActive", "UserListInactive", "UserListByRoleActive", "UserSearch",
		"UserGetByPhone", "UserListByPhoneLast10", "UserGetByEmail", "UserGetProfile", "AuditList"} {
		if !explained[name] {
			t.Errorf("query %s was never explained", name)
		}
	}
}

// Deleting someone else needs the actor to be an active admin when the
// delete takes its locks, not only when the route let the request in.
func TestDeleteChecksTheActorUnderLock(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.mkUser(userSpec{role: "admin"})
	demoted := f.mkUser(userSpec{role: "user"})
	target := f.mkUser(userSpec{email: "target@example.com"})
	if err := f.users.Delete(ctx, as(demoted), target); !errors.Is(err, service.ErrForbidden) {
		t.Fatalf("delete by a non-admin: got %v, want forbidden", err)
	}
	var deleted bool
	if err := f.pool.QueryRow(ctx, "SELECT deleted_at IS NOT NULL FROM users WHERE id = $1", target).Scan(&deleted); err != nil {
		t.Fatal(err)
	}
	if deleted {
		t.Fatal("got the target deleted by a non-admin, want it untouched")
	}
	if err := f.users.Delete(ctx, as(demoted), demoted); err != nil {
		t.Fatalf("self delete: got %v, want nil", err)
	}
}

// An admin may not change their own role or deactivate themself even when
// another admin would remain: the rule is about the actor, not the count.
func TestAdminCannotDemoteThemselfBesideAnotherAdmin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.mkUser(userSpec{role: "admin"})
	b := f.mkUser(userSpec{role: "admin"})
	_, err := f.admin.SetRole(ctx, as(a), a, "user", nil)
	wantCode(t, err, service.CodeForbidden)
	_, err = f.admin.SetActive(ctx, as(a), a, false)
	wantCode(t, err, service.CodeForbidden)
	if n := f.count("SELECT count(*) FROM users WHERE id = ANY($1) AND role = 'admin' AND is_active", []int64{a, b}); n != 2 {
		t.Fatalf("got %d active admins after refused self-changes, want 2", n)
	}
	if n := f.count("SELECT count(*) FROM audit_events WHERE actor_id = $1", a); n != 0 {
		t.Fatalf("got %d audit events for refused self-changes, want 0", n)
	}
	// The other admin may do it.
	if u, err := f.admin.SetRole(ctx, as(b), a, "user", nil); err != nil || u.Role != "user" {
		t.Fatalf("demoted by the other admin: got %+v, %v; want role user", u, err)
	}
}
