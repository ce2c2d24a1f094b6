// Command mutant applies, checks and reverts the curated mutants of
// scripts/mutants/ (scripts/mutate.sh runs it; docs/contributing.md).
//
//	mutant check  [-C DIR] FILE...   does each mutant still find its code?
//	mutant apply  [-C DIR] FILE      apply one mutant to the tree in DIR
//	mutant revert [-C DIR]           undo what apply changed
//
// A mutant file (NAME.mutant) is a header and one or more edits:
//
//	# what the mutant breaks, in one line
//	# test: ./service -run '^TestOutbox'
//	# survives: why it is equivalent or acceptable (known survivors only)
//	--- service/outbox.go
//		case int(j.Attempts) >= o.MaxAttempts:
//	+++
//		case false:
//
// The lines after "--- FILE" up to "+++" are the code as it is; the lines
// after "+++" up to the next "--- " or the end replace it (none: delete
// it). Lines are compared without their leading and trailing white space
// and with inner runs of white space as one, so re-indentation and gofmt's
// alignment do not matter. The snippet may be anywhere in FILE; when FILE no
// longer holds it, the other files of FILE's directory with the same
// extension are searched, so code that moved between files is still found
// (reported as "moved"). A snippet found nowhere is stale, one found more
// than once ambiguous: both mean the mutant must be rewritten.
//
// Exit status: 0 when every mutant applies; 2 when one is stale or
// ambiguous; 1 on any other error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// backupDir, under the tree, holds the files apply changed, for revert. Go
// ignores directories whose names begin with a dot.
const backupDir = ".mutant-orig"

// errStale marks a mutant whose code is no longer where it says.
var errStale = errors.New("stale")

// edit replaces one snippet of a file.
type edit struct {
	file string   // slash path relative to the tree
	old  []string // the code as it is
	new  []string // its replacement
	line int      // line of "--- FILE" in the mutant file
}

// mutant is one parsed mutant file.
type mutant struct {
	name  string
	doc   string // first header line
	test  string // the "# test:" value
	edits []edit
}

// parse reads a mutant file's contents.
func parse(name string, data []byte) (mutant, error) {
	m := mutant{name: name}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var cur *edit
	inNew := false
	for i, l := range lines {
		switch {
		case cur == nil && strings.HasPrefix(l, "#"):
			v := strings.TrimSpace(strings.TrimPrefix(l, "#"))
			if m.doc == "" {
				m.doc = v
			}
			if t, ok := strings.CutPrefix(v, "test:"); ok {
				m.test = strings.TrimSpace(t)
			}
		case cur == nil && strings.TrimSpace(l) == "":
		case strings.HasPrefix(l, "--- "):
			f := strings.TrimSpace(strings.TrimPrefix(l, "--- "))
			if f == "" || path.IsAbs(f) || strings.HasPrefix(path.Clean(f), "..") {
				return m, fmt.Errorf("%s:%d: bad file %q", name, i+1, f)
			}
			m.edits = append(m.edits, edit{file: path.Clean(f), line: i + 1})
			cur, inNew = &m.edits[len(m.edits)-1], false
		case cur == nil:
			return m, fmt.Errorf("%s:%d: code before the first \"--- FILE\" line", name, i+1)
		case strings.TrimSpace(l) == "+++" && !inNew:
			inNew, cur.new = true, []string{}
		case inNew:
			cur.new = append(cur.new, l)
		default:
			cur.old = append(cur.old, l)
		}
	}
	if len(m.edits) == 0 {
		return m, fmt.Errorf("%s: no edit", name)
	}
	for i := range m.edits {
		e := &m.edits[i]
		if e.new == nil { // set to non-nil at its "+++" line
			return m, fmt.Errorf("%s:%d: no \"+++\" line", name, e.line)
		}
		e.old, e.new = trimBlank(e.old), trimBlank(e.new)
		if len(e.old) == 0 {
			return m, fmt.Errorf("%s:%d: empty snippet", name, e.line)
		}
	}
	if m.test == "" {
		return m, fmt.Errorf("%s: no \"# test:\" line", name)
	}
	return m, nil
}

// trimBlank drops leading and trailing blank lines.
func trimBlank(ls []string) []string {
	for len(ls) > 0 && strings.TrimSpace(ls[0]) == "" {
		ls = ls[1:]
	}
	for len(ls) > 0 && strings.TrimSpace(ls[len(ls)-1]) == "" {
		ls = ls[:len(ls)-1]
	}
	if ls == nil {
		ls = []string{}
	}
	return ls
}

// norm is a line as compared: no outer white space, inner runs as one space.
func norm(s string) string { return strings.Join(strings.Fields(s), " ") }

// find returns the line index of every place lines holds snippet.
func find(lines, snippet []string) []int {
	want := make([]string, len(snippet))
	for i, s := range snippet {
		want[i] = norm(s)
	}
	var at []int
	for i := 0; i+len(want) <= len(lines); i++ {
		ok := true
		for j, w := range want {
			if norm(lines[i+j]) != w {
				ok = false
				break
			}
		}
		if ok {
			at = append(at, i)
		}
	}
	return at
}

// tree holds the files of a tree as read and edited in memory.
type tree struct {
	root  string
	files map[string][]string // slash path → lines
	orig  map[string][]byte   // slash path → contents before any edit
}

func (t *tree) lines(file string) ([]string, error) {
	if ls, ok := t.files[file]; ok {
		return ls, nil
	}
	b, err := os.ReadFile(filepath.Join(t.root, filepath.FromSlash(file)))
	if err != nil {
		return nil, err
	}
	t.orig[file] = b
	t.files[file] = strings.Split(string(b), "\n")
	return t.files[file], nil
}

// siblings lists the files beside file with its extension (for Go source,
// not tests), file itself excluded.
func (t *tree) siblings(file string) ([]string, error) {
	dir, ext := path.Dir(file), path.Ext(file)
	ents, err := os.ReadDir(filepath.Join(t.root, filepath.FromSlash(dir)))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		p := path.Join(dir, n)
		if e.IsDir() || p == file || path.Ext(n) != ext || strings.HasSuffix(n, "_test.go") {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// applyEdit finds e's snippet and replaces it in memory. It returns the
// file it found the snippet in.
func (t *tree) applyEdit(e edit) (string, error) {
	ls, err := t.lines(e.file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	at := find(ls, e.old)
	where := e.file
	if len(at) == 0 {
		sib, err := t.siblings(e.file)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		var hits []string
		for _, f := range sib {
			fl, err := t.lines(f)
			if err != nil {
				return "", err
			}
			if a := find(fl, e.old); len(a) > 0 {
				hits = append(hits, f)
				where, at = f, a
			}
		}
		switch {
		case len(hits) == 0:
			return "", fmt.Errorf("%w: line %d: the snippet beginning %q is in neither %s nor another %s file of %s/",
				errStale, e.line, norm(e.old[0]), e.file, path.Ext(e.file), path.Dir(e.file))
		case len(hits) > 1:
			return "", fmt.Errorf("%w: line %d: the snippet is not in %s but in %s: ambiguous, name the file",
				errStale, e.line, e.file, strings.Join(hits, ", "))
		}
	}
	if len(at) > 1 {
		nums := make([]string, len(at))
		for i, a := range at {
			nums[i] = fmt.Sprint(a + 1)
		}
		return "", fmt.Errorf("%w: line %d: the snippet is %d times in %s (lines %s): ambiguous, add a line of context",
			errStale, e.line, len(at), where, strings.Join(nums, ", "))
	}
	ls = t.files[where]
	out := make([]string, 0, len(ls)-len(e.old)+len(e.new))
	out = append(out, ls[:at[0]]...)
	out = append(out, e.new...)
	out = append(out, ls[at[0]+len(e.old):]...)
	t.files[where] = out
	return where, nil
}

// applyAll applies every edit of m in memory and returns notes on snippets
// found in another file than the one named.
func (t *tree) applyAll(m mutant) ([]string, error) {
	var notes []string
	for _, e := range m.edits {
		where, err := t.applyEdit(e)
		if err != nil {
			return notes, err
		}
		if where != e.file {
			notes = append(notes, fmt.Sprintf("moved: line %d names %s, the code is in %s", e.line, e.file, where))
		}
	}
	return notes, nil
}

// write saves the edited files, keeping their originals under backupDir.
func (t *tree) write() error {
	names := make([]string, 0, len(t.files))
	for f := range t.files {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		b := []byte(strings.Join(t.files[f], "\n"))
		if string(b) == string(t.orig[f]) {
			continue
		}
		dst := filepath.Join(t.root, filepath.FromSlash(f))
		bak := filepath.Join(t.root, backupDir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(bak), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(bak, t.orig[f], 0o644); err != nil {
			return fmt.Errorf("back up %s: %w", f, err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f, err)
		}
	}
	return nil
}

// revert restores the files under root's backupDir and removes it.
func revert(root string) error {
	bak := filepath.Join(root, backupDir)
	err := filepath.WalkDir(bak, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(bak, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(root, rel), b, 0o644)
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("revert: %w", err)
	}
	return os.RemoveAll(bak)
}

func load(file string) (mutant, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return mutant{}, err
	}
	return parse(strings.TrimSuffix(filepath.Base(file), ".mutant"), b)
}

func newTree(root string) *tree {
	return &tree{root: root, files: map[string][]string{}, orig: map[string][]byte{}}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: mutant check|apply|revert [-C DIR] [FILE...]")
		os.Exit(1)
	}
	cmd := os.Args[1]
	fl := flag.NewFlagSet(cmd, flag.ExitOnError)
	root := fl.String("C", ".", "the tree to work in")
	_ = fl.Parse(os.Args[2:])
	os.Exit(run(cmd, *root, fl.Args()))
}

// run carries out cmd and returns the exit status.
func run(cmd, root string, args []string) int {
	switch cmd {
	case "check":
		status := 0
		for _, f := range args {
			m, err := load(f)
			if err != nil {
				fmt.Printf("%-10s %s\n", "ERROR", err)
				status = max(status, 1)
				continue
			}
			notes, err := newTree(root).applyAll(m)
			switch {
			case errors.Is(err, errStale):
				fmt.Printf("%-10s %-40s %v\n", "STALE", m.name, err)
				status = 2
			case err != nil:
				fmt.Printf("%-10s %-40s %v\n", "ERROR", m.name, err)
				status = max(status, 1)
			case len(notes) > 0:
				fmt.Printf("%-10s %-40s %s\n", "moved", m.name, strings.Join(notes, "; "))
			default:
				fmt.Printf("%-10s %s\n", "ok", m.name)
			}
		}
		return status
	case "apply":
		if len(args) != 1 {
			fmt.Fprintln(os.Stderr, "mutant apply: one mutant file")
			return 1
		}
		m, err := load(args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, "mutant:", err)
			return 1
		}
		t := newTree(root)
		notes, err := t.applyAll(m)
		if err != nil {
			fmt.Println(err)
			if errors.Is(err, errStale) {
				return 2
			}
			return 1
		}
		for _, n := range notes {
			fmt.Println(n)
		}
		if err := t.write(); err != nil {
			fmt.Fprintln(os.Stderr, "mutant:", err)
			_ = revert(root)
			return 1
		}
		return 0
	case "revert":
		if err := revert(root); err != nil {
			fmt.Fprintln(os.Stderr, "mutant:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "mutant: unknown command %q\n", cmd)
	return 1
}
