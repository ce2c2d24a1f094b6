package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/service"
)

// maxDepthRatio bounds the keyset page at depth against the first page
// (docs/benchmarks.md: a page at depth 1,000,000 costs about what the first costs).
const maxDepthRatio = 1.5

// offsetRuns bounds the OFFSET measurement, which reads the whole index
// up to the page on every run.
const offsetRuns = 20

// Seeded phone numbers. User i has one of:
//
//	+919<i:09>  India (most users)
//	+447<i:09>  UK, i%20 == phoneUK: its last ten digits 7<i:09> belong to
//	            nobody else, and +917<i:09> to nobody at all, so that
//	            number is found by the last-ten-digits fallback only
//	+79<i-1:09> Russia, i%20 == phoneShared: the last ten digits of the
//	            Indian user i-1, so +449<i-1:09>, nobody's number, finds
//	            two by the fallback and is ambiguous
const (
	phoneUK     = 7
	phoneShared = 13
	backdated   = 17 // i%20: created_at anywhere in the span (an import)
)

var (
	firstNames = []string{"Aarav", "Diya", "Vivaan", "Ananya", "Ishaan", "Saanvi", "Kabir", "Myra", "Arjun", "Kiara", "Olivia", "Noah", "Amelia", "Liam"}
	lastNames  = []string{"Sharma", "Patel", "Iyer", "Reddy", "Khan", "Gupta", "Nair", "Das", "Singh", "Mehta", "Smith", "Jones", "Brown", "Taylor"}
)

func directoryPhone(i int) string {
	switch i % 20 {
	case phoneUK:
		return fmt.Sprintf("+447%09d", i)
	case phoneShared:
		return fmt.Sprintf("+79%09d", i-1)
	}
	return fmt.Sprintf("+919%09d", i)
}

// benchDirectoryFlags declares the flags of bench directory.
func benchDirectoryFlags(fs *flag.FlagSet) (users, iterations, limit *int) {
	return fs.Int("users", 1_000_000, "users to seed"),
		fs.Int("iterations", 200, "measured runs of each call (OFFSET: at most 20)"),
		fs.Int("limit", 50, "page size (1-200)")
}

// benchDirectory seeds users with COPY and measures the admin directory
// through the service layer, one call at a time: the first keyset page,
// the keyset page at depth ~users, the same page by OFFSET, and the phone
// lookup, exact and by the last ten digits. It fails when the keyset page
// at depth costs more than maxDepthRatio times the first page (p50).
func benchDirectory(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := newFlagSet("bench directory")
	users, iterations, limit := benchDirectoryFlags(fs)
	if err := parseAll(fs, args); err != nil {
		return err
	}
	switch {
	case *limit < 1 || *limit > service.MaxPageLimit:
		return fmt.Errorf("--limit: must be between 1 and %d", service.MaxPageLimit)
	case *users < 2*(*limit) || *users < 100:
		return fmt.Errorf("--users: must be at least 100 and twice --limit")
	case *iterations < 1:
		return fmt.Errorf("--iterations: must be positive")
	}
	db, bench, err := benchOpen(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	defer db.Close()

	t0 := time.Now()
	if err := seedDirectory(ctx, bench, *users); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d users with COPY and analyzed in %s\n", *users, time.Since(t0).Round(time.Millisecond))

	key := make([]byte, 32) // any key: the cursors live as long as the run
	admin := service.NewAdmin(db, "IN", key)
	viewer := service.Console()
	page := service.PageRequest{Limit: limit}

	// The page at depth: the rows after the one at offset depth-1, which
	// are the rows OFFSET depth returns.
	depth := *users - *limit
	at, err := bench.DirectoryPosition(ctx, depth-1)
	if err != nil {
		return err
	}
	deep := page
	if deep.Cursor, err = admin.UserListCursor(service.UserFilter{}, at); err != nil {
		return err
	}
	first := func() error {
		_, err := admin.ListUsers(ctx, service.Console(), service.UserFilter{}, page)
		return err
	}
	keyset := func() error {
		_, err := admin.ListUsers(ctx, service.Console(), service.UserFilter{}, deep)
		return err
	}
	offset := func() error { _, err := bench.DirectoryOffsetPage(ctx, depth, *limit); return err }

	// Both keyset pages must be the pages OFFSET returns.
	for _, c := range []struct {
		req    service.PageRequest
		offset int
	}{{page, 0}, {deep, depth}} {
		got, err := admin.ListUsers(ctx, service.Console(), service.UserFilter{}, c.req)
		if err != nil {
			return err
		}
		want, err := bench.DirectoryOffsetPage(ctx, c.offset, *limit)
		if err != nil {
			return err
		}
		if !slices.Equal(ids(got.Items), want) {
			return fmt.Errorf("keyset page at offset %d differs from OFFSET %d", c.offset, c.offset)
		}
	}

	// Lookup inputs, spread over the table: an existing E.164 number; a
	// +91 number that exists only as a UK number with the same last ten
	// digits; a UK number whose last ten digits an Indian and a Russian
	// number share.
	const targets = 64
	var exact, last10, shared []string
	var last10IDs []int64
	for k := range targets {
		i := k * (*users / targets) / 20 * 20
		exact = append(exact, directoryPhone(i+3))
		last10 = append(last10, fmt.Sprintf("+917%09d", i+phoneUK))
		shared = append(shared, fmt.Sprintf("+449%09d", i+phoneShared-1))
		id, err := bench.UserIDByPhone(ctx, directoryPhone(i+phoneUK))
		if err != nil {
			return fmt.Errorf("lookup target: %w", err)
		}
		last10IDs = append(last10IDs, id)
	}
	lookup := func(p string) (service.User, error) {
		return admin.Lookup(ctx, viewer, service.LookupQuery{Phone: &p})
	}
	byExact := func(n int) error {
		p := exact[n%targets]
		u, err := lookup(p)
		if err == nil && (u.Phone == nil || *u.Phone != p) {
			err = errors.New("found another user")
		}
		if err != nil {
			return fmt.Errorf("lookup %s: %w", p, err)
		}
		return nil
	}
	byLast10 := func(n int) error {
		p := last10[n%targets]
		u, err := lookup(p)
		if err == nil && u.ID != last10IDs[n%targets] {
			err = fmt.Errorf("found user %d, want %d", u.ID, last10IDs[n%targets])
		}
		if err != nil {
			return fmt.Errorf("lookup %s: %w", p, err)
		}
		return nil
	}
	byShared := func(n int) error {
		p := shared[n%targets]
		if _, err := lookup(p); !errors.Is(err, service.ErrAmbiguousPhone) {
			return fmt.Errorf("lookup %s: got %v, want ambiguous_phone", p, err)
		}
		return nil
	}

	// Warm up, then measure in pairs, alternately, so that the load of the
	// shared machine falls on both alike.
	warm := min(*iterations, 20)
	firstLat, deepLat, err := measurePair(warm, *iterations, func(int) error { return first() }, func(int) error { return keyset() })
	if err != nil {
		return err
	}
	offLat, _, err := measurePair(1, min(*iterations, offsetRuns), func(int) error { return offset() }, nil)
	if err != nil {
		return err
	}
	exactLat, last10Lat, err := measurePair(warm, *iterations, byExact, byLast10)
	if err != nil {
		return err
	}
	sharedLat, _, err := measurePair(warm, *iterations, byShared, nil)
	if err != nil {
		return err
	}

	fmt.Fprintf(stdout, "directory of %d users, page size %d, one call at a time through the service layer:\n", *users, *limit)
	row := func(name string, lat []time.Duration) {
		fmt.Fprintf(stdout, "  %-48s %4d runs  p50 %9s  p99 %9s\n", name, len(lat),
			percentile(lat, 50).Round(time.Microsecond), percentile(lat, 99).Round(time.Microsecond))
	}
	row("keyset, first page", firstLat)
	row(fmt.Sprintf("keyset, page at depth %d", depth), deepLat)
	row(fmt.Sprintf("OFFSET %d LIMIT %d (plain SQL)", depth, *limit), offLat)
	row("phone lookup, exact E.164", exactLat)
	row("phone lookup, last 10 digits (fallback)", last10Lat)
	row("phone lookup, last 10 digits shared (ambiguous)", sharedLat)
	ratio := float64(percentile(deepLat, 50)) / float64(percentile(firstLat, 50))
	fmt.Fprintf(stdout, "keyset at depth / first page (p50): %.2f (bar %.1f); p99: %.2f; OFFSET / keyset at depth (p50): %.0f\n",
		ratio, maxDepthRatio, float64(percentile(deepLat, 99))/float64(percentile(firstLat, 99)),
		float64(percentile(offLat, 50))/float64(percentile(deepLat, 50)))
	if ratio > maxDepthRatio {
		return fmt.Errorf("keyset page at depth %d costs %.2f× the first page (p50), over %.1f×", depth, ratio, maxDepthRatio)
	}
	return nil
}

// seedDirectory seeds users users with COPY (directoryPhone's numbers):
// created_at spreads them over three years, oldest first, with every tenth
// user sharing the previous one's instant (the id breaks the tie) and one
// in twenty backdated anywhere in the span.
func seedDirectory(ctx context.Context, bench *service.Bench, users int) error {
	end := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	span := 3 * 365 * 24 * time.Hour
	start := end.Add(-span)
	step := span / time.Duration(users)
	rng := rand.New(rand.NewPCG(1, 2))
	var prev time.Time
	return bench.SeedUsers(ctx, users,
		[]string{"username", "email", "phone", "first_name", "last_name", "is_seed_data", "created_at", "updated_at"},
		func(i int) []any {
			at := start.Add(time.Duration(i)*step + time.Duration(rng.Int64N(int64(step)))).Truncate(time.Microsecond)
			switch {
			case i%10 == 1:
				at = prev
			case i%20 == backdated:
				at = start.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Microsecond)
			}
			prev = at
			return []any{
				fmt.Sprintf("user_%d", i), fmt.Sprintf("user%d@example.com", i), directoryPhone(i),
				firstNames[i%len(firstNames)], lastNames[(i/len(firstNames))%len(lastNames)], true, at, at,
			}
		})
}

func ids(us []service.User) []int64 {
	out := make([]int64, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

// measurePair runs a and b (b may be nil) warm times each unmeasured,
// then n times each, alternately, and returns their latencies.
func measurePair(warm, n int, a, b func(int) error) (la, lb []time.Duration, err error) {
	for i := range warm {
		if err := a(i); err != nil {
			return nil, nil, err
		}
		if b != nil {
			if err := b(i); err != nil {
				return nil, nil, err
			}
		}
	}
	for i := range n {
		t := time.Now()
		if err := a(i); err != nil {
			return nil, nil, err
		}
		la = append(la, time.Since(t))
		if b != nil {
			t = time.Now()
			if err := b(i); err != nil {
				return nil, nil, err
			}
			lb = append(lb, time.Since(t))
		}
	}
	return la, lb, nil
}

// percentile returns the nearest-rank p-th percentile of lat.
func percentile(lat []time.Duration, p int) time.Duration {
	s := slices.Sorted(slices.Values(lat))
	k := (len(s)*p + 99) / 100
	return s[max(k, 1)-1]
}
