package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/migrate"
	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
)

// result is what one run of userd printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
	msg            string // the error message main prints, already redacted
}

// runUserd runs userd with args, bounded to 20 s, as main would.
func runUserd(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, args, &out, &errOut)
	r := result{stdout: out.String(), stderr: errOut.String()}
	if err != nil {
		var f *failure
		if !errors.As(err, &f) {
			t.Fatalf("userd %s: got %T %v, want a *failure", strings.Join(args, " "), err, err)
		}
		r.code, r.msg = f.code, f.msg
	}
	return r
}

func runCmd(t *testing.T, args ...string) string {
	t.Helper()
	r := runUserd(t, args...)
	if r.code != 0 {
		t.Fatalf("userd %s: exit %d: %s (%s)", strings.Join(args, " "), r.code, r.msg, r.stderr)
	}
	return r.stdout
}

// withPoolParams appends pgxpool's sizing parameters to a database URL,
// as an operator sizing the pool would.
func withPoolParams(u string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "pool_max_conns=10&pool_min_conns=1"
}

func TestCommands(t *testing.T) {
	t.Setenv("USERD_ENV", "dev")
	// Every command connects through a URL that carries pool parameters.
	t.Setenv("DATABASE_URL", withPoolParams(pgtest.NewEmptyURL(t)))
	t.Setenv("USERD_DATA_DIR", t.TempDir())

	if got := runCmd(t, "version"); !strings.HasPrefix(got, "userd ") {
		t.Fatalf("version: got %q, want userd <version>", got)
	}
	if got := runCmd(t, "help"); !strings.Contains(got, "setup-dev-users") {
		t.Fatalf("help: got %q, want the command list", got)
	}

	if got := runCmd(t, "migrate", "status"); !strings.Contains(got, "[ ]") || strings.Contains(got, "[X]") {
		t.Fatalf("status of an empty database: got %q, want every migration pending", got)
	}
	runCmd(t, "migrate", "up")
	if got := runCmd(t, "migrate", "status"); strings.Contains(got, "[ ]") {
		t.Fatalf("status after up: got %q, want every migration applied", got)
	}

	// The migrations seed the default groups: setup-groups finds them all.
	if got := runCmd(t, "setup-groups"); !strings.Contains(got, "0 created, 6 already present") || strings.Contains(got, "created group") {
		t.Fatalf("setup-groups after migrate up: got %q, want the six default groups already present", got)
	}
	// Custom sets: created once, named once, then present.
	first := runCmd(t, "setup-groups", "studio_staff:org_manageable:Works the front desk", "beta:subscription")
	second := runCmd(t, "setup-groups", "studio_staff:org_manageable:Works the front desk", "beta:subscription")
	if !strings.Contains(first, "created group studio_staff (org_manageable)\ncreated group beta (subscription)\npermission groups: 2 created, 0 already present") ||
		!strings.Contains(second, "0 created, 2 already present") || strings.Contains(second, "created group") {
		t.Fatalf("setup-groups with a custom set twice: got %q then %q, want 2 created then none", first, second)
	}
	if got := runCmd(t, "setup-dev-users"); !strings.Contains(got, `superuser "user"`) {
		t.Fatalf("setup-dev-users: got %q", got)
	}
	if got := runCmd(t, "setup-dev-users"); !strings.Contains(got, "already present") {
		t.Fatalf("setup-dev-users again: got %q, want it idempotent", got)
	}

	tok := strings.TrimSpace(runCmd(t, "dev-token", "--sub", "alice", "--email", "alice@example.com"))
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("dev-token: got %q, want a JWT", tok)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Setenv("USERD_ENV", "dev")
	t.Setenv("USERD_DATA_DIR", t.TempDir())
	// Nothing below reaches the database: a usage error stops first.
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")

	r := runUserd(t)
	if r.code != 2 || r.stdout != "" || r.msg != "no command given" {
		t.Fatalf("userd alone: got exit %d, stdout %q, message %q; want 2, nothing, %q", r.code, r.stdout, r.msg, "no command given")
	}
	for _, c := range commands {
		if !strings.Contains(r.stderr, "\n  "+c.name+" ") {
			t.Errorf("userd alone: command list %q lacks %s", r.stderr, c.name)
		}
	}
	for _, args := range [][]string{
		{"frobnicate"},
		{"help", "frobnicate"},
		{"help", "serve", "migrate"},
		{"serve", "now"},
		{"migrate", "sideways"},
		{"migrate", "up", "twice"},
		{"version", "2"},
		{"keygen", "--alg", "HS256"},
		{"keygen", "--bits", "4096"},
		{"dev-token"},
		{"dev-token", "--sub", "a", "--nope"},
		{"dev-token", "--sub", "a", "extra"},
		{"setup-groups", "all"},
		{"setup-groups", "staff:nonsense"},
		{"setup-groups", "Staff:system"},
		{"setup-dev-users", "again"},
		{"bench", "sideways"},
		{"bench", "--users"},
		{"bench", "directory", "--limit", "x"},
	} {
		r := runUserd(t, args...)
		if r.code != 2 || r.msg == "" {
			t.Errorf("userd %s: got exit %d (%q), want 2 with a message", strings.Join(args, " "), r.code, r.msg)
		}
	}
}

func TestProdRefusesABehindSchema(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.NewEmptyURL(t))
	t.Setenv("USERD_ENV", "prod")
	t.Setenv("USERD_SIGNING_KEY_FILE", "unused")
	t.Setenv("USERD_SMTP_URL", "smtp://127.0.0.1:1")
	t.Setenv("USERD_MAIL_FROM", "no-reply@example.com")
	t.Setenv("USERD_PUBLIC_URL", "https://id.example.com")
	r := runUserd(t, "serve")
	if r.code != 1 || !strings.Contains(r.msg, "userd migrate up") {
		t.Fatalf("serve in prod on an empty database: got exit %d %q, want a refusal naming `userd migrate up`", r.code, r.msg)
	}
}

// TestOpenDBPoolParams: pool_max_conns sizes the pool (and a dev serve,
// which migrates first through dbmate, accepts it).
func TestOpenDBPoolParams(t *testing.T) {
	t.Setenv("USERD_ENV", "dev")
	t.Setenv("DATABASE_URL", withPoolParams(pgtest.NewEmptyURL(t)))
	t.Setenv("USERD_DATA_DIR", t.TempDir())
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openDB(context.Background(), cfg, true, nil, service.CacheConfig{}, nil)
	if err != nil {
		t.Fatalf("openDB with pool parameters: %v", err)
	}
	pool := db.Pool
	defer pool.Close()
	if got := pool.Config().MaxConns; got != 10 {
		t.Fatalf("got MaxConns %d, want 10 from pool_max_conns", got)
	}
	if err := migrate.Check(context.Background(), pool); err != nil {
		t.Fatalf("after a dev openDB: %v, want the schema migrated", err)
	}
}

// keywordForm writes a database URL in libpq's keyword/value form, the
// password quoted (it may hold spaces), pool parameters kept.
func keywordForm(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	if pw == "" {
		pw = "ignored by trust auth"
	}
	kw := fmt.Sprintf("host=%s port=%s user=%s password='%s' dbname=%s",
		u.Hostname(), cmp.Or(u.Port(), "5432"), u.User.Username(), strings.ReplaceAll(pw, "'", `\'`), strings.TrimPrefix(u.Path, "/"))
	for k, vs := range u.Query() {
		kw += " " + k + "=" + vs[0]
	}
	return kw
}

// TestKeywordDatabaseURL: a keyword/value DATABASE_URL (host=… user=…
// password=…) works wherever its URL does, through the start path of the
// binary: a dev serve migrates (dbmate, which takes URLs only) and
// serves, and migrate reads the status, alike for both forms. A malformed
// one is refused at start with the variable named and the password not
// shown.
func TestKeywordDatabaseURL(t *testing.T) {
	t.Setenv("USERD_ENV", "dev")
	t.Setenv("USERD_DATA_DIR", t.TempDir())
	for _, form := range []string{"url", "keyword"} {
		u := withPoolParams(pgtest.NewEmptyURL(t))
		if form == "keyword" {
			u = keywordForm(t, u)
		}
		t.Setenv("DATABASE_URL", u)
		if got := runCmd(t, "migrate", "status"); !strings.Contains(got, "[ ]") {
			t.Fatalf("%s form: migrate status of an empty database: got %q, want every migration pending", form, got)
		}
		p := startUserd(t, u, t.TempDir()) // migrates at start, then serves
		if status, body := httpGet(t, p.base+"/readyz"); status != http.StatusOK {
			t.Fatalf("%s form: /readyz got %d %s, want 200", form, status, body)
		}
		if got := runCmd(t, "migrate", "status"); strings.Contains(got, "[ ]") {
			t.Fatalf("%s form: migrate status after serve: got %q, want every migration applied", form, got)
		}
	}

	t.Setenv("DATABASE_URL", "host=127.0.0.1 user=u password='s3cret dbname=userd")
	for _, cmd := range []string{"serve", "migrate"} {
		r := runUserd(t, cmd, "status")
		if cmd == "serve" {
			r = runUserd(t, cmd)
		}
		all := r.msg + r.stdout + r.stderr
		if r.code == 0 || !strings.Contains(r.msg, "DATABASE_URL") || !strings.Contains(r.msg, "closing quote") || strings.Contains(all, "s3cret") {
			t.Fatalf("%s with an unterminated quote: got exit %d %q (%s), want a refusal naming DATABASE_URL, the quote, not the password", cmd, r.code, r.msg, r.stderr)
		}
	}
}
