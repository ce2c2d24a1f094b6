package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/userd/userd/service"
)

// notAboutUsers are tables with a user-id column that the data export
// leaves out, each for a reason. Any other table that refers to users must
// be in service.DataExportTables.
var notAboutUsers = map[string]string{
	"follow_stat_deltas": "pending changes of follow_stats, folded into it within seconds (follow_stats is exported)",
	"import_staging":     "rows that live only inside an import's transaction",
	"oauth_codes":        "authorization codes: single use, valid 60 seconds; what they issued is in sessions",
}

// userColumns are the column names that hold a user's id where no foreign
// key says so.
var userColumns = []string{"user_id", "follower_id", "followee_id", "blocker_id", "blocked_id", "actor_id", "target_user_id", "inviter_id", "invited_by", "accepted_by"}

// exportedUser builds a user with rows in every table about users:
// registered with a password (credential, verification token, mail,
// session with IP and user agent), its address proven, a failed login, a linked identity, an
// avatar, an organization of their own (groups, audit events), follows
// both ways, a block, a pending invitation to their address, an
// authenticator app with recovery codes, a sign-in waiting for its code
// and an app granted access (oauth_consents).
func exportedUser(t *testing.T, e *env) (access, refresh string, id int64) {
	t.Helper()
	body := e.register(map[string]any{"email": "gdpr@example.com", "username": "gdpr"})
	in := e.login("gdpr@example.com", testPassword, "User-Agent", "export-test/1.0")
	expect(t, in, http.StatusOK, "")
	expect(t, e.login("gdpr@example.com", "wrong password, surely"), http.StatusUnauthorized, "invalid_credentials")
	access, refresh = tokens(in.json(t))
	id = int64(body["user"].(map[string]any)["id"].(float64))
	// Proven, so that invitations to the address are the caller's.
	expect(t, e.do("POST", "/api/v1/auth/email/verify", access, map[string]any{"token": e.mailLink("gdpr@example.com", "/verify-email")}), http.StatusNoContent, "")
	expect(t, e.do("POST", "/api/v1/users/me/identities", access, map[string]any{"token": e.idp.sign("gdpr-idp", freshSignIn(nil))}), http.StatusCreated, "")
	expect(t, e.do("PUT", "/api/v1/users/me/avatar", access, pngOf(t, 64, 64), "Content-Type", "image/png"), http.StatusOK, "")
	expect(t, e.do("POST", "/api/v1/organizations", access, map[string]any{"name": "Mine"}), http.StatusCreated, "")
	friend, friendID := e.signIn("friend", nil)
	_, pestID := e.signIn("pest", nil)
	expect(t, e.do("PUT", fmt.Sprintf("/api/v1/users/%d/follow", friendID), access, nil), http.StatusNoContent, "")
	expect(t, e.do("PUT", fmt.Sprintf("/api/v1/users/%d/follow", id), friend, nil), http.StatusNoContent, "")
	expect(t, e.do("PUT", fmt.Sprintf("/api/v1/users/%d/block", pestID), access, nil), http.StatusNoContent, "")
	r := e.do("POST", "/api/v1/organizations", friend, map[string]any{"name": "Theirs"})
	expect(t, r, http.StatusCreated, "")
	org := int64(r.json(t)["id"].(float64))
	expect(t, e.do("POST", fmt.Sprintf("/api/v1/organizations/%d/invitations", org), friend, map[string]any{"email": "GDPR@example.com"}), http.StatusCreated, "")
	e.enrollTOTP(access)
	e.challenge("gdpr@example.com")
	// A third-party app the user granted access (connected apps).
	for _, q := range []string{
		`INSERT INTO oauth_clients (id, name, public, redirect_uris, grant_types, scopes)
		 VALUES ('gdpr-app-1', 'Photo app', true, '{https://photos.example.com/cb}', '{authorization_code}', '{openid,profile}')
		 ON CONFLICT DO NOTHING`,
		`INSERT INTO oauth_consents (user_id, client_id, scopes) VALUES ($1, 'gdpr-app-1', '{openid,profile}')`,
	} {
		args := []any{}
		if strings.Contains(q, "$1") {
			args = append(args, id)
		}
		if _, err := e.pool.Exec(context.Background(), q, args...); err != nil {
			t.Fatalf("connected app: %v", err)
		}
	}
	return access, refresh, id
}

// TestExportMe downloads the caller's data export: an attachment holding
// the profile and, for every table about users, the caller's rows of it
// (so a table added later without export fails here), never a secret; the
// fourth export within an hour is 429 with Retry-After.
func TestExportMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	access, refresh, id := exportedUser(t, e)

	r := e.do("GET", "/api/v1/users/me/export", access, nil)
	expect(t, r, http.StatusOK, "")
	if got, want := r.header.Get("Content-Disposition"), `attachment; filename="userd-export-`+strconv.FormatInt(id, 10)+`.json"`; got != want {
		t.Errorf("Content-Disposition: got %q, want %q", got, want)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, table := range tablesAboutUsers(t, e) {
		key, ok := service.DataExportTables[table]
		if !ok {
			t.Errorf("table %s refers to users, but the data export does not represent it: add it to UserDataExport and service.DataExportTables (or to notAboutUsers with a reason)", table)
			continue
		}
		if v := string(doc[key]); v == "" || v == "null" || v == "[]" || v == "{}" {
			t.Errorf("table %s: the export's %q is %q, want the caller's rows", table, key, v)
		}
	}
	for table, key := range service.DataExportTables {
		if _, ok := doc[key]; !ok {
			t.Errorf("DataExportTables maps %s to %q, which the export lacks", table, key)
		}
	}
	var sessions []map[string]any
	if err := json.Unmarshal(doc["sessions"], &sessions); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(sessions, func(s map[string]any) bool { return s["user_agent"] == "export-test/1.0" && s["ip"] == "127.0.0.1" }) {
		t.Errorf("sessions: got %s, want one with the user agent and IP of the login", doc["sessions"])
	}
	var profile map[string]any
	if err := json.Unmarshal(doc["profile"], &profile); err != nil || profile["email"] != "gdpr@example.com" {
		t.Errorf("profile: got %s (%v), want the private view", doc["profile"], err)
	}
	for _, secret := range []string{"$argon2id$", access, refresh, `"token_hash"`, `"ip_hash"`, `"payload"`, `"secret_sealed"`, `"code_hash"`} {
		if strings.Contains(string(r.body), secret) {
			t.Errorf("the export holds %q:\n%s", secret, r.body)
		}
	}

	expect(t, e.do("GET", "/api/v1/users/me/export", access, nil), http.StatusOK, "")
	expect(t, e.do("GET", "/api/v1/users/me/export", access, nil), http.StatusOK, "")
	r = e.do("GET", "/api/v1/users/me/export", access, nil)
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 3600 {
		t.Errorf("Retry-After: got %q, want 1..3600 seconds", r.header.Get("Retry-After"))
	}
	expect(t, e.do("GET", "/api/v1/users/me/export?x=1", access, nil), http.StatusBadRequest, "invalid_query")
	expect(t, e.do("GET", "/api/v1/users/me/export", "", nil), http.StatusUnauthorized, "invalid_token")
}

// tablesAboutUsers walks the migrated catalog: every table with a foreign
// key to users(id) (pg_constraint), and every table with a column named
// like a user's id (information_schema.columns) that no foreign key
// covers, but those of notAboutUsers. users itself is the profile.
func tablesAboutUsers(t *testing.T, e *env) []string {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `
		SELECT DISTINCT c.conrelid::regclass::text
		FROM pg_constraint c
		WHERE c.contype = 'f' AND c.confrelid = 'public.users'::regclass
		UNION
		SELECT DISTINCT table_name::text FROM information_schema.columns
		WHERE table_schema = 'public' AND column_name = ANY($1)
		ORDER BY 1`, userColumns)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	tables := []string{"users"}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if _, skip := notAboutUsers[name]; !skip {
			tables = append(tables, name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(tables) < 10 {
		t.Fatalf("the catalog walk found only %v", tables)
	}
	for name := range notAboutUsers {
		var n int
		if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = $1`, name).Scan(&n); err != nil || n != 1 {
			t.Errorf("notAboutUsers lists %s, which the schema does not have", name)
		}
	}
	return tables
}

// exportDoc downloads token's data export.
func exportDoc(t *testing.T, e *env, token string) map[string]json.RawMessage {
	t.Helper()
	r := e.do("GET", "/api/v1/users/me/export", token, nil)
	expect(t, r, http.StatusOK, "")
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestExportMeHoldsWhatOthersDid: the audit part of the data export holds
// the events of others acting on the caller (an admin's role change and
// deactivation), not only the caller's own.
func TestExportMeHoldsWhatOthersDid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, adminID := e.userWithRole("export-admin", "admin")
	tok, id := e.signIn("export-target", nil)
	expect(t, e.do("PUT", fmt.Sprintf("/api/v1/users/%d/role", id), admin, map[string]any{"role": "owner"}), http.StatusOK, "")
	type event struct {
		Action       string `json:"action"`
		ActorID      *int64 `json:"actor_id"`
		TargetUserID *int64 `json:"target_user_id"`
	}
	var events []event
	if err := json.Unmarshal(exportDoc(t, e, tok)["audit_events"], &events); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(events, func(ev event) bool {
		return ev.ActorID != nil && *ev.ActorID == adminID && ev.TargetUserID != nil && *ev.TargetUserID == id
	}) {
		t.Fatalf("audit_events: got %+v, want the admin's role change of the caller", events)
	}
}

// TestExportMeInvitationsOnlyForProvenAddress: an invitation to an
// address the caller holds unproven is not in the caller's export (it may
// be someone else's mail); once the caller proves the address, it is.
func TestExportMeInvitationsOnlyForProvenAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := e.register(map[string]any{"email": "unproven@example.com"})
	access, _ := tokens(reg)
	inviter, _ := e.orgUser("export-inviter")
	r := e.do("POST", "/api/v1/organizations", inviter, map[string]any{"name": "Inviting"})
	expect(t, r, http.StatusCreated, "")
	org := int64(r.json(t)["id"].(float64))
	expect(t, e.do("POST", fmt.Sprintf("/api/v1/organizations/%d/invitations", org), inviter, map[string]any{"email": "Unproven@example.com"}), http.StatusCreated, "")
	if got := string(exportDoc(t, e, access)["invitations_received"]); got != "[]" {
		t.Fatalf("invitations_received of an unproven address: got %s, want []", got)
	}
	expect(t, e.do("POST", "/api/v1/auth/email/verify", access, map[string]any{"token": e.mailLink("unproven@example.com", "/verify-email")}), http.StatusNoContent, "")
	if got := string(exportDoc(t, e, access)["invitations_received"]); !strings.Contains(got, `"organization": "Inviting"`) && !strings.Contains(got, `"organization":"Inviting"`) {
		t.Fatalf("invitations_received of the proven address: got %s, want the invitation to Inviting", got)
	}
}
