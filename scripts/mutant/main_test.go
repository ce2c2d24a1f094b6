package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (slash path → contents) under a temporary root.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		f := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func read(t *testing.T, root, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const outbox = `package service

func (o *Outbox) runJob() {
	switch {
	case int(j.Attempts)   >= o.MaxAttempts:
		giveUp()
	}
}
`

func mustParse(t *testing.T, src string) mutant {
	t.Helper()
	m, err := parse("m", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestApplyFindsTheSnippetAnywhereAndReverts(t *testing.T) {
	t.Parallel()
	// The file gained lines above the snippet and other white space in it.
	root := writeTree(t, map[string]string{"service/outbox.go": "// moved down\n\n" + outbox})
	m := mustParse(t, `# an outbox job is retried forever
# test: ./service -run '^TestOutbox'
--- service/outbox.go
		case int(j.Attempts) >= o.MaxAttempts:
+++
	case false:
`)
	if m.doc != "an outbox job is retried forever" || m.test != `./service -run '^TestOutbox'` {
		t.Fatalf("header: got doc %q test %q", m.doc, m.test)
	}
	tr := newTree(root)
	if notes, err := tr.applyAll(m); err != nil || len(notes) != 0 {
		t.Fatalf("apply: got notes %v err %v, want neither", notes, err)
	}
	if err := tr.write(); err != nil {
		t.Fatal(err)
	}
	got := read(t, root, "service/outbox.go")
	if strings.Contains(got, "MaxAttempts") || !strings.Contains(got, "\tcase false:\n\t\tgiveUp()") {
		t.Fatalf("mutated file:\n%s", got)
	}
	if err := revert(root); err != nil {
		t.Fatal(err)
	}
	if got := read(t, root, "service/outbox.go"); got != "// moved down\n\n"+outbox {
		t.Fatalf("reverted file:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(root, backupDir)); !os.IsNotExist(err) {
		t.Fatalf("backup left behind: %v", err)
	}
}

func TestApplyFollowsCodeThatMoved(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{
		"service/outbox.go":      "package service\n",
		"service/outbox_jobs.go": outbox,
		"service/outbox_test.go": outbox, // tests are never mutated
	})
	m := mustParse(t, "# x\n# test: ./service\n--- service/outbox.go\ncase int(j.Attempts) >= o.MaxAttempts:\n+++\ncase false:\n")
	tr := newTree(root)
	notes, err := tr.applyAll(m)
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0], "service/outbox_jobs.go") {
		t.Fatalf("got notes %v err %v, want one note naming service/outbox_jobs.go", notes, err)
	}
	if err := tr.write(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, root, "service/outbox_jobs.go"); !strings.Contains(got, "case false:") {
		t.Fatalf("moved file not mutated:\n%s", got)
	}
	if got := read(t, root, "service/outbox_test.go"); got != outbox {
		t.Fatalf("test file mutated:\n%s", got)
	}
}

func TestStaleAndAmbiguousSnippets(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{
		"service/outbox.go": outbox,
		"service/twice.go":  "a\nx := 1\nb\nx := 1\n",
	})
	for name, src := range map[string]string{
		"gone":      "# x\n# test: ./service\n--- service/outbox.go\ncase j.Attempts >= o.MaxAttempts:\n+++\ncase false:\n",
		"twice":     "# x\n# test: ./service\n--- service/twice.go\nx := 1\n+++\nx := 2\n",
		"no file":   "# x\n# test: ./service\n--- service/none.go\nnothing here\n+++\n",
		"in two":    "# x\n# test: ./service\n--- service/none.go\nx := 1\n+++\n",
		"2nd stale": "# x\n# test: ./service\n--- service/outbox.go\ngiveUp()\n+++\n--- service/outbox.go\ngiveUp()\n+++\n",
	} {
		tr := newTree(root)
		if _, err := tr.applyAll(mustParse(t, src)); !errors.Is(err, errStale) {
			t.Errorf("%s: got %v, want stale", name, err)
		}
	}
	// Context lines make a repeated line unique.
	tr := newTree(root)
	if _, err := tr.applyAll(mustParse(t, "# x\n# test: ./service\n--- service/twice.go\nb\nx := 1\n+++\nb\nx := 2\n")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tr.files["service/twice.go"], "\n"); got != "a\nx := 1\nb\nx := 2\n" {
		t.Fatalf("got %q", got)
	}
}

func TestParseRefusesMalformedMutants(t *testing.T) {
	t.Parallel()
	for name, src := range map[string]string{
		"no test line":  "# x\n--- a.go\nx\n+++\ny\n",
		"no edit":       "# x\n# test: ./a\n",
		"no +++":        "# x\n# test: ./a\n--- a.go\nx\n",
		"first of two":  "# x\n# test: ./a\n--- a.go\nx\n--- a.go\ny\n+++\n",
		"empty snippet": "# x\n# test: ./a\n--- a.go\n\n+++\ny\n",
		"code first":    "# x\n# test: ./a\nx\n--- a.go\nx\n+++\n",
		"outside tree":  "# x\n# test: ./a\n--- ../a.go\nx\n+++\n",
	} {
		if _, err := parse(name, []byte(src)); err == nil {
			t.Errorf("%s: parsed, want an error", name)
		}
	}
}
