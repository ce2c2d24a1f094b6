package service_test

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/userd/userd"

// dataLayer names the import paths only the data layer may import: the
// generated queries and the PostgreSQL driver.
func dataLayer(path string) bool {
	return path == module+"/dbgen" || path == "github.com/jackc/pgx/v5" || strings.HasPrefix(path, "github.com/jackc/pgx/v5/")
}

// allowedDataImports are the non-test files outside service that may
// import pgx, each for a reason: applying migrations, cloning test
// databases, reading DATABASE_URL (dburl: pool parameters, single
// connections, the pool's cancel handling), cmd/userd's pool setup and the
// benchmarks' seeding (benchseed). A package is listed whole ("dir/"),
// cmd/userd by its one file.
var allowedDataImports = []string{"migrate/", "pgtest/", "dburl/", "cmd/userd/db.go", "benchseed/"}

// dbgenException is the one package beside service that may import
// dbgen: the benchmarks' seeding, whose baselines run the very queries
// the service runs.
const dbgenException = "benchseed/"

// TestOnlyServiceImportsTheDataLayer reads the imports of every non-test
// Go file of the module (as the go tool selects them for this platform)
// and fails when a package other than service imports dbgen or pgx,
// beyond the allowed exceptions; an exception that no longer imports pgx
// fails too, so the list stays minimal.
func TestOnlyServiceImportsTheDataLayer(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root %s: %v", root, err)
	}
	used := map[string]bool{}
	serviceSeen := false
	err = filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, dir)
		rel = filepath.ToSlash(rel)
		name := d.Name()
		if rel != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
			return filepath.SkipDir
		}
		if rel != "." {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return filepath.SkipDir // another module (tools)
			}
		}
		pkg, err := build.ImportDir(dir, 0)
		if _, none := err.(*build.NoGoError); none {
			return nil
		}
		if err != nil {
			return err
		}
		for path, positions := range pkg.ImportPos { // non-test files only
			if !dataLayer(path) {
				continue
			}
			if rel == "service" {
				serviceSeen = serviceSeen || path == module+"/dbgen"
				continue
			}
			if rel == "dbgen" {
				continue
			}
			for _, pos := range positions {
				file := rel + "/" + filepath.Base(pos.Filename)
				i := slices.IndexFunc(allowedDataImports, func(a string) bool {
					return a == file || (strings.HasSuffix(a, "/") && a == rel+"/")
				})
				if i < 0 || (path == module+"/dbgen" && allowedDataImports[i] != dbgenException) {
					t.Errorf("%s imports %s: only service may (go through a service method)", file, path)
					continue
				}
				used[allowedDataImports[i]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !serviceSeen {
		t.Fatal("service does not import dbgen: the walk did not read the module's imports")
	}
	for _, a := range allowedDataImports {
		if !used[a] {
			t.Errorf("%s is an allowed exception but imports no pgx: remove it from the list", a)
		}
	}
}
