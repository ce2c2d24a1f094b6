package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/userd/userd/pgtest"
)

// shellWords splits a line of the dev banner as a POSIX shell would:
// words separated by spaces, single-quoted strings, a backslash escaping
// the character after it.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			w.WriteByte(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == '\\' && i+1 < len(line):
			i++
			w.WriteByte(line[i])
			inWord = true
		case c == ' ':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quote in %q", line)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// bannerCommand finds the banner line running `userd <sub>` and returns
// the environment it sets and the arguments after the subcommand's name.
func bannerCommand(t *testing.T, banner, sub string) (env map[string]string, args []string) {
	t.Helper()
	for line := range strings.SplitSeq(banner, "\n") {
		line = strings.TrimSpace(line)
		line = strings.TrimPrefix(line, "TOKEN=$(")
		line = strings.TrimSuffix(line, ")")
		if c, _, ok := strings.Cut(line, "#"); ok {
			line = strings.TrimSpace(c)
		}
		words := shellWords(t, line)
		env = map[string]string{}
		i := 0
		for ; i < len(words) && strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-"); i++ {
			k, v, _ := strings.Cut(words[i], "=")
			env[k] = v
		}
		rest := words[i:]
		if len(rest) >= 4 && rest[0] == "go" && rest[1] == "run" && rest[2] == "./cmd/userd" && rest[3] == sub {
			return env, rest[4:]
		}
	}
	t.Fatalf("the dev banner has no `go run ./cmd/userd %s` line:\n%s", sub, banner)
	return nil, nil
}

// runAsPrinted runs a banner command as a process of its own with the
// environment the banner gives it and none of the test's own userd
// settings, as a developer pasting it into another shell would.
func runAsPrinted(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "USERD_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "USERD_TEST_RUN_MAIN=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("userd %s with %v: %v", strings.Join(args, " "), env, err)
	}
	return string(out)
}

// TestDevBannerActsOnTheServedDatabase: the commands `make run` prints
// act on the database and the data dir the server uses, even when both
// came from the environment and differ from the defaults, and the banner
// never shows the database password.
func TestDevBannerActsOnTheServedDatabase(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(pgtest.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	// The test server trusts local connections: a password is accepted
	// and unused, and must not be shown.
	const secret = "s3cret-Pw"
	u.User = url.UserPassword(u.User.Username(), secret)
	dbURL := u.String()
	dataDir := t.TempDir() + "/it's data"
	p := startUserd(t, dbURL, dataDir)
	var banner string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if banner = p.logs.String(); strings.Contains(banner, "the routes:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dev banner within 10 s:\n%s", banner)
		}
	}
	if strings.Contains(banner, secret) {
		t.Fatalf("the dev banner shows the database password:\n%s", banner)
	}

	env, args := bannerCommand(t, banner, "setup-dev-users")
	if env["USERD_ENV"] != "dev" || env["USERD_DATA_DIR"] != dataDir || !strings.Contains(env["DATABASE_URL"], ":xxxxx@") || len(args) != 0 {
		t.Fatalf("setup-dev-users line: got env %v, args %v; want USERD_ENV=dev, USERD_DATA_DIR=%q and the served DATABASE_URL with its password as xxxxx", env, args, dataDir)
	}
	if !strings.Contains(banner, "put it back") {
		t.Fatalf("the banner hides a password without saying so:\n%s", banner)
	}
	env["DATABASE_URL"] = strings.Replace(env["DATABASE_URL"], "xxxxx", secret, 1)
	if env["DATABASE_URL"] != dbURL {
		t.Fatalf("setup-dev-users line: DATABASE_URL %q with its password back, want %q", env["DATABASE_URL"], dbURL)
	}
	runAsPrinted(t, env, "setup-dev-users")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM users WHERE username = 'user' AND role = 'admin'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the served database after the printed setup-dev-users: %d superusers (%v), want 1", n, err)
	}

	// The printed dev-token mints a token the server trusts: the same
	// data dir, so the same dev IdP secret.
	env, args = bannerCommand(t, banner, "dev-token")
	token := strings.TrimSpace(runAsPrinted(t, env, append([]string{"dev-token"}, args...)...))
	req, _ := http.NewRequest(http.MethodGet, p.base+"/api/v1/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /users/me with the printed dev-token's token: got %d, want 200", res.StatusCode)
	}
}
