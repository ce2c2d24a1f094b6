package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/userd/userd/benchseed"
	"github.com/userd/userd/config"
	"github.com/userd/userd/password"
	"github.com/userd/userd/service"
	"github.com/userd/userd/signing"
)

// benchImportFlags declares the flags of bench import.
func benchImportFlags(fs *flag.FlagSet) (users, hashes, cost *int, bar *time.Duration) {
	return fs.Int("users", 100_000, "users in the generated file"),
		fs.Int("hashes", 16, "distinct bcrypt hashes (one password each) the users share"),
		fs.Int("cost", bcrypt.DefaultCost, "bcrypt cost of the generated hashes"),
		fs.Duration("bar", 60*time.Second, "fail when the import takes longer")
}

// benchImport writes a JSON Lines file of users with real bcrypt hashes
// (a few distinct ones, computed once, each of its own password) and
// imports it through the service into a fresh database, then signs in as
// one imported user, which must replace the bcrypt hash with argon2id.
func benchImport(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := newFlagSet("bench import")
	users, hashes, cost, bar := benchImportFlags(fs)
	if err := parseAll(fs, args); err != nil {
		return err
	}
	if *users < 1 || *hashes < 1 {
		return fmt.Errorf("bench import: -users and -hashes must be positive")
	}
	db, _, err := benchDBNamed(ctx, cfg, stdout, nil, "userd_bench_import")
	if err != nil {
		return err
	}
	defer db.Close()

	start := time.Now()
	pws := make([]string, *hashes)
	hs := make([]string, *hashes)
	for i := range hs {
		pws[i] = fmt.Sprintf("imported password %d", i)
		h, err := bcrypt.GenerateFromPassword([]byte(pws[i]), *cost)
		if err != nil {
			return err
		}
		hs[i] = string(h)
	}
	dir, err := os.MkdirTemp("", "userd-bench-import")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "users.jsonl")
	size, err := writeBenchUsers(path, *users, hs)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "generated %d users (%d bcrypt hashes of cost %d, every 10th with an identity) in %s: %.1f MiB\n",
		*users, *hashes, *cost, time.Since(start).Round(time.Millisecond), float64(size)/(1<<20))

	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	load, _ := os.ReadFile("/proc/loadavg")
	start = time.Now()
	res, err := service.NewImporter(db, cfg.DefaultRegion).Import(ctx, f, service.ImportOptions{})
	took := time.Since(start)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "import: %d imported, %d skipped, %d rejected in %s (%.0f users/s); load average before: %s\n",
		res.Imported, res.Skipped, res.Rejected, took.Round(time.Millisecond), float64(res.Imported)/took.Seconds(),
		strings.Join(strings.Fields(string(load))[:3], " "))
	if res.Imported != *users || res.Rejected != 0 {
		return fmt.Errorf("bench import: imported %d of %d users (%v)", res.Imported, *users, res.Problems)
	}

	// The same file again: every line names an existing user.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	start = time.Now()
	again, err := service.NewImporter(db, cfg.DefaultRegion).Import(ctx, f, service.ImportOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "import again: %d imported, %d skipped in %s\n", again.Imported, again.Skipped, time.Since(start).Round(time.Millisecond))

	if err := benchImportedLogin(ctx, db, pws[7%*hashes], 7, stdout); err != nil {
		return err
	}
	if took > *bar {
		return fmt.Errorf("bench import: %d users took %s, over the bar of %s", *users, took.Round(time.Millisecond), *bar)
	}
	fmt.Fprintf(stdout, "bar: %d users in %s ≤ %s: ok\n", *users, took.Round(time.Millisecond), *bar)
	return nil
}

// writeBenchUsers writes n users to path, user i with hash i%len(hashes).
func writeBenchUsers(path string, n int, hashes []string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	created := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		l := service.ImportLine{
			Email: ptr(fmt.Sprintf("imported%d@example.com", i)), Username: ptr(fmt.Sprintf("imported_%d", i)),
			Phone: ptr(fmt.Sprintf("+9198%08d", i)), FirstName: ptr("Imported"), LastName: ptr(fmt.Sprintf("User %d", i)),
			EmailVerified: ptr(true), PasswordHash: &hashes[i%len(hashes)], CreatedAt: ptr(created.Add(time.Duration(i) * time.Minute)),
		}
		if i%10 == 0 {
			l.Identities = []service.ImportIdentity{{Provider: "google", Subject: fmt.Sprintf("g-%d", i)}}
		}
		if err := enc.Encode(l); err != nil {
			f.Close()
			return 0, err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	return st.Size(), f.Close()
}

func ptr[T any](v T) *T { return &v }

// benchImportedLogin signs in as imported user i with its password: the
// bcrypt hash must verify and be replaced by argon2id.
func benchImportedLogin(ctx context.Context, db *service.DB, pw string, i int, stdout io.Writer) error {
	keys, err := signing.Generate()
	if err != nil {
		return err
	}
	hasher, err := password.NewHasher(password.DefaultParams)
	if err != nil {
		return err
	}
	a := service.NewAccounts(db, service.AccountsConfig{Keys: keys, Hasher: hasher, Issuer: "http://bench", Audience: "userd", PublicURL: "http://bench"})
	start := time.Now()
	if _, err := a.Login(ctx, fmt.Sprintf("imported%d@example.com", i), pw, service.Client{}); err != nil {
		return fmt.Errorf("bench import: login as an imported user: %w", err)
	}
	took := time.Since(start)
	scheme, err := benchseed.New(db).PasswordScheme(ctx, fmt.Sprintf("imported_%d", i))
	if err != nil {
		return err
	}
	if scheme != password.Argon2id {
		return fmt.Errorf("bench import: after the first login the hash is %s, want argon2id", scheme)
	}
	fmt.Fprintf(stdout, "login as imported user %d: bcrypt verified and replaced by argon2id in %s\n", i, took.Round(time.Millisecond))
	return nil
}
