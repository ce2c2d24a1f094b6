package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
)

// TestImportExportCommands runs import and export as an operator would: a
// rejected line is reported on standard error and makes the exit status 1
// unless --allow-rejects; the counts go to standard output; a second
// import skips what the first brought; export writes the import format.
func TestImportExportCommands(t *testing.T) {
	t.Setenv("USERD_ENV", "dev")
	t.Setenv("USERD_DATA_DIR", t.TempDir())
	t.Setenv("DATABASE_URL", pgtest.NewEmptyURL(t))
	dir := t.TempDir()
	in := filepath.Join(dir, "users.jsonl")
	lines := `{"email":"ann@example.com","username":"ann","password_hash":"$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm"}
{"email":"bad address"}
{"phone":"+14155550123","identities":[{"provider":"google","subject":"g-1"}],"organization":"Acme"}
`
	if err := os.WriteFile(in, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runUserd(t, "import", in)
	if r.code != 1 || r.stdout != "imported 2, updated 0, skipped 0, rejected 1\n" ||
		!strings.Contains(r.stderr, "line 2: email: must be an email address\n") || !strings.Contains(r.msg, "1 lines rejected") {
		t.Fatalf("import: got exit %d %q, stdout %q, stderr %q", r.code, r.msg, r.stdout, r.stderr)
	}
	r = runUserd(t, "import", "--allow-rejects", "--update", in)
	if r.code != 0 || r.stdout != "imported 0, updated 2, skipped 0, rejected 1\n" {
		t.Fatalf("import --update --allow-rejects: got exit %d %q, stdout %q, stderr %q", r.code, r.msg, r.stdout, r.stderr)
	}
	r = runUserd(t, "import", "--allow-rejects", in)
	if r.code != 0 || r.stdout != "imported 0, updated 0, skipped 2, rejected 1\n" {
		t.Fatalf("import again: got exit %d %q, stdout %q", r.code, r.msg, r.stdout)
	}
	if r := runUserd(t, "import", in, "other"); r.code != 2 {
		t.Errorf("import with two files: got exit %d, want 2 (usage)", r.code)
	}
	if r := runUserd(t, "import", "--org-plan", "gold", in); r.code != 1 || !strings.Contains(r.msg, `plan "gold"`) {
		t.Errorf("import --org-plan gold: got exit %d %q, want 1 naming the plan", r.code, r.msg)
	}

	out := filepath.Join(dir, "export.jsonl")
	r = runUserd(t, "export", "-o", out)
	if r.code != 0 || r.stderr != "exported 2 users to "+out+"\n" {
		t.Fatalf("export -o: got exit %d %q, stderr %q", r.code, r.msg, r.stderr)
	}
	written, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	stdout := runCmd(t, "export")
	if string(written) != stdout || strings.Count(stdout, "\n") != 2 {
		t.Fatalf("export: -o wrote %q, standard output got %q; want the same two lines", written, stdout)
	}
	if !strings.Contains(stdout, `"identities":[{"provider":"google","subject":"g-1"}]`) || !strings.Contains(stdout, `"organization":"Acme"`) ||
		strings.Contains(stdout, "$2b$") {
		t.Errorf("export: got %s, want identities and organization, no hash", stdout)
	}
}

func TestProgressLine(t *testing.T) {
	t.Parallel()
	p := service.ImportProgress{Lines: 5000, BytesRead: 250, ImportResult: service.ImportResult{Imported: 4990, Rejected: 10}}
	got := progressLine(p, 1000, 2*time.Second)
	want := "5000 lines (4990 imported, 0 updated, 0 skipped, 10 rejected), 2500 lines/s, 25%, ETA 6s"
	if got != want {
		t.Errorf("progressLine: got %q, want %q", got, want)
	}
	if got := progressLine(p, 0, 2*time.Second); strings.Contains(got, "ETA") {
		t.Errorf("progressLine without a size: got %q, want no ETA", got)
	}
}

// TestImportUpdateEmailSpendsLinks: `userd import --update` that changes a
// user's email spends the links mailed to the old address (a verification
// link of the old address must not prove the new one); a user whose email
// stays keeps theirs.
func TestImportUpdateEmailSpendsLinks(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewURL(t)
	t.Setenv("USERD_ENV", "dev")
	t.Setenv("USERD_DATA_DIR", t.TempDir())
	t.Setenv("DATABASE_URL", dbURL)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	in := filepath.Join(t.TempDir(), "users.jsonl")
	write := func(lines string) {
		t.Helper()
		if err := os.WriteFile(in, []byte(lines), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"phone":"+14155550123","email":"old@example.com"}
{"phone":"+14155550124","email":"stays@example.com"}
`)
	if r := runUserd(t, "import", in); r.code != 0 {
		t.Fatalf("import: exit %d %q %s", r.code, r.msg, r.stderr)
	}
	for _, email := range []string{"old@example.com", "stays@example.com"} {
		if _, err := pool.Exec(ctx, `INSERT INTO user_tokens (user_id, purpose, token_hash, email, expires_at)
			SELECT id, p, sha256((email || p)::bytea), email, now() + interval '1 day'
			FROM users, unnest(ARRAY['email_verification', 'password_reset']) AS p WHERE email = $1`, email); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"phone":"+14155550123","email":"new@example.com"}
{"phone":"+14155550124","email":"STAYS@example.com","first_name":"Stays"}
`)
	if r := runUserd(t, "import", "--update", in); r.code != 0 || r.stdout != "imported 0, updated 2, skipped 0, rejected 0\n" {
		t.Fatalf("import --update: exit %d %q, stdout %q, stderr %q", r.code, r.msg, r.stdout, r.stderr)
	}
	live := func(email string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM user_tokens WHERE email = $1 AND used_at IS NULL`, email).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := live("old@example.com"); n != 0 {
		t.Fatalf("links of the old address after the email changed: %d live, want 0", n)
	}
	if n := live("stays@example.com"); n != 2 {
		t.Fatalf("links of an address the import kept: %d live, want 2", n)
	}
}
