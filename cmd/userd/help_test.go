package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/userd/userd/pgtest"
)

// helpArgs are the ways to ask each command for help, at the start and
// after other arguments.
func helpArgs(c *command) [][]string {
	variants := [][]string{{c.name, "-h"}, {c.name, "--help"}, {c.name, "-help"}, {"help", c.name}}
	switch c.name {
	case "migrate":
		variants = append(variants, []string{"migrate", "down", "--help"}, []string{"migrate", "up", "-h"})
	case "bench":
		variants = append(variants, []string{"bench", "directory", "-h"}, []string{"bench", "--users", "5", "--help"})
	case "dev-token":
		variants = append(variants, []string{"dev-token", "--sub", "alice", "--help"})
	case "keygen":
		variants = append(variants, []string{"keygen", "-o", "{dir}/key.json", "--help"})
	}
	return variants
}

// TestHelpNeverActs asks every command for help in every way, in dev with
// a database and a data dir at hand and in prod with nothing configured:
// each prints its usage, flags, environment and an example and exits 0,
// and nothing is created, migrated, served or minted.
func TestHelpNeverActs(t *testing.T) {
	dbURL := pgtest.NewEmptyURL(t)
	for _, env := range []map[string]string{
		{"USERD_ENV": "dev", "DATABASE_URL": dbURL, "USERD_ADDR": "127.0.0.1:0"},
		{"USERD_ENV": "prod"},
		{"USERD_ENV": ""},
	} {
		for k, v := range env {
			t.Setenv(k, v)
		}
		dir := t.TempDir()
		t.Setenv("USERD_DATA_DIR", dir)
		for _, c := range commands {
			for _, args := range helpArgs(c) {
				for i := range args {
					args[i] = strings.ReplaceAll(args[i], "{dir}", dir)
				}
				start := time.Now()
				r := runUserd(t, args...)
				name := "userd " + strings.Join(args, " ")
				if r.code != 0 || r.stderr != "" {
					t.Errorf("%s (USERD_ENV=%q): got exit %d %q, stderr %q; want 0 and nothing on stderr", name, env["USERD_ENV"], r.code, r.msg, r.stderr)
					continue
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("%s: took %s, want an immediate answer", name, d)
				}
				checkHelp(t, name, c, r.stdout)
			}
		}
		if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 {
			t.Errorf("USERD_ENV=%q: the data dir holds %v (%v) after help, want nothing", env["USERD_ENV"], entries, err)
		}
	}

	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var tables int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("after help: got %d tables in the database, want 0 (nothing migrated)", tables)
	}
}

// checkHelp checks that out is c's help: usage line, every flag it
// declares, every variable it reads, an example.
func checkHelp(t *testing.T, name string, c *command, out string) {
	t.Helper()
	want := []string{"Usage: userd " + c.name, "\nEnvironment:\n", "\nExample:\n  "}
	for _, s := range c.flags {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		s.declare(fs)
		fs.VisitAll(func(f *flag.Flag) {
			// "-name type" for a flag with a value, "-name" alone for a bool.
			sep := " "
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				sep = "\n"
			}
			want = append(want, "\n  -"+f.Name+sep, f.Usage)
		})
	}
	for _, v := range c.env {
		if envDoc[v] == "" {
			t.Errorf("%s: %s has no description in envDoc", name, v)
		}
		want = append(want, "\n  "+v+" ")
	}
	if c.devOnly {
		want = append(want, "Development only")
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: help lacks %q:\n%s", name, w, out)
		}
	}
}

// TestServeEnvIsComplete keeps serve's help in step with the variables
// the configuration reads.
func TestServeEnvIsComplete(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join("..", "..", "config", "config.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range strings.Split(string(src), `get("`)[1:] {
		name, _, _ := strings.Cut(field, `"`)
		if !strings.Contains(strings.Join(serveEnv, " ")+" ", name+" ") {
			t.Errorf("config reads %s, but serve's help does not list it", name)
		}
	}
	if len(envDoc) != len(serveEnv) {
		t.Errorf("envDoc has %d variables, serve lists %d: want the same set", len(envDoc), len(serveEnv))
	}
}
