package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/service"
)

// importFlags declares the flags of import.
func importFlags(fs *flag.FlagSet) (update, allowRejects, matchOrgByName *bool, batch *int, orgPlan *string) {
	return fs.Bool("update", false, "merge each line into the existing user its email, phone or identity names, instead of skipping it"),
		fs.Bool("allow-rejects", false, "exit 0 even when lines were rejected"),
		fs.Bool("match-org-by-name", false, "an organization name no import created joins the one organization of that name, when exactly one exists"),
		fs.Int("batch", 5000, "lines per transaction"),
		fs.String("org-plan", "free", "plan of the organizations the import creates")
}

var importCommand = &command{
	name:    "import",
	args:    "[flags] FILE|-",
	summary: "import users from a JSON Lines file (or - for standard input), with their foreign password hashes",
	about: `Imports users from JSON Lines, one user a line, in the format of the
README's "Migrating to userd": the user fields of the API, an optional
password_hash of another system (bcrypt $2a$/$2b$/$2y$, Django
pbkdf2_sha256/pbkdf2_sha1, argon2id/argon2i PHC; replaced by argon2id at the
user's first login), identities [{provider, subject}] and an organization:
organization_id (an existing one), or organization, the name of one the
import creates under organization_key (by default the name) and finds by
that key when imported again. An organization made through the API is
never joined by its name, unless --match-org-by-name and exactly one
organization has that name.

Each line is validated as the API validates the same fields; a bad line is
reported on standard error as "line N: field: reason" and nothing of it is
written. A user whose email, phone or identity exists already is skipped
(--update merges the line into it instead), so a file can be imported
again. An organization the import creates is on --org-plan; lines beyond
the seats of an organization's plan are rejected (raise the plan and import
again to bring them in).

Lines go in batches, each one transaction (COPY into a staging table, then
one set-based insert). On a terminal a progress line (count, rate, ETA)
is shown at least every 2 s. At the end it prints the imported, updated,
skipped and rejected counts, and exits 1 when a line was rejected, unless
--allow-rejects. In dev it migrates first.`,
	flags:   []flagSection{{declare: func(fs *flag.FlagSet) { importFlags(fs) }}},
	env:     []string{"USERD_ENV", "DATABASE_URL", "USERD_DATA_DIR", "USERD_DEFAULT_REGION", "USERD_LOG_LEVEL"},
	example: "DATABASE_URL=postgres://userd@db/userd userd import users.jsonl\nuserd export | DATABASE_URL=postgres://userd@other/userd userd import --update -",
	run:     runImport,
}

func runImport(ctx context.Context, e cmdEnv, args []string) error {
	fs := newFlagSet("import")
	update, allowRejects, matchOrgByName, batch, orgPlan := importFlags(fs)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErrorf("import takes one FILE or - for standard input, got %q (see `userd import --help`)", rest)
	}
	var in io.Reader = os.Stdin
	var size int64
	if rest[0] != "-" {
		f, err := os.Open(rest[0])
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		in = f
	}
	db, err := openBulkDB(ctx, e.cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	opt := service.ImportOptions{Update: *update, BatchSize: *batch, OrgPlan: *orgPlan, MatchOrgByName: *matchOrgByName}
	var prog *progress
	if isTerminal(e.stderr) {
		prog = newProgress(e.stderr, size)
		opt.Progress = prog.report
		stop := prog.tick(2 * time.Second)
		defer stop()
	}
	res, err := service.NewImporter(db, e.cfg.DefaultRegion).Import(ctx, in, opt)
	if prog != nil {
		prog.done()
	}
	for _, p := range res.Problems {
		fmt.Fprintln(e.stderr, p)
	}
	fmt.Fprintf(e.stdout, "imported %d, updated %d, skipped %d, rejected %d\n", res.Imported, res.Updated, res.Skipped, res.Rejected)
	if err != nil {
		return err
	}
	if res.Rejected > 0 && !*allowRejects {
		return fmt.Errorf("%d lines rejected (--allow-rejects to exit 0)", res.Rejected)
	}
	return nil
}

var exportCommand = &command{
	name:    "export",
	args:    "[-o FILE]",
	summary: "write every live user as JSON Lines in the import format (no secrets)",
	about: `Writes every user that is not deleted, in id order, as JSON Lines in the
format import reads: no password hash, token or session goes out.
Importing the output into an empty database and exporting again gives the
same lines. In dev it migrates first.`,
	flags:   []flagSection{{declare: func(fs *flag.FlagSet) { exportFlags(fs) }}},
	env:     []string{"USERD_ENV", "DATABASE_URL", "USERD_DATA_DIR", "USERD_LOG_LEVEL"},
	example: "DATABASE_URL=postgres://userd@db/userd userd export -o users.jsonl",
	run:     runExport,
}

func exportFlags(fs *flag.FlagSet) *string {
	return fs.String("o", "", "write to FILE instead of standard output")
}

func runExport(ctx context.Context, e cmdEnv, args []string) (err error) {
	fs := newFlagSet("export")
	out := exportFlags(fs)
	if err := parseAll(fs, args); err != nil {
		return err
	}
	db, err := openBulkDB(ctx, e.cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	w := e.stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, f.Close()) }()
		w = f
	}
	n, err := service.NewImporter(db, e.cfg.DefaultRegion).Export(ctx, w)
	if *out != "" {
		fmt.Fprintf(e.stderr, "exported %d users to %s\n", n, *out)
	}
	return err
}

// openBulkDB opens the configured database for a bulk command: its
// statements are not bound by USERD_DB_TIMEOUT, which is for requests.
func openBulkDB(ctx context.Context, cfg config.Config) (*service.DB, error) {
	cfg.Limits.DBTimeout = 0
	return openDB(ctx, cfg, true, nil, service.CacheConfig{}, nil)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
