package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/service"
)

// consoleBar is the server time the admin console's directory pages must
// stay under at 1,000,000 users (p50 of each page's service calls).
const consoleBar = 50 * time.Millisecond

// benchConsoleFlags declares the flags of bench console.
func benchConsoleFlags(fs *flag.FlagSet) (users, iterations *int) {
	return fs.Int("users", 1_000_000, "users to seed"),
		fs.Int("iterations", 50, "measured runs of each page")
}

// benchConsole seeds the directory's users (seedDirectory) into its own
// database, gives them what the console filters on (Bench.SeedConsole),
// and times the service calls each admin console page makes, one page at
// a time, as an admin: the users page unfiltered and under each filter,
// first and at depth, a search by name and by phone, a user's page, an
// organization's page and the overview. It fails when a directory page
// (first or at depth) is over consoleBar at p50.
func benchConsole(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := newFlagSet("bench console")
	users, iterations := benchConsoleFlags(fs)
	if err := parseAll(fs, args); err != nil {
		return err
	}
	if *users < 2000 || *iterations < 1 {
		return fmt.Errorf("--users: at least 2000; --iterations: positive")
	}
	db, _, err := benchDBNamed(ctx, cfg, stdout, nil, "userd_bench_console")
	if err != nil {
		return err
	}
	defer db.Close()
	bench := service.NewBench(db)
	t0 := time.Now()
	if err := seedDirectory(ctx, bench, *users); err != nil {
		return err
	}
	target, err := bench.UserIDByPhone(ctx, directoryPhone(*users/2))
	if err != nil {
		return err
	}
	orgID, err := bench.SeedConsole(ctx, target)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d users with COPY, and the console's extras, in %s\n", *users, time.Since(t0).Round(time.Millisecond))

	key := make([]byte, 32)
	admin, social := service.NewAdmin(db, "IN", key), service.NewSocial(db, key)
	orgs := service.NewOrgs(db, "http://localhost", key)
	admin.LookupsPerMinute = 1 << 30
	// The viewer: an admin row of its own, as the console's caller is.
	viewerID, err := bench.SeedAdmin(ctx)
	if err != nil {
		return err
	}
	viewer := service.Principal{User: service.User{ID: viewerID, Role: service.RoleAdmin, IsActive: true}}
	const limit = 25 // the console's page size
	depth := *users - limit
	at, err := bench.DirectoryPosition(ctx, depth-1)
	if err != nil {
		return err
	}
	yes, no := true, false
	q, phone := "user_1", directoryPhone(*users/3/20*20 + 3)[3:] // a common prefix; an Indian number without +91
	pages := []struct {
		name string
		f    service.UserFilter
	}{
		{"users", service.UserFilter{}},
		{"users, email verified (2%)", service.UserFilter{EmailVerified: &yes}},
		{"users, email not verified (98%)", service.UserFilter{EmailVerified: &no}},
		{"users, active admins", service.UserFilter{Role: ptr("admin"), IsActive: &yes}},
		{"users, organization (0.1%)", service.UserFilter{OrganizationID: &orgID}},
		{"users, search \"" + q + "\" (11%)", service.UserFilter{Q: &q}},
		{"users, search phone " + phone, service.UserFilter{Q: &phone}},
	}
	type result struct {
		name        string
		first, deep []time.Duration
	}
	var results []result
	for _, p := range pages {
		lim := limit
		first := service.PageRequest{Limit: &lim}
		deep := first
		if deep.Cursor, err = admin.UserListCursor(p.f, at); err != nil {
			return err
		}
		list := func(req service.PageRequest) func(int) error {
			return func(int) error { _, err := admin.ListUsers(ctx, viewer, p.f, req); return err }
		}
		a, b, err := measurePair(3, *iterations, list(first), list(deep))
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		results = append(results, result{p.name, a, b})
	}
	userPage := func(int) error {
		if _, err := admin.Profile(ctx, viewer, target); err != nil {
			return err
		}
		if _, err := admin.UserGroups(ctx, viewer, target); err != nil {
			return err
		}
		if _, err := social.Stats(ctx, viewer, target); err != nil {
			return err
		}
		n := 20
		_, err := admin.AuditEvents(ctx, viewer, service.AuditFilter{TargetUserID: &target}, service.PageRequest{Limit: &n})
		return err
	}
	orgPage := func(int) error {
		if _, err := orgs.Get(ctx, viewer, orgID); err != nil {
			return err
		}
		_, err := orgs.Groups(ctx, viewer, orgID)
		return err
	}
	userLat, orgLat, err := measurePair(3, *iterations, userPage, orgPage)
	if err != nil {
		return err
	}
	overview := func(int) error { _, err := admin.Overview(ctx, viewer, time.Now()); return err }
	overLat, _, err := measurePair(1, min(*iterations, 10), overview, nil)
	if err != nil {
		return err
	}

	fmt.Fprintf(stdout, "admin console at %d users, page size %d, one page at a time through the service layer:\n", *users, limit)
	row := func(name string, lat []time.Duration) {
		fmt.Fprintf(stdout, "  %-56s %4d runs  p50 %9s  p99 %9s\n", name, len(lat),
			percentile(lat, 50).Round(time.Microsecond), percentile(lat, 99).Round(time.Microsecond))
	}
	var over []string
	for _, r := range results {
		row(r.name+", first page", r.first)
		row(r.name+", page at depth", r.deep)
		for _, lat := range [][]time.Duration{r.first, r.deep} {
			if percentile(lat, 50) > consoleBar {
				over = append(over, r.name)
			}
		}
	}
	row("a user's page (profile, groups, follows, audit trail)", userLat)
	row("an organization's page (1,000 members)", orgLat)
	row("overview (counts every user)", overLat)
	if len(over) > 0 {
		return fmt.Errorf("directory pages over %s at p50: %v", consoleBar, over)
	}
	fmt.Fprintf(stdout, "every directory page under %s at p50\n", consoleBar)
	return nil
}
