package service

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/userd/userd/dbgen"
	"github.com/userd/userd/password"
)

// ImportLine is one line of the import format (JSON Lines), which is also
// what Export writes: the user fields of the API's private view that move
// between systems, an optional password hash of another system, the
// external logins and the organization. Absent and null fields are unset.
//
// The organization is named unambiguously: OrganizationID is an existing
// organization by id; Organization is the name of an organization the
// import creates, under OrganizationKey (by default the name), and finds
// by that key on every later import, never one made through the API. With
// ImportOptions.MatchOrgByName, a name without an organization of that key
// joins the one organization of that name, if exactly one exists.
type ImportLine struct {
	Email           *string          `json:"email,omitempty"`
	Phone           *string          `json:"phone,omitempty"`
	Username        *string          `json:"username,omitempty"`
	FirstName       *string          `json:"first_name,omitempty"`
	LastName        *string          `json:"last_name,omitempty"`
	Bio             *string          `json:"bio,omitempty"`
	DateOfBirth     *string          `json:"date_of_birth,omitempty"`
	InstagramHandle *string          `json:"instagram_handle,omitempty"`
	Country         *string          `json:"country,omitempty"`
	City            *string          `json:"city,omitempty"`
	Zipcode         *string          `json:"zipcode,omitempty"`
	Role            *string          `json:"role,omitempty"`
	ArtistID        *int64           `json:"artist_id,omitempty"`
	IsActive        *bool            `json:"is_active,omitempty"`
	IsVerified      *bool            `json:"is_verified,omitempty"`
	EmailVerified   *bool            `json:"email_verified,omitempty"`
	PhoneVerified   *bool            `json:"phone_verified,omitempty"`
	Preferences     json.RawMessage  `json:"preferences,omitempty"`
	Location        *ImportLocation  `json:"location,omitempty"`
	CreatedAt       *time.Time       `json:"created_at,omitempty"`
	PasswordHash    *string          `json:"password_hash,omitempty"`
	Identities      []ImportIdentity `json:"identities,omitempty"`
	Organization    *string          `json:"organization,omitempty"`
	OrganizationKey *string          `json:"organization_key,omitempty"`
	OrganizationID  *int64           `json:"organization_id,omitempty"`
}

// ImportLocation is a position in the import format.
type ImportLocation struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
}

// ImportIdentity is an external login in the import format.
type ImportIdentity struct {
	Provider string `json:"provider"`
	Subject  string `json:"subject"`
}

// ImportOptions tune an import.
type ImportOptions struct {
	// Update merges a line into the existing user its email, phone or
	// identity names, instead of skipping it.
	Update bool
	// BatchSize is how many lines go in one transaction: 5000 when 0.
	BatchSize int
	// OrgPlan is the plan of the organizations the import creates:
	// "free" when empty.
	OrgPlan string
	// MatchOrgByName lets a line's organization name, when no organization
	// was imported under its key, join the organization of that name if
	// exactly one exists (a line naming several is rejected).
	MatchOrgByName bool
	// Progress, when set, is called after every batch.
	Progress func(ImportProgress)
}

// ImportProgress is how far an import is.
type ImportProgress struct {
	Lines     int   // lines read
	BytesRead int64 // bytes read
	ImportResult
}

// ImportResult counts an import's lines, and lists the rejected ones.
type ImportResult struct {
	Imported int // new users
	Updated  int // existing users merged into (ImportOptions.Update)
	Skipped  int // existing users (email, phone or identity), left alone
	Rejected int
	Problems []LineProblem // one for each rejected line, in line order
}

// LineProblem is why a line was rejected.
type LineProblem struct {
	Line   int
	Field  string
	Reason string
}

func (p LineProblem) String() string {
	return "line " + strconv.Itoa(p.Line) + ": " + p.Field + ": " + p.Reason
}

// maxImportLine bounds one line of the import format.
const maxImportLine = 1 << 20

// Importer brings users from other systems: a JSON Lines file, one user a
// line, validated as the API validates them.
type Importer struct {
	db    *DB
	users *Users // the API's validation of profile fields
}

// NewImporter returns the Importer over db; defaultRegion reads phone
// numbers written without a country code.
func NewImporter(db *DB, defaultRegion string) *Importer {
	return &Importer{db: db, users: NewUsers(db, defaultRegion, "")}
}

// importRow is a validated line, normalized as it will be stored.
type importRow struct {
	line       int
	profile    dbgen.UserUpdateProfileParams
	email      *string
	role       *string
	artistID   *int64
	isActive   *bool
	isVerified *bool
	emailVer   *bool
	phoneVer   *bool
	prefs      []byte
	lat, lon   *float64
	createdAt  *time.Time
	hash       *string
	providers  []string
	subjects   []string
	org        *string // name of the organization (by key orgKey)
	orgKey     string
	keyGiven   bool   // orgKey is the line's organization_key, not the name
	orgID      *int64 // an existing organization by id
}

var providerRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{1,31}$`)

// parseLine decodes and validates one line as the API would, or returns
// its first problem.
func (im *Importer) parseLine(n int, b []byte) (importRow, *LineProblem) {
	problem := func(field, reason string) (importRow, *LineProblem) {
		return importRow{}, &LineProblem{Line: n, Field: field, Reason: reason}
	}
	// invalid is the first field error of a validation error, on field
	// when given.
	invalid := func(err error, field string) (importRow, *LineProblem) {
		e, ok := ErrorOf(err)
		if !ok || len(e.Fields) == 0 {
			return problem(field, err.Error())
		}
		if field == "" {
			field = e.Fields[0].Field
		}
		return problem(field, e.Fields[0].Message)
	}
	if !utf8.Valid(b) {
		return problem("json", "is not valid UTF-8")
	}
	var l ImportLine
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return problem(typeErr.Field, "must be a JSON "+typeErr.Type.Kind().String())
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return problem(strings.Trim(f, `"`), "is not a field of the import format")
		}
		return problem("json", err.Error())
	}
	if dec.More() {
		return problem("json", "holds more than one JSON value")
	}
	patch := ProfilePatch{
		Username: present(l.Username), Phone: present(l.Phone), FirstName: present(l.FirstName), LastName: present(l.LastName),
		Bio: present(l.Bio), DateOfBirth: present(l.DateOfBirth), InstagramHandle: present(l.InstagramHandle),
		Country: present(l.Country), City: present(l.City), Zipcode: present(l.Zipcode), Email: present(l.Email),
	}
	profile, email, err := im.users.apply(dbgen.User{}, patch)
	if err != nil {
		return invalid(err, "")
	}
	r := importRow{
		line: n, profile: profile, email: email, artistID: l.ArtistID, isActive: l.IsActive, isVerified: l.IsVerified,
		emailVer: l.EmailVerified, phoneVer: l.PhoneVerified, createdAt: l.CreatedAt, hash: l.PasswordHash,
	}
	var v validation
	if l.Role != nil {
		role := Role(*l.Role)
		if !role.Valid() {
			return problem("role", roleProblem())
		}
		r.role = l.Role
	}
	if (r.role != nil && Role(*r.role) == RoleArtist) != (l.ArtistID != nil) {
		return problem("artist_id", "is required with the role artist, and only with it")
	}
	if l.EmailVerified != nil && *l.EmailVerified && email == nil {
		return problem("email_verified", "needs an email")
	}
	if l.PhoneVerified != nil && *l.PhoneVerified && profile.Phone == nil {
		return problem("phone_verified", "needs a phone")
	}
	if l.Preferences != nil && string(l.Preferences) != "null" {
		var c bytes.Buffer
		if err := json.Compact(&c, l.Preferences); err != nil {
			return problem("preferences", "must be JSON")
		}
		r.prefs = c.Bytes()
		checkPreferences(&v, r.prefs)
	}
	if l.Location != nil {
		if l.Location.Latitude == nil || l.Location.Longitude == nil {
			return problem("location", "needs latitude and longitude")
		}
		checkLocation(&v, Location{Latitude: *l.Location.Latitude, Longitude: *l.Location.Longitude})
		r.lat, r.lon = l.Location.Latitude, l.Location.Longitude
	}
	if err := v.err(); err != nil {
		return invalid(err, "")
	}
	if l.CreatedAt != nil && (l.CreatedAt.After(time.Now()) || l.CreatedAt.Year() < 1970) {
		return problem("created_at", "must be between 1970 and now")
	}
	if l.PasswordHash != nil {
		// A known scheme with contents out of bounds (a cost that would make
		// every login run for minutes) is refused as firmly as an unknown one.
		if s, err := password.Check(*l.PasswordHash); err != nil {
			if s == "" && !strings.HasPrefix(*l.PasswordHash, "$argon2") {
				return problem("password_hash", "is not a bcrypt ($2a$, $2b$, $2y$), Django pbkdf2_sha256 or pbkdf2_sha1, or argon2id or argon2i hash")
			}
			return problem("password_hash", "is out of the bounds userd verifies: "+strings.TrimPrefix(err.Error(), password.ErrMalformedHash.Error()+": "))
		}
	}
	seen := map[string]bool{}
	for i, id := range l.Identities {
		field := "identities[" + strconv.Itoa(i) + "]"
		switch {
		case !providerRE.MatchString(id.Provider):
			return problem(field+".provider", "must be 2 to 32 characters of a-z, 0-9, '_' and '-', starting with a letter")
		case id.Subject == "" || utf8.RuneCountInString(id.Subject) > 255 || strings.ContainsRune(id.Subject, 0):
			return problem(field+".subject", "must be 1 to 255 characters")
		case seen[id.Provider]:
			return problem(field+".provider", "is given twice: a user has one login of each provider")
		}
		seen[id.Provider] = true
		r.providers = append(r.providers, id.Provider)
		r.subjects = append(r.subjects, id.Subject)
	}
	if email == nil && profile.Username == nil && profile.Phone == nil && len(r.providers) == 0 {
		return problem("email", "one of email, username, phone and identities is required")
	}
	switch {
	case l.OrganizationID != nil && (l.Organization != nil || l.OrganizationKey != nil):
		return problem("organization_id", "names the organization alone: give organization_id or organization, not both")
	case l.OrganizationID != nil && *l.OrganizationID <= 0:
		return problem("organization_id", "must be a positive integer")
	case l.OrganizationID != nil:
		r.orgID = l.OrganizationID
	case l.OrganizationKey != nil && l.Organization == nil:
		return problem("organization_key", "needs organization, the name of the organization the import creates under the key")
	case l.Organization != nil:
		name, err := orgName(*l.Organization)
		if err != nil {
			return invalid(err, "organization")
		}
		r.org, r.orgKey = &name, name
		if l.OrganizationKey != nil {
			k := strings.TrimSpace(*l.OrganizationKey)
			if k == "" || utf8.RuneCountInString(k) > 200 || strings.ContainsFunc(k, unicode.IsControl) {
				return problem("organization_key", "must be 1 to 200 characters, none a control character")
			}
			r.orgKey, r.keyGiven = k, true
		}
	}
	return r, nil
}

// present is a merge-patch field holding p (absent when nil).
func present(p *string) Optional[string] { return Optional[string]{Set: p != nil, Value: p} }

// Import reads JSON Lines from r and imports each line's user (see
// ImportLine). Each line is validated as the API validates the same
// fields; a bad line is rejected with its first problem and nothing of it
// is written. A user whose email, phone or identity exists already is
// skipped, or merged into with opt.Update; a later line naming a user an
// earlier line made is skipped the same way, so importing a file twice
// imports nothing the second time.
//
// Lines go in batches (opt.BatchSize), each one transaction: the batch is
// copied with COPY into the staging table, then inserted with one
// set-based statement (users, their password hashes and identities). A
// line naming an organization makes its user a member (see ImportLine for
// how it is named); an organization the import creates is on opt.OrgPlan.
// Lines beyond the seats of the organization's plan are rejected
// (organization: no seat left), in line order: raise the plan and import
// the file again to bring them in. An update of someone already in the
// organization takes no seat.
//
// Errors: reading r, a line longer than 1 MiB, db_unavailable. Batches
// committed before an error stay.
func (im *Importer) Import(ctx context.Context, r io.Reader, opt ImportOptions) (ImportResult, error) {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 5000
	}
	if opt.OrgPlan == "" {
		opt.OrgPlan = "free"
	}
	if _, err := im.db.q.PlanGet(ctx, opt.OrgPlan); err != nil {
		return ImportResult{}, fmt.Errorf("plan %q: %w", opt.OrgPlan, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Lines are read and validated while the previous batch is written:
	// the CPU work of one overlaps the database work of the other.
	batches := make(chan parsedBatch, 1)
	go im.parse(ctx, r, opt.BatchSize, batches)
	var res ImportResult
	analyzed := 0 // users written when the statistics were last refreshed
	for b := range batches {
		for _, p := range b.problems {
			res.reject(p)
		}
		if len(b.rows) > 0 {
			if err := im.importBatch(ctx, b.rows, opt, &res); err != nil {
				return res.sorted(), err
			}
		}
		// The statistics follow the tables as they grow (at 1, 2, 4, 8 …
		// batches' worth of users).
		if written := res.Imported + res.Updated; written >= max(2*analyzed, opt.BatchSize) {
			if err := im.db.q.ImportAnalyze(ctx); err != nil {
				return res.sorted(), fmt.Errorf("analyze: %w", err)
			}
			analyzed = written
		}
		if b.err != nil {
			return res.sorted(), b.err
		}
		if opt.Progress != nil {
			opt.Progress(ImportProgress{Lines: b.lines, BytesRead: b.bytesRead, ImportResult: res})
		}
	}
	return res.sorted(), ctx.Err()
}

// parsedBatch is a batch of validated lines and the problems of the lines
// read with them; lines and bytesRead count from the start.
type parsedBatch struct {
	rows      []importRow
	problems  []LineProblem
	lines     int
	bytesRead int64
	err       error // reading failed after these
}

// parse reads r and sends its lines to out in batches of up to size valid
// rows; it closes out at the end of r, on a read error (the last batch
// carries it) or when ctx ends.
func (im *Importer) parse(ctx context.Context, r io.Reader, size int, out chan<- parsedBatch) {
	defer close(out)
	br := bufio.NewReaderSize(r, 64<<10)
	b := parsedBatch{rows: make([]importRow, 0, size)}
	send := func() bool {
		select {
		case out <- b:
			b = parsedBatch{rows: make([]importRow, 0, size), lines: b.lines, bytesRead: b.bytesRead}
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		line, err := readLine(br)
		b.bytesRead += int64(len(line))
		if len(line) > 0 {
			b.lines++
			if line := bytes.TrimSpace(line); len(line) > 0 {
				if row, problem := im.parseLine(b.lines, line); problem != nil {
					b.problems = append(b.problems, *problem)
				} else {
					b.rows = append(b.rows, row)
				}
			}
			if len(b.rows) == size && !send() {
				return
			}
		}
		if errors.Is(err, io.EOF) {
			send()
			return
		}
		if err != nil {
			b.err = fmt.Errorf("line %d: %w", b.lines+1, err)
			send()
			return
		}
	}
}

// sorted is r with its problems in line order.
func (r ImportResult) sorted() ImportResult {
	slices.SortStableFunc(r.Problems, func(a, b LineProblem) int { return a.Line - b.Line })
	return r
}

// readLine reads one line with its newline; io.EOF after the last.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxImportLine {
			return nil, fmt.Errorf("longer than %d bytes", maxImportLine)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
}

func (r *ImportResult) reject(p LineProblem) {
	r.Rejected++
	r.Problems = append(r.Problems, p)
}

// batchPlan decides what becomes of each line of a batch.
type batchPlan struct {
	m        matches
	orgs     batchOrgs
	update   bool
	local    seenKeys      // the batch's new users: earlier batches are committed, and found by match
	updating map[int64]int // users merged into by the batch → line
}

// decide returns what becomes of r: a problem, a skip, or an insert (owner
// 0) or a merge into owner, with the organization it joins (its seat is
// taken).
func (b *batchPlan) decide(r importRow) (owner int64, orgID *int64, skip bool, problem *LineProblem) {
	owner, problem = b.m.owner(r)
	if problem != nil {
		return 0, nil, false, problem
	}
	taken := func() *LineProblem { return &LineProblem{Line: r.line, Field: "username", Reason: "is taken"} }
	switch {
	case owner == 0 && b.local.names(r):
		return 0, nil, true, nil // an earlier line of the batch makes this user
	case owner == 0 && r.profile.Username != nil && (b.m.username[*r.profile.Username] != 0 || b.local.username[*r.profile.Username]):
		return 0, nil, false, taken()
	case owner != 0 && !b.update:
		return 0, nil, true, nil
	case owner != 0 && r.profile.Username != nil && b.m.username[*r.profile.Username] != 0 && b.m.username[*r.profile.Username] != owner:
		return 0, nil, false, taken()
	}
	if first, twice := b.updating[owner]; owner != 0 && twice {
		return 0, nil, false, &LineProblem{Line: r.line, Field: "email",
			Reason: "names the same user as line " + strconv.Itoa(first) + ": merge the two lines"}
	}
	if r.org != nil || r.orgID != nil {
		org, problem := b.orgs.of(r)
		if problem != nil {
			return 0, nil, false, problem
		}
		if owner != 0 && b.m.org[owner] == org.id {
			// Already a member: the seat is theirs.
			return owner, &org.id, false, b.record(r, owner)
		}
		if org.left == 0 {
			return 0, nil, false, &LineProblem{Line: r.line, Field: "organization", Reason: "no seat left on its plan " + strconv.Quote(org.plan)}
		}
		if org.left > 0 {
			org.left--
		}
		orgID = &org.id
	}
	return owner, orgID, false, b.record(r, owner)
}

// record notes that the batch makes (owner 0) or merges into owner r's
// user, for the lines after it; it returns nil.
func (b *batchPlan) record(r importRow, owner int64) *LineProblem {
	if owner == 0 {
		b.local.add(r)
	} else {
		b.updating[owner] = r.line
	}
	return nil
}

// seenKeys are the emails, phones, usernames and identities of lines, to
// tell a later line naming the same user.
type seenKeys struct{ email, phone, username, identity map[string]bool }

func newSeenKeys() seenKeys {
	return seenKeys{email: map[string]bool{}, phone: map[string]bool{}, username: map[string]bool{}, identity: map[string]bool{}}
}

// identityKey is how match names an identity: "provider:subject" (a
// provider holds no ':').
func identityKey(provider, subject string) string { return provider + ":" + subject }

// matches are the existing users a batch's lines name.
type matches struct {
	email, phone, username, identity map[string]int64
	org                              map[int64]int64 // user → their organization, for those in one
}

// matchBatch looks up, in four set-based queries, the users the batch's
// emails, phones, usernames and identities belong to, and in a fifth the
// organizations of those users.
func matchBatch(ctx context.Context, q *dbgen.Queries, rows []importRow) (matches, error) {
	var emails, phones, usernames, identities []string
	for _, r := range rows {
		if r.email != nil {
			emails = append(emails, strings.ToLower(*r.email))
		}
		if r.profile.Phone != nil {
			phones = append(phones, *r.profile.Phone)
		}
		if r.profile.Username != nil {
			usernames = append(usernames, *r.profile.Username)
		}
		for i := range r.providers {
			identities = append(identities, identityKey(r.providers[i], r.subjects[i]))
		}
	}
	m := matches{email: map[string]int64{}, phone: map[string]int64{}, username: map[string]int64{}, identity: map[string]int64{},
		org: map[int64]int64{}}
	for _, l := range []struct {
		f    func(context.Context, []string) ([]dbgen.ImportMatchEmailsRow, error)
		keys []string
		into map[string]int64
	}{
		{q.ImportMatchEmails, emails, m.email},
		{matchAs(q.ImportMatchPhones), phones, m.phone},
		{matchAs(q.ImportMatchUsernames), usernames, m.username},
		{matchAs(q.ImportMatchIdentities), identities, m.identity},
	} {
		rows, err := l.f(ctx, l.keys)
		if err != nil {
			return m, err
		}
		for _, r := range rows {
			l.into[r.Key] = r.ID
		}
	}
	var ids []int64
	for _, byKey := range []map[string]int64{m.email, m.phone, m.username, m.identity} {
		for _, id := range byKey {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return m, nil
	}
	orgs, err := q.ImportMatchOrgs(ctx, ids)
	if err != nil {
		return m, err
	}
	for _, o := range orgs {
		m.org[o.ID] = o.OrganizationID
	}
	return m, nil
}

// matchAs reads another match query's rows (the same two columns) as
// ImportMatchEmails's.
func matchAs[R dbgen.ImportMatchPhonesRow | dbgen.ImportMatchUsernamesRow | dbgen.ImportMatchIdentitiesRow](
	f func(context.Context, []string) ([]R, error)) func(context.Context, []string) ([]dbgen.ImportMatchEmailsRow, error) {
	return func(ctx context.Context, keys []string) ([]dbgen.ImportMatchEmailsRow, error) {
		rows, err := f(ctx, keys)
		out := make([]dbgen.ImportMatchEmailsRow, len(rows))
		for i, r := range rows {
			out[i] = dbgen.ImportMatchEmailsRow(r)
		}
		return out, err
	}
}

// owner is the existing user a row names by email, phone or identity (by
// username when it has none of them): 0 for none, or a problem when it
// names several.
func (m matches) owner(r importRow) (int64, *LineProblem) {
	var id int64
	var by string
	claim := func(field string, other int64) *LineProblem {
		if other == 0 || other == id {
			return nil
		}
		if id != 0 {
			return &LineProblem{Line: r.line, Field: field, Reason: "belongs to another existing user than the " + by}
		}
		id, by = other, field
		return nil
	}
	if r.email != nil {
		if p := claim("email", m.email[strings.ToLower(*r.email)]); p != nil {
			return 0, p
		}
	}
	if r.profile.Phone != nil {
		if p := claim("phone", m.phone[*r.profile.Phone]); p != nil {
			return 0, p
		}
	}
	for i := range r.providers {
		if p := claim("identities", m.identity[identityKey(r.providers[i], r.subjects[i])]); p != nil {
			return 0, p
		}
	}
	if r.onlyUsername() {
		id = m.username[*r.profile.Username]
	}
	return id, nil
}

// onlyUsername reports whether the username is all that names r's user
// (no email, phone or identity): then it does, else it is only a field.
func (r importRow) onlyUsername() bool {
	return r.email == nil && r.profile.Phone == nil && len(r.providers) == 0 && r.profile.Username != nil
}

// orgSeats is an organization a batch names: its id and the seats left
// (-1: no limit).
type orgSeats struct {
	id   int64
	plan string
	left int64
}

// batchOrgs are the organizations a batch's lines name: by id, and the
// id each key stands for, or why a key names none.
type batchOrgs struct {
	byID      map[int64]*orgSeats
	byKey     map[string]int64
	ambiguous map[string]int64 // key → organizations of its name (MatchOrgByName)
}

// of is the organization r names, or the problem of its line.
func (b batchOrgs) of(r importRow) (*orgSeats, *LineProblem) {
	if r.orgID != nil {
		if o := b.byID[*r.orgID]; o != nil {
			return o, nil
		}
		return nil, &LineProblem{Line: r.line, Field: "organization_id", Reason: "is no organization"}
	}
	if n := b.ambiguous[r.orgKey]; n > 0 {
		return nil, &LineProblem{Line: r.line, Field: "organization",
			Reason: strconv.FormatInt(n, 10) + " organizations have this name: name one by organization_id"}
	}
	if o := b.byID[b.byKey[r.orgKey]]; o != nil {
		return o, nil
	}
	return nil, &LineProblem{Line: r.line, Field: "organization", Reason: "was neither found nor created"}
}

// batchOrgsOf resolves the organizations the batch names (ImportLine says how),
// creating those the import makes, on plan.
func batchOrgsOf(ctx context.Context, q *dbgen.Queries, rows []importRow, plan string, byName bool) (batchOrgs, error) {
	b := batchOrgs{byID: map[int64]*orgSeats{}, byKey: map[string]int64{}, ambiguous: map[string]int64{}}
	var ids []int64
	var keys, names []string      // each key once; names[i] is the name first given with keys[i]
	keyGiven := map[string]bool{} // keys some line gives as organization_key: never matched by name
	for _, r := range rows {
		switch {
		case r.orgID != nil:
			ids = append(ids, *r.orgID)
		case r.org != nil:
			if _, seen := keyGiven[r.orgKey]; !seen {
				keys, names = append(keys, r.orgKey), append(names, *r.org)
			}
			keyGiven[r.orgKey] = keyGiven[r.orgKey] || r.keyGiven
		}
	}
	if len(keys) > 0 {
		found, err := q.ImportOrgsByKey(ctx, keys)
		if err != nil {
			return b, err
		}
		for _, o := range found {
			b.byKey[o.Key] = o.ID
		}
		var newKeys, newNames []string
		for i, k := range keys {
			if _, ok := b.byKey[k]; !ok {
				newKeys, newNames = append(newKeys, k), append(newNames, names[i])
			}
		}
		if byName && len(newKeys) > 0 {
			same, err := q.ImportOrgsByName(ctx, newNames)
			if err != nil {
				return b, err
			}
			count := map[string]dbgen.ImportOrgsByNameRow{}
			for _, o := range same {
				count[o.Name] = o
			}
			var restKeys, restNames []string
			for i, k := range newKeys {
				switch o := count[newNames[i]]; {
				case keyGiven[k] || o.N == 0:
					restKeys, restNames = append(restKeys, k), append(restNames, newNames[i])
				case o.N == 1:
					b.byKey[k] = o.ID
				default:
					b.ambiguous[k] = o.N
				}
			}
			newKeys, newNames = restKeys, restNames
		}
		if len(newKeys) > 0 {
			made, err := q.ImportOrgCreate(ctx, dbgen.ImportOrgCreateParams{Names: newNames, Keys: newKeys, Plan: plan})
			if err != nil {
				return b, err
			}
			for _, o := range made {
				b.byKey[o.Key] = o.ID
			}
		}
		for _, id := range b.byKey {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return b, nil
	}
	found, err := q.ImportOrgSeats(ctx, ids)
	if err != nil {
		return b, err
	}
	for _, o := range found {
		left := int64(-1)
		if o.SeatLimit != nil {
			left = max(int64(*o.SeatLimit)-o.SeatsUsed, 0)
		}
		b.byID[o.ID] = &orgSeats{id: o.ID, plan: o.Plan, left: left}
	}
	return b, nil
}

// importBatch imports one batch in one transaction and adds its counts to
// res.
func (im *Importer) importBatch(ctx context.Context, rows []importRow, opt ImportOptions, res *ImportResult) error {
	update := opt.Update
	type outcome struct {
		imported, updated, skipped int
		problems                   []LineProblem
	}
	out, err := inTxV(ctx, im.db, func(q *dbgen.Queries) (outcome, error) {
		var o outcome
		if err := q.ImportLock(ctx); err != nil {
			return o, err
		}
		m, err := matchBatch(ctx, q, rows)
		if err != nil {
			return o, err
		}
		batchOrgs, err := batchOrgsOf(ctx, q, rows, opt.OrgPlan, opt.MatchOrgByName)
		if err != nil {
			return o, err
		}
		batch, err := q.ImportBatchNext(ctx)
		if err != nil {
			return o, err
		}
		var staged []dbgen.ImportStagingCopyParams
		var inserts []int // indexes into staged
		plan := batchPlan{m: m, orgs: batchOrgs, update: update, local: newSeenKeys(), updating: map[int64]int{}}
		for _, r := range rows {
			owner, orgID, skip, problem := plan.decide(r)
			switch {
			case problem != nil:
				o.problems = append(o.problems, *problem)
				continue
			case skip:
				o.skipped++
				continue
			}
			action := "update"
			if owner == 0 {
				action = "insert"
				inserts = append(inserts, len(staged))
			}
			staged = append(staged, stagingRow(batch, r, owner, action, orgID))
		}
		if len(inserts) > 0 {
			ids, err := q.ImportUserIDs(ctx, int32(len(inserts)))
			if err != nil {
				return o, err
			}
			for i, at := range inserts {
				staged[at].UserID = &ids[i]
			}
		}
		if len(staged) == 0 {
			return o, nil
		}
		if _, err := q.ImportStagingCopy(ctx, staged); err != nil {
			return o, err
		}
		if len(inserts) > 0 {
			ids, err := q.ImportInsert(ctx, batch)
			if err != nil {
				return o, err
			}
			o.imported = len(ids)
			// Rows taken by a registration since they were matched.
			o.skipped += len(inserts) - len(ids)
		}
		if len(inserts) < len(staged) {
			if err := q.ImportMergeLeaveOrgs(ctx, batch); err != nil {
				return o, err
			}
			if err := q.ImportMergeVoidEmailLinks(ctx, batch); err != nil {
				return o, err
			}
			ids, err := q.ImportMerge(ctx, batch)
			if err != nil {
				return o, err
			}
			if err := q.ImportMergeCredentials(ctx, batch); err != nil {
				return o, err
			}
			if err := q.ImportMergeIdentities(ctx, batch); err != nil {
				return o, err
			}
			o.updated = len(ids)
			o.skipped += len(staged) - len(inserts) - len(ids)
		}
		return o, q.ImportStagingDelete(ctx, batch)
	})
	if err != nil {
		return fmt.Errorf("import lines %d to %d: %w", rows[0].line, rows[len(rows)-1].line, err)
	}
	res.Imported += out.imported
	res.Updated += out.updated
	res.Skipped += out.skipped
	for _, p := range out.problems {
		res.reject(p)
	}
	return nil
}

func (s seenKeys) add(r importRow) {
	if r.email != nil {
		s.email[strings.ToLower(*r.email)] = true
	}
	if r.profile.Phone != nil {
		s.phone[*r.profile.Phone] = true
	}
	if r.profile.Username != nil {
		s.username[*r.profile.Username] = true
	}
	for i := range r.providers {
		s.identity[identityKey(r.providers[i], r.subjects[i])] = true
	}
}

// names reports whether r names a user by an email, phone or identity
// seen before (by username when it has none of them).
func (s seenKeys) names(r importRow) bool {
	if r.email != nil && s.email[strings.ToLower(*r.email)] {
		return true
	}
	if r.profile.Phone != nil && s.phone[*r.profile.Phone] {
		return true
	}
	for i := range r.providers {
		if s.identity[identityKey(r.providers[i], r.subjects[i])] {
			return true
		}
	}
	return r.onlyUsername() && s.username[*r.profile.Username]
}

// stagingRow is r as the staging table holds it.
func stagingRow(batch int64, r importRow, owner int64, action string, orgID *int64) dbgen.ImportStagingCopyParams {
	p := r.profile
	s := dbgen.ImportStagingCopyParams{
		Batch: batch, Line: int32(r.line), Action: action,
		Username: p.Username, Email: r.email, Phone: p.Phone, FirstName: p.FirstName, LastName: p.LastName,
		Bio: p.Bio, DateOfBirth: p.DateOfBirth, InstagramHandle: p.InstagramHandle, Country: p.Country,
		City: p.City, Zipcode: p.Zipcode, Role: r.role, ArtistID: r.artistID, IsActive: r.isActive,
		IsVerified: r.isVerified, EmailVerified: r.emailVer, PhoneVerified: r.phoneVer, Preferences: r.prefs,
		Latitude: r.lat, Longitude: r.lon, CreatedAt: r.createdAt, PasswordHash: r.hash,
		Providers: r.providers, Subjects: r.subjects, OrganizationID: orgID,
	}
	if s.Providers == nil {
		s.Providers, s.Subjects = []string{}, []string{}
	}
	if owner != 0 {
		s.UserID = &owner
	}
	return s
}
