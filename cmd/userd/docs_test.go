package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// readRepoFile reads a file by its path from the repository root.
func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(path)))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

// TestDocsListEveryRoute checks that docs/api.md names every operation of
// httpapi/openapi.json as "`METHOD /path", so a route added to the
// contract cannot go undocumented.
func TestDocsListEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(readRepoFile(t, "httpapi/openapi.json")), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	api := readRepoFile(t, "docs/api.md")
	methods := []string{"get", "put", "post", "patch", "delete"}
	n := 0
	var missing []string
	for path, ops := range doc.Paths {
		for _, m := range methods {
			if _, ok := ops[m]; !ok {
				continue
			}
			n++
			// The route, then the end of the code span, a query or an
			// optional part: not a longer path that starts the same.
			re := regexp.MustCompile("`" + strings.ToUpper(m) + " " + regexp.QuoteMeta(path) + "[`?\\[]")
			if !re.MatchString(api) {
				missing = append(missing, strings.ToUpper(m)+" "+path)
			}
		}
	}
	if n < 50 {
		t.Fatalf("openapi.json: %d operations read, want the whole API (50 or more)", n)
	}
	sort.Strings(missing)
	for _, r := range missing {
		t.Errorf("docs/api.md does not list `%s` (write it as a row of the route table)", r)
	}
}

// TestDocsListEveryVariable checks that every environment variable
// `userd serve --help` lists appears, as code, in docs/configuration.md.
func TestDocsListEveryVariable(t *testing.T) {
	t.Setenv("USERD_ENV", "prod")
	out := runCmd(t, "serve", "--help")
	var names []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "Environment:":
			in = true
		case in && strings.HasPrefix(line, "  "):
			names = append(names, strings.Fields(line)[0])
		case in:
			in = false
		}
	}
	if len(names) < 30 {
		t.Fatalf("serve --help lists %d variables, want 30 or more:\n%s", len(names), out)
	}
	conf := readRepoFile(t, "docs/configuration.md")
	for _, name := range names {
		if !strings.Contains(conf, "`"+name+"`") {
			t.Errorf("docs/configuration.md does not mention `%s`, which serve --help lists", name)
		}
	}
}
