package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/dbgen"
)

// The reads and actions of the admin console (package web's /admin pages)
// that the JSON API has no route of its own for: the overview's counts,
// the organization list, and the audited actions an admin takes on
// another account's sessions and mail. Each checks the caller's role on
// the caller's row as the database has it now.

// Overview is the console's first page: counts of the user base and of
// the work waiting.
type Overview struct {
	Users, ActiveUsers        int64
	SignedInDay, SignedInWeek int64 // users whose last sign-in is at most a day, a week old
	// SignupsByDay is live users created per UTC day, the last
	// OverviewDays days, oldest first, days without one included.
	SignupsByDay  []DayCount
	OrgsByPlan    []PlanCount
	OutboxBacklog int64 // mails and IdP deletes not yet done nor given up
}

// DayCount is a count for one UTC day.
type DayCount struct {
	Day   time.Time
	Count int64
}

// PlanCount is how many organizations are on a plan.
type PlanCount struct {
	Plan string
	Orgs int64
}

// OverviewDays is how many days of sign-ups Overview counts.
const OverviewDays = 30

// Overview counts the user base for by, who must hold PermListUsers, as
// of now. It reads every live user once: its cost grows with the user
// base (see docs/admin.md).
// Errors: forbidden, db_unavailable.
func (a *Admin) Overview(ctx context.Context, by Principal, now time.Time) (Overview, error) {
	if err := by.may(PermListUsers); err != nil {
		return Overview{}, err
	}
	today := now.UTC().Truncate(24 * time.Hour)
	since := today.AddDate(0, 0, 1-OverviewDays)
	return readV(ctx, a.db, func(q *dbgen.Queries) (Overview, error) {
		c, err := q.ConsoleUserCounts(ctx, dbgen.ConsoleUserCountsParams{DayAgo: now.Add(-24 * time.Hour), WeekAgo: now.Add(-7 * 24 * time.Hour)})
		if err != nil {
			return Overview{}, fmt.Errorf("count users: %w", err)
		}
		o := Overview{Users: c.Total, ActiveUsers: c.Active, SignedInDay: c.SignedInDay, SignedInWeek: c.SignedInWeek}
		days, err := q.ConsoleSignupsByDay(ctx, since)
		if err != nil {
			return Overview{}, fmt.Errorf("count sign-ups: %w", err)
		}
		byDay := make(map[time.Time]int64, len(days))
		for _, d := range days {
			byDay[d.Day.UTC()] = d.Signups
		}
		for i := range OverviewDays {
			day := since.AddDate(0, 0, i)
			o.SignupsByDay = append(o.SignupsByDay, DayCount{Day: day, Count: byDay[day]})
		}
		plans, err := q.ConsoleOrgsByPlan(ctx)
		if err != nil {
			return Overview{}, fmt.Errorf("count organizations: %w", err)
		}
		for _, p := range plans {
			o.OrgsByPlan = append(o.OrgsByPlan, PlanCount{Plan: p.Plan, Orgs: p.Orgs})
		}
		if o.OutboxBacklog, err = q.ConsoleOutboxBacklog(ctx); err != nil {
			return Overview{}, fmt.Errorf("count outbox: %w", err)
		}
		return o, nil
	})
}

// phoneQuery is a directory search that is a phone number: digits with
// optional +, spaces, dots, dashes and parentheses, ten digits or more.
var phoneQuery = regexp.MustCompile(`^\+?[0-9 ().-]+$`)

// phoneLast10 is the last ten digits of a search that is a phone number
// (phoneQuery), nil for any other search.
func phoneLast10(q *string) *string {
	if q == nil || !phoneQuery.MatchString(*q) {
		return nil
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, *q)
	if len(digits) < 10 {
		return nil
	}
	last := digits[len(digits)-10:]
	return &last
}

// wide reports whether f needs UserListFiltered: a filter the
// per-combination queries of listUsers do not have, or a phone search.
func (f UserFilter) wide() bool {
	return f.EmailVerified != nil || f.OrganizationID != nil || phoneLast10(f.Q) != nil
}

// listUsersWide reads a directory page with UserListFiltered. A search
// that is a phone number (ten digits or more) matches the last ten digits
// of users' phone numbers, so a number typed with or without its country
// code finds its user; any other search is a name, username or email
// prefix.
func (a *Admin) listUsersWide(ctx context.Context, f UserFilter, after Cursor, n int32) ([]dbgen.User, error) {
	p := dbgen.UserListFilteredParams{
		Role: f.Role, IsActive: f.IsActive, EmailVerified: f.EmailVerified, OrganizationID: f.OrganizationID,
		AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n,
	}
	if last := phoneLast10(f.Q); last != nil {
		p.PhoneLast10 = last
	} else {
		p.Q = f.Q
	}
	return readTxV(ctx, a.db, func(q *dbgen.Queries) ([]dbgen.User, error) {
		if err := q.UserSearchForceCustomPlan(ctx); err != nil {
			return nil, err
		}
		return q.UserListFiltered(ctx, p)
	})
}

// UserGroups returns the names of every group user id belongs to, for
// by, who must hold PermListUsers.
// Errors: forbidden, db_unavailable.
func (a *Admin) UserGroups(ctx context.Context, by Principal, id int64) ([]string, error) {
	if err := by.may(PermListUsers); err != nil {
		return nil, err
	}
	return a.db.q.UserGroupNames(ctx, id)
}

// cursorUserSessions is the cursor kind of another user's sessions.
const cursorUserSessions = "user_sessions"

// UserSessions returns one keyset page of user id's live sessions, newest
// first, for by, who must see the private view of others
// (PermSeePrivate). The cursor is bound to the user.
// Errors: forbidden, validation_failed (limit), invalid_cursor,
// db_unavailable.
func (a *Admin) UserSessions(ctx context.Context, by Principal, id int64, page PageRequest) (Page[Session], error) {
	if err := by.may(PermSeePrivate); err != nil {
		return Page[Session]{}, err
	}
	p, err := a.cursors.startPage(cursorUserSessions, []byte(strconv.FormatInt(id, 10)), page)
	if err != nil {
		return Page[Session]{}, err
	}
	return readPage(p, func(after Cursor, n int32) ([]dbgen.Session, error) {
		return a.db.q.SessionListLiveByUser(ctx, dbgen.SessionListLiveByUserParams{
			UserID: id, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n,
		})
	}, sessionFromRow)
}

// UserIdentities lists the external logins linked to user id, for by, who
// must see the private view of others (PermSeePrivate).
// Errors: forbidden, db_unavailable.
func (a *Admin) UserIdentities(ctx context.Context, by Principal, id int64) ([]Identity, error) {
	if err := by.may(PermSeePrivate); err != nil {
		return nil, err
	}
	rows, err := a.db.q.IdentityListByUser(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]Identity, len(rows))
	for i, r := range rows {
		out[i] = identityFromRow(r)
	}
	return out, nil
}

// cursorOrgs is the cursor kind of the organization list.
const cursorOrgs = "orgs"

// OrgSummary is an organization in the list of every organization.
type OrgSummary struct {
	ID        int64
	Name      string
	Plan      string
	SeatLimit *int // nil: unlimited
	Members   int64
	CreatedAt time.Time
}

func (o OrgSummary) keyset() Cursor { return Cursor{CreatedAt: o.CreatedAt, ID: o.ID} }

// List returns one page of every organization, newest first, whose name
// starts with q case-insensitively (nil: all), for by, who must be a
// platform admin (PermManageOrganizations).
// Errors: forbidden, validation_failed (q, limit), invalid_cursor,
// db_unavailable.
func (o *Orgs) List(ctx context.Context, by Principal, q *string, page PageRequest) (Page[OrgSummary], error) {
	if err := by.may(PermManageOrganizations); err != nil {
		return Page[OrgSummary]{}, err
	}
	var v validation
	q = text(&v, "q", q, maxOrgName)
	if q != nil && strings.HasSuffix(*q, "\U0010FFFF") {
		v.add("q", "must not end in U+10FFFF")
	}
	if err := v.err(); err != nil {
		return Page[OrgSummary]{}, err
	}
	bind, _ := json.Marshal(q) // cannot fail: a string
	p, err := o.cursors.startPage(cursorOrgs, bind, page)
	if err != nil {
		return Page[OrgSummary]{}, err
	}
	return readPage(p, func(after Cursor, n int32) ([]dbgen.OrgListRow, error) {
		return o.db.q.OrgList(ctx, dbgen.OrgListParams{Q: q, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n})
	}, func(r dbgen.OrgListRow) OrgSummary {
		return OrgSummary{
			ID: r.Organization.ID, Name: r.Organization.Name, Plan: r.Organization.Plan,
			SeatLimit: intPtr(r.SeatLimit), Members: r.Members, CreatedAt: r.Organization.CreatedAt,
		}
	})
}

// Plan is a plan organizations can be on.
type Plan struct {
	Code      string
	Name      string
	SeatLimit *int // nil: unlimited
}

// Plans returns every plan, smallest seat limit first.
// Errors: db_unavailable.
func (o *Orgs) Plans(ctx context.Context) ([]Plan, error) {
	rows, err := o.db.q.PlanList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Plan, 0, len(rows))
	for _, r := range rows {
		out = append(out, Plan{Code: r.Code, Name: r.Name, SeatLimit: intPtr(r.SeatLimit)})
	}
	return out, nil
}

// lockManaged locks the admin rows and the target as an admin action on
// another account does (lockForChange, losing no admin) and returns the
// target's row.
// Errors: forbidden (yourself, or by may not manage users now),
// not_found.
func lockManaged(ctx context.Context, q *dbgen.Queries, by Principal, targetID int64) (dbgen.User, error) {
	if by.is(targetID) {
		return dbgen.User{}, ErrForbidden
	}
	return lockForChange(ctx, q, by, targetID, func(bool) bool { return false })
}

// RevokeSessionsOf revokes, for by (PermManageUsers), session sessionID of user
// targetID, or every session of theirs when sessionID is 0 (reason
// revoked_by_admin): their refresh tokens, access tokens and browser
// cookies stop working at once. Audited as admin.sessions_revoked with
// the count. It returns how many sessions it revoked.
// Errors: forbidden (yourself: sign out from your account instead, or the
// actor is not an active admin), not_found, db_unavailable.
func (a *Accounts) RevokeSessionsOf(ctx context.Context, by Principal, targetID, sessionID int64) (int64, error) {
	return inTxV(ctx, a.db, func(q *dbgen.Queries) (int64, error) {
		if _, err := lockManaged(ctx, q, by, targetID); err != nil {
			return 0, err
		}
		var n int64
		var err error
		if sessionID == 0 {
			n, err = q.SessionRevokeAllByUser(ctx, dbgen.SessionRevokeAllByUserParams{UserID: targetID, Reason: strPtr("revoked_by_admin")})
		} else {
			n, err = q.SessionRevokeOneOfUser(ctx, dbgen.SessionRevokeOneOfUserParams{ID: sessionID, UserID: targetID, Reason: "revoked_by_admin"})
		}
		if err != nil {
			return 0, fmt.Errorf("revoke sessions: %w", err)
		}
		details := map[string]any{"sessions_revoked": n}
		if sessionID != 0 {
			if n == 0 {
				return 0, ErrNotFound
			}
			details["session_id"] = sessionID
		}
		return n, audit(ctx, q, by.actor(), &targetID, "admin.sessions_revoked", details)
	})
}

// SendResetFor mails, for by (PermManageUsers), a password-reset link to user
// targetID's address, as a forgot-password request does (SendReset: not
// to a deactivated account, at most MailsPerHour). Audited as
// admin.reset_link_sent.
// Errors: forbidden, not_found, validation_failed (email: the user has
// none), db_unavailable.
func (a *Accounts) SendResetFor(ctx context.Context, by Principal, targetID int64) error {
	email, err := inTxV(ctx, a.db, func(q *dbgen.Queries) (string, error) {
		u, err := lockManaged(ctx, q, by, targetID)
		if err != nil {
			return "", err
		}
		if u.Email == nil {
			return "", Invalid(FieldError{Field: "email", Message: "the user has no email address"})
		}
		return *u.Email, audit(ctx, q, by.actor(), &targetID, "admin.reset_link_sent", nil)
	})
	if err != nil {
		return err
	}
	return a.SendReset(ctx, email)
}

// ResendVerificationFor mails, for by (PermManageUsers), a new
// verification link to user targetID, as ResendVerification does (nothing
// when the address is verified already, at most MailsPerHour). Audited as
// admin.verification_resent.
// Errors: forbidden, not_found, validation_failed (email: none),
// db_unavailable.
func (a *Accounts) ResendVerificationFor(ctx context.Context, by Principal, targetID int64) error {
	return inTx(ctx, a.db, func(q *dbgen.Queries) error {
		u, err := lockManaged(ctx, q, by, targetID)
		if err != nil {
			return err
		}
		if u.Email == nil {
			return Invalid(FieldError{Field: "email", Message: "the user has no email address"})
		}
		if err := audit(ctx, q, by.actor(), &targetID, "admin.verification_resent", nil); err != nil {
			return err
		}
		if u.EmailVerified {
			return nil
		}
		return a.mailToken(ctx, q, u.ID, *u.Email, purposeEmailVerification, a.VerifyTTL)
	})
}

// Reconfirm checks that by is present at the keyboard for a destructive
// action: by's session began at most within ago (a recent sign-in), or pw
// is the account's password. An account without a password is confirmed
// by its sign-in alone.
// Errors: validation_failed (current_password: missing or wrong),
// rate_limited, overloaded.
func (a *Accounts) Reconfirm(ctx context.Context, by Principal, pw string, within time.Duration) error {
	if by.SessionID != 0 && pw == "" {
		began, err := a.db.q.SessionCreatedAt(ctx, dbgen.SessionCreatedAtParams{ID: by.SessionID, UserID: by.User.ID})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err == nil && time.Since(began) <= within {
			return nil
		}
	}
	var current *string
	if pw != "" {
		current = &pw
	}
	_, err := a.confirmPassword(ctx, by.User.ID, current, "is required: sign in again, or confirm with your password")
	return err
}
