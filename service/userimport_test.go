package service_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
)

// importFile is a file of good and bad lines; importWant says what each
// line comes to.
func importFile(t *testing.T) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("bcrypt password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join([]string{
		/* 1 */ `{"email":"Ann@Example.com","username":"Ann","first_name":" Ann ","password_hash":"` + string(h) + `","email_verified":true,"created_at":"2019-05-01T10:00:00Z"}`,
		/* 2 */ `{"phone":"098765 43210","password_hash":"pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=","country":"in"}`,
		/* 3 */ `{"email":"bob@example.com","identities":[{"provider":"google","subject":"g-1"},{"provider":"github","subject":"42"}],"role":"agent","preferences":{"theme":"dark"},"location":{"latitude":12.5,"longitude":77.25}}`,
		/* 4 */ `{"email":"not an address","username":"carol"}`,
		/* 5 */ `{"email":"dave@example.com","phone":"12"}`,
		/* 6 */ `{"email":"erin@example.com","password":"plain"}`,
		/* 7 */ `{"email":"frank@example.com","password_hash":"$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0"}`,
		/* 8 */ `{"email":"gina@example.com",`,
		/* 9 */ `{"email":"hal@example.com","role":"king"}`,
		/* 10 */ `{"email":"ivy@example.com","role":"artist"}`,
		/* 11 */ `{"email":"ann@example.com","first_name":"Other Ann"}`,
		/* 12 */ ``,
		/* 13 */ `{"email":"jan@example.com","username":"ann"}`,
		/* 14 */ `{"identities":[{"provider":"google","subject":"g-1"}]}`,
		/* 15 */ `{"email":"kim@example.com","date_of_birth":"1850-01-01"}`,
		/* 16 */ `{"username":"lee","artist_id":7,"role":"artist","is_active":false,"organization":"Acme"}`,
		/* 17 */ `{"first_name":"Nobody"}`,
		/* 18 */ `{"email":"mo@example.com","created_at":"2999-01-01T00:00:00Z"}`,
		/* 19 */ `{"email":"ned@example.com","phone_verified":true}`,
		/* 20 */ `{"email":"ola@example.com","identities":[{"provider":"Google","subject":"x"}]}`,
	}, "\n") + "\n"
}

var importWantProblems = []string{
	"line 4: email: must be an email address",
	"line 5: phone: must be a valid phone number",
	"line 6: password: is not a field of the import format",
	"line 7: password_hash: is not a bcrypt ($2a$, $2b$, $2y$), Django pbkdf2_sha256 or pbkdf2_sha1, or argon2id or argon2i hash",
	"line 8: json: unexpected EOF",
	"line 9: role: must be one of user, owner, agent, broker, artist, assistant, operator, admin",
	"line 10: artist_id: is required with the role artist, and only with it",
	"line 13: username: is taken",
	"line 15: date_of_birth: must be between 1900-01-01 and today",
	"line 17: email: one of email, username, phone and identities is required",
	"line 18: created_at: must be between 1970 and now",
	"line 19: phone_verified: needs a phone",
	"line 20: identities[0].provider: must be 2 to 32 characters of a-z, 0-9, '_' and '-', starting with a letter",
}

func problems(r service.ImportResult) []string {
	out := make([]string, len(r.Problems))
	for i, p := range r.Problems {
		out[i] = p.String()
	}
	return out
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// TestImportValidatesSkipsAndIsIdempotent imports a file of good and bad
// lines in batches of two: the good lines are stored normalized as the
// API stores them, with their hashes and identities; each bad line is
// reported as "line N: field: reason" and leaves nothing behind; a line
// naming a user an earlier line made (email, identity) is skipped.
// Importing the same file again imports nothing and changes nothing.
func TestImportValidatesSkipsAndIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	im := service.NewImporter(service.NewDB(pool), "IN")
	file := importFile(t)
	res, err := im.Import(ctx, strings.NewReader(file), service.ImportOptions{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 4 || res.Skipped != 2 || res.Rejected != len(importWantProblems) || res.Updated != 0 {
		t.Errorf("counts: got %+v, want 4 imported, 2 skipped, %d rejected", res, len(importWantProblems))
	}
	if got := strings.Join(problems(res), "\n"); got != strings.Join(importWantProblems, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", got, strings.Join(importWantProblems, "\n"))
	}
	if n := count(t, pool, `SELECT count(*) FROM users`); n != 4 {
		t.Errorf("users: got %d rows, want 4 (nothing of a bad line)", n)
	}
	var email, username, first string
	var verified bool
	var created string
	err = pool.QueryRow(ctx, `SELECT email, username, first_name, email_verified, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
		FROM users WHERE lower(email) = 'ann@example.com'`).Scan(&email, &username, &first, &verified, &created)
	if err != nil || email != "ann@example.com" || username != "ann" || first != "Ann" || !verified || created != "2019-05-01 10:00" {
		t.Errorf("line 1: got %q %q %q verified=%v created %s (%v), want it normalized as the API does, created_at kept", email, username, first, verified, created, err)
	}
	if n := count(t, pool, `SELECT count(*) FROM users u JOIN password_credentials c ON c.user_id = u.id
		WHERE u.phone = '+919876543210' AND u.country = 'IN' AND c.hash LIKE 'pbkdf2_sha256$%'`); n != 1 {
		t.Errorf("line 2: want the phone in E.164, the country upper-cased and the Django hash stored")
	}
	if n := count(t, pool, `SELECT count(*) FROM users u JOIN user_identities i ON i.user_id = u.id
		WHERE u.email = 'bob@example.com' AND u.role = 'agent' AND u.preferences = '{"theme":"dark"}'
		AND u.current_latitude = 12.5 AND u.current_longitude = 77.25`); n != 2 {
		t.Errorf("line 3: got %d identities with role, preferences and location, want 2", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM users u JOIN organizations o ON o.id = u.organization_id
		WHERE u.username = 'lee' AND u.artist_id = 7 AND NOT u.is_active AND o.name = 'Acme' AND o.plan = 'free'`); n != 1 {
		t.Errorf("line 16: want an inactive artist, member of the organization Acme created on the free plan")
	}
	if n := count(t, pool, `SELECT count(*) FROM follow_stats`); n != 4 {
		t.Errorf("follow_stats: got %d rows, want one per imported user (the insert trigger ran)", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM import_staging`); n != 0 {
		t.Errorf("import_staging keeps %d rows after the import, want 0", n)
	}

	again, err := im.Import(ctx, strings.NewReader(file), service.ImportOptions{BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if again.Imported != 0 || again.Skipped != 6 || again.Rejected != len(importWantProblems) {
		t.Errorf("second import: got %+v, want 0 imported, 6 skipped, the same rejects", again)
	}
	if n := count(t, pool, `SELECT count(*) FROM users`); n != 4 {
		t.Errorf("after the second import: %d users, want 4", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM organizations`); n != 1 {
		t.Errorf("after the second import: %d organizations, want 1", n)
	}
}

// TestImportUpdateMerges merges lines into the users their email, phone
// or identity names: given fields replace, absent ones stay, the hash is
// replaced and new identities linked; role and is_active stay. A line
// naming two different users is rejected.
func TestImportUpdateMerges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	im := service.NewImporter(service.NewDB(pool), "IN")
	first := `{"email":"ann@example.com","first_name":"Ann","last_name":"Lee","role":"agent"}
{"phone":"+919876543210","username":"pat"}
`
	if _, err := im.Import(ctx, strings.NewReader(first), service.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	update := `{"email":"ANN@example.com","first_name":"Anna","role":"admin","is_active":false,"password_hash":"pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=","identities":[{"provider":"google","subject":"g-9"}]}
{"email":"new@example.com"}
{"email":"ann@example.com","phone":"+919876543210"}
`
	res, err := im.Import(ctx, strings.NewReader(update), service.ImportOptions{Update: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Updated != 1 || res.Imported != 1 || res.Rejected != 1 {
		t.Fatalf("got %+v, want 1 updated, 1 imported, 1 rejected", res)
	}
	if got, want := problems(res)[0], "line 3: phone: belongs to another existing user than the email"; got != want {
		t.Errorf("problem: got %q, want %q", got, want)
	}
	var firstName, lastName, role string
	var active bool
	err = pool.QueryRow(ctx, `SELECT first_name, last_name, role, is_active FROM users WHERE lower(email) = 'ann@example.com'`).Scan(&firstName, &lastName, &role, &active)
	if err != nil || firstName != "Anna" || lastName != "Lee" || role != "agent" || !active {
		t.Errorf("merged: got %s %s %s active=%v (%v), want Anna Lee agent active", firstName, lastName, role, active, err)
	}
	if n := count(t, pool, `SELECT count(*) FROM users u JOIN password_credentials c ON c.user_id = u.id
		JOIN user_identities i ON i.user_id = u.id WHERE lower(u.email) = 'ann@example.com' AND c.hash LIKE 'pbkdf2%' AND i.subject = 'g-9'`); n != 1 {
		t.Errorf("merged: want the hash set and the identity linked")
	}

	// Moved to another organization by a merge, the admin of one is no
	// longer an admin of anything.
	db := service.NewDB(pool)
	patID := int64(count(t, pool, `SELECT id FROM users WHERE username = 'pat'`))
	if _, err := service.NewOrgs(db, "http://userd.test", make([]byte, 32)).Create(ctx, as(patID), "Pat's"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM user_permission_groups WHERE user_id = $1`, patID); n == 0 {
		t.Fatal("the creator of an organization has no group")
	}
	move := `{"username":"pat","organization":"Elsewhere"}`
	if res, err := im.Import(ctx, strings.NewReader(move), service.ImportOptions{Update: true}); err != nil || res.Updated != 1 {
		t.Fatalf("move: %+v %v", res, err)
	}
	if n := count(t, pool, `SELECT count(*) FROM user_permission_groups WHERE user_id = $1`, patID); n != 0 {
		t.Errorf("after moving to another organization: %d groups left, want none", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM users u JOIN organizations o ON o.id = u.organization_id WHERE u.id = $1 AND o.name = 'Elsewhere'`, patID); n != 1 {
		t.Error("the merge did not move the user")
	}
}

// TestImportSeatLimit: lines beyond an organization's seats are rejected
// in line order, the others imported; raising the plan and importing the
// file again brings the rest in.
func TestImportSeatLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	im := service.NewImporter(service.NewDB(pool), "IN")
	var file bytes.Buffer
	for i := range 5 {
		file.WriteString(`{"username":"member_` + string(rune('a'+i)) + `","organization":"Small Co"}` + "\n")
	}
	res, err := im.Import(ctx, bytes.NewReader(file.Bytes()), service.ImportOptions{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`line 4: organization: no seat left on its plan "free"`, `line 5: organization: no seat left on its plan "free"`}
	if res.Imported != 3 || strings.Join(problems(res), "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %+v, want 3 imported and lines 4 and 5 rejected for seats", res)
	}
	if _, err := pool.Exec(ctx, `UPDATE organizations SET plan = 'team' WHERE name = 'Small Co'`); err != nil {
		t.Fatal(err)
	}
	res, err = im.Import(ctx, bytes.NewReader(file.Bytes()), service.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 2 || res.Skipped != 3 || res.Rejected != 0 {
		t.Fatalf("after raising the plan: got %+v, want 2 imported, 3 skipped", res)
	}
	if n := count(t, pool, `SELECT count(*) FROM users u JOIN organizations o ON o.id = u.organization_id WHERE o.name = 'Small Co'`); n != 5 {
		t.Errorf("members: got %d, want 5", n)
	}
}

// TestImportedUserLogsIn signs in as a user imported with a bcrypt hash:
// the hash verifies and is replaced by argon2id.
func TestImportedUserLogsIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	db := service.NewDB(pool)
	h, err := bcrypt.GenerateFromPassword([]byte("from the old app"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	line := `{"email":"old@example.com","password_hash":"` + string(h) + `"}`
	if res, err := service.NewImporter(db, "IN").Import(ctx, strings.NewReader(line), service.ImportOptions{}); err != nil || res.Imported != 1 {
		t.Fatalf("import: %+v %v", res, err)
	}
	if _, err := newAccounts(t, db, cheapParams).Login(ctx, "old@example.com", "from the old app", service.Client{}); err != nil {
		t.Fatalf("login: %v", err)
	}
	if n := count(t, pool, `SELECT count(*) FROM password_credentials WHERE hash LIKE '$argon2id$%'`); n != 1 {
		t.Error("after the first login the stored hash is not argon2id")
	}
}

// TestExportRoundTrip exports users of every shape, imports the export
// into an empty database and exports again: the same bytes. No secret is
// in the export.
func TestExportRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := service.NewImporter(service.NewDB(pgtest.NewPool(t)), "IN")
	file := `{"email":"Ann@Example.com","username":"ann","first_name":"Ann","last_name":"Lee","bio":"hi","date_of_birth":"1990-02-03","instagram_handle":"ann.l","country":"IN","city":"Pune","zipcode":"411001","role":"agent","is_verified":true,"email_verified":true,"preferences":{"a":[1,{"b":null}],"theme":"dark"},"location":{"latitude":18.52,"longitude":73.85},"created_at":"2020-01-02T03:04:05.123456Z","password_hash":"pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=","identities":[{"provider":"google","subject":"g-1"},{"provider":"apple","subject":"a.1"}],"organization":"Acme"}
{"phone":"+14155550123","phone_verified":true,"role":"artist","artist_id":99,"is_active":false,"organization":"Acme"}
{"identities":[{"provider":"supabase","subject":"0b6e-uuid"}]}
{"username":"zed"}
`
	if res, err := src.Import(ctx, strings.NewReader(file), service.ImportOptions{OrgPlan: "team"}); err != nil || res.Imported != 4 {
		t.Fatalf("import: %+v %v", res, err)
	}
	var first bytes.Buffer
	if n, err := src.Export(ctx, &first); err != nil || n != 4 {
		t.Fatalf("export: %d %v", n, err)
	}
	if strings.Contains(first.String(), "pbkdf2") || strings.Contains(first.String(), "password") {
		t.Errorf("the export holds a password hash:\n%s", first.String())
	}
	dst := service.NewImporter(service.NewDB(pgtest.NewPool(t)), "IN")
	if res, err := dst.Import(ctx, bytes.NewReader(first.Bytes()), service.ImportOptions{OrgPlan: "team"}); err != nil || res.Imported != 4 || res.Rejected != 0 {
		t.Fatalf("import of the export: %+v %v", res, err)
	}
	var second bytes.Buffer
	if _, err := dst.Export(ctx, &second); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Errorf("export → import → export differs:\n%s\nthen:\n%s", first.String(), second.String())
	}
	if !strings.Contains(first.String(), `"created_at":"2020-01-02T03:04:05.123456Z"`) || !strings.Contains(first.String(), `"organization":"Acme"`) {
		t.Errorf("the export lacks created_at or the organization:\n%s", first.String())
	}
}

// TestExportLeavesOutDeletedUsers: a deleted account is not exported (it
// would be a near-empty line that an import rejects), and the export of
// the others imports cleanly.
func TestExportLeavesOutDeletedUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	db := service.NewDB(pool)
	src := service.NewImporter(db, "IN")
	file := `{"email":"keep@example.com","username":"keep","first_name":"Keep"}
{"email":"gone@example.com","username":"gone","first_name":"Gone","phone":"+14155550123"}
`
	if res, err := src.Import(ctx, strings.NewReader(file), service.ImportOptions{}); err != nil || res.Imported != 2 {
		t.Fatalf("import: %+v %v", res, err)
	}
	var gone int64
	if err := pool.QueryRow(ctx, `SELECT id FROM users WHERE username = 'gone'`).Scan(&gone); err != nil {
		t.Fatal(err)
	}
	if err := service.NewUsers(db, "IN", "").Delete(ctx, as(gone), gone); err != nil {
		t.Fatalf("delete: %v", err)
	}
	var out bytes.Buffer
	if n, err := src.Export(ctx, &out); err != nil || n != 1 {
		t.Fatalf("export: got %d lines (%v), want 1:\n%s", n, err, out.String())
	}
	if !strings.Contains(out.String(), `"email":"keep@example.com"`) || strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("export: got\n%s\nwant the one live user", out.String())
	}
	dst := service.NewImporter(service.NewDB(pgtest.NewPool(t)), "IN")
	if res, err := dst.Import(ctx, bytes.NewReader(out.Bytes()), service.ImportOptions{}); err != nil || res.Imported != 1 || res.Rejected != 0 {
		t.Fatalf("import of the export: got %+v (%v), want 1 imported, none rejected", res, err)
	}
}

// TestImportUpdateMemberTakesNoSeat: an update of someone already in the
// organization the line names takes no seat, so it is not refused on a
// full plan; a newcomer still is.
func TestImportUpdateMemberTakesNoSeat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	im := service.NewImporter(service.NewDB(pool), "IN")
	full := `{"email":"a@example.com","organization":"Small Co"}
{"email":"b@example.com","organization":"Small Co"}
{"email":"c@example.com","organization":"Small Co"}
`
	if res, err := im.Import(ctx, strings.NewReader(full), service.ImportOptions{}); err != nil || res.Imported != 3 {
		t.Fatalf("import: %+v %v", res, err)
	}
	update := `{"email":"a@example.com","first_name":"Ann","organization":"Small Co"}
{"email":"d@example.com","organization":"Small Co"}
`
	res, err := im.Import(ctx, strings.NewReader(update), service.ImportOptions{Update: true})
	if err != nil {
		t.Fatal(err)
	}
	want := `line 2: organization: no seat left on its plan "free"`
	if res.Updated != 1 || res.Imported != 0 || strings.Join(problems(res), "\n") != want {
		t.Fatalf("update of a member: got %+v, want 1 updated and line 2 refused for seats", res)
	}
	if n := count(t, pool, `SELECT count(*) FROM users u JOIN organizations o ON o.id = u.organization_id
		WHERE o.name = 'Small Co' AND u.first_name = 'Ann'`); n != 1 {
		t.Errorf("the update did not land: %d members named Ann, want 1", n)
	}
}

// mkOrg makes a user who creates organization name through the API; it
// returns the organization's id.
func mkOrg(t *testing.T, pool *pgxpool.Pool, owner, name string) int64 {
	t.Helper()
	ctx := context.Background()
	var uid int64
	if err := pool.QueryRow(ctx, `INSERT INTO users (email) VALUES ($1) RETURNING id`, owner).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	o, err := service.NewOrgs(service.NewDB(pool), "https://userd.test/", bytes.Repeat([]byte("k"), 32)).Create(ctx, as(uid), name)
	if err != nil {
		t.Fatalf("create %q: %v", name, err)
	}
	return o.ID
}

// TestImportNeverJoinsAnAPIOrganizationByName: an organization someone
// created through the API is not where an import's line naming it puts
// its user (its admin would manage them): the import creates its own,
// recorded as created by import, and a later import finds that one again.
func TestImportNeverJoinsAnAPIOrganizationByName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	im := service.NewImporter(service.NewDB(pool), "IN")
	theirs := mkOrg(t, pool, "boss@example.com", "Globex Corporation")
	for _, email := range []string{"op1@example.com", "op2@example.com"} {
		line := `{"email":"` + email + `","role":"operator","organization":"Globex Corporation"}` + "\n"
		if res, err := im.Import(ctx, strings.NewReader(line), service.ImportOptions{}); err != nil || res.Imported != 1 {
			t.Fatalf("import %s: %+v %v", email, res, err)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM users WHERE organization_id = $1`, theirs); n != 1 {
		t.Fatalf("the API-made organization has %d members, want only its creator", n)
	}
	if n := count(t, pool, `SELECT count(DISTINCT organization_id) FROM users WHERE email LIKE 'op_@example.com' AND organization_id <> $1`, theirs); n != 1 {
		t.Fatalf("the imported users are in %d organizations other than the API's, want both in the one the import made", n)
	}
}

// TestImportOrganizationByIDKeyAndName: organization_id joins an existing
// organization, organization_key names the one the import creates, and
// --match-org-by-name joins an organization of that name only when it is
// the only one; each refusal is a line problem.
func TestImportOrganizationByIDKeyAndName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	im := service.NewImporter(service.NewDB(pool), "IN")
	globex := mkOrg(t, pool, "g@example.com", "Globex")
	initech := mkOrg(t, pool, "i@example.com", "Initech")
	mkOrg(t, pool, "d1@example.com", "Dup")
	mkOrg(t, pool, "d2@example.com", "Dup")
	file := strings.Join([]string{
		/* 1 */ `{"email":"a@example.com","organization_id":` + strconv.FormatInt(globex, 10) + `}`,
		/* 2 */ `{"email":"b@example.com","organization":"Globex","organization_key":"crm-17"}`,
		/* 3 */ `{"email":"c@example.com","organization":"Globex Renamed","organization_key":"crm-17"}`,
		/* 4 */ `{"email":"d@example.com","organization_id":999999}`,
		/* 5 */ `{"email":"e@example.com","organization_id":1,"organization":"Globex"}`,
		/* 6 */ `{"email":"f@example.com","organization_key":"crm-18"}`,
		/* 7 */ `{"email":"g2@example.com","organization":"Initech"}`,
		/* 8 */ `{"email":"h@example.com","organization":"Dup"}`,
	}, "\n") + "\n"
	res, err := im.Import(ctx, strings.NewReader(file), service.ImportOptions{MatchOrgByName: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"line 4: organization_id: is no organization",
		"line 5: organization_id: names the organization alone: give organization_id or organization, not both",
		"line 6: organization_key: needs organization, the name of the organization the import creates under the key",
		"line 8: organization: 2 organizations have this name: name one by organization_id",
	}
	if res.Imported != 4 || strings.Join(problems(res), "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %+v\n%s\nwant 4 imported and the problems\n%s", res, strings.Join(problems(res), "\n"), strings.Join(want, "\n"))
	}
	orgOf := func(email string) int64 {
		return int64(count(t, pool, `SELECT organization_id FROM users WHERE email = $1`, email))
	}
	if orgOf("a@example.com") != globex || orgOf("g2@example.com") != initech {
		t.Fatalf("by id and by the only name: got %d and %d, want %d and %d", orgOf("a@example.com"), orgOf("g2@example.com"), globex, initech)
	}
	crm := orgOf("b@example.com")
	if crm == globex || orgOf("c@example.com") != crm {
		t.Fatalf("by key: b in %d, c in %d; want both in one new organization, not %d", crm, orgOf("c@example.com"), globex)
	}
	if n := count(t, pool, `SELECT count(*) FROM organizations o JOIN audit_events a ON a.organization_id = o.id
		WHERE o.id = $1 AND o.name = 'Globex' AND o.import_key = 'crm-17' AND a.action = 'org.created' AND a.details->>'via' = 'import'`, crm); n != 1 {
		t.Fatalf("the organization made under crm-17 is not recorded as made by the import")
	}
	var out bytes.Buffer
	if _, err := im.Export(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"organization":"Globex","organization_key":"crm-17"`) {
		t.Fatalf("export: want the key of the imported organization beside its name:\n%s", out.String())
	}
}

// TestImportRefusesOutOfBoundsHashes: a hash of a known scheme whose
// contents are out of the bounds userd verifies (a bcrypt cost of 31, ten
// times Django's iterations, argon2id asking 4 GiB) is refused line by
// line with a password_hash problem, as an unknown scheme is, and nothing
// of its line is written.
func TestImportRefusesOutOfBoundsHashes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	im := service.NewImporter(service.NewDB(pool), "IN")
	file := strings.Join([]string{
		`{"email":"ok@example.com","password_hash":"$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm"}`,
		`{"email":"bcrypt@example.com","password_hash":"$2b$31$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm"}`,
		`{"email":"django@example.com","password_hash":"pbkdf2_sha256$99999999$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY="}`,
		`{"email":"argon@example.com","password_hash":"$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$Hl6uH5u2Bx9QA6LiWdqzkzCZD0dw6Y9V6nhuB1z0zgs"}`,
	}, "\n") + "\n"
	res, err := im.Import(ctx, strings.NewReader(file), service.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`line 2: password_hash: is out of the bounds userd verifies: bcrypt cost "31" outside 4..16`,
		`line 3: password_hash: is out of the bounds userd verifies: iterations "99999999" outside 1..5000000`,
		`line 4: password_hash: is out of the bounds userd verifies: invalid argon2id parameters: memory 4194304 KiB outside 8..1048576`,
	}
	if res.Imported != 1 || strings.Join(problems(res), "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %+v\n%s\nwant 1 imported and the problems\n%s", res, strings.Join(problems(res), "\n"), strings.Join(want, "\n"))
	}
	if n := count(t, pool, `SELECT count(*) FROM users`); n != 1 {
		t.Fatalf("users: got %d, want only the line with a hash in bounds", n)
	}
}
