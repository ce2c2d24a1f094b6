package service

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/userd/userd/dbgen"
)

// Admin is the directory and the administration of accounts: listing and
// looking users up, profiles as others see them, roles, deactivation and
// the audit log.
//
// Each method checks the policy of Role.Can for its caller; the methods
// that change another account check it under row locks, on the caller's
// row as it is when the change is made.
type Admin struct {
	db            *DB
	defaultRegion string
	cursors       cursorCodec

	// LookupsPerMinute bounds the lookups of one caller in a minute (60),
	// so that staff cannot walk the user base by phone number or email.
	LookupsPerMinute int
}

// NewAdmin returns the Admin service. cursorKey is the HMAC-SHA256 key
// that signs page cursors; every instance serving one database must share
// it. NewAdmin panics when cursorKey is shorter than 16 bytes.
func NewAdmin(db *DB, defaultRegion string, cursorKey []byte) *Admin {
	return &Admin{db: db, defaultRegion: defaultRegion, cursors: newCursorCodec("NewAdmin", cursorKey), LookupsPerMinute: 60}
}

// UserFilter narrows the directory; nil fields do not filter. Q is a
// case-insensitive prefix of the username, email, first or last name, or,
// when it is a phone number of ten digits or more, the last ten digits of
// the phone (listUsersWide).
type UserFilter struct {
	Role           *string
	IsActive       *bool
	Q              *string
	EmailVerified  *bool
	OrganizationID *int64
}

// maxQuery bounds a directory search prefix (the longest searchable
// column, email, holds 254 characters).
const maxQuery = 254

// normalize validates f and returns it with Q trimmed ("" becomes nil).
func (f UserFilter) normalize() (UserFilter, error) {
	var v validation
	if f.Role != nil && !Role(*f.Role).Valid() {
		v.add("role", roleProblem())
	}
	f.Q = text(&v, "q", f.Q, maxQuery)
	if f.Q != nil && strings.HasSuffix(*f.Q, "\U0010FFFF") {
		// prefix_upper_bound has no successor for the last code point.
		v.add("q", "must not end in U+10FFFF")
	}
	if f.OrganizationID != nil && *f.OrganizationID <= 0 {
		v.add("organization_id", "must be a positive integer")
	}
	return f, v.err()
}

// bind is the canonical form of the filters that a cursor is bound to.
func (f UserFilter) bind() []byte {
	bind := []any{f.Role, f.IsActive, f.Q}
	if f.EmailVerified != nil || f.OrganizationID != nil {
		bind = append(bind, f.EmailVerified, f.OrganizationID)
	}
	b, _ := json.Marshal(bind) // cannot fail: strings, bools and numbers
	return b
}

// Cursor kinds: a cursor of one list is refused by another.
const (
	cursorUsers = "users"
	cursorAudit = "audit"
)

// ListUsers returns one page of live users, newest first, that match f,
// for a caller who may list users (PermListUsers); filtering on
// EmailVerified also needs PermSeePrivate.
// Errors: forbidden, validation_failed (fields role, q, limit),
// invalid_cursor, db_unavailable.
func (a *Admin) ListUsers(ctx context.Context, by Principal, f UserFilter, page PageRequest) (Page[User], error) {
	if err := by.may(PermListUsers); err != nil {
		return Page[User]{}, err
	}
	if f.EmailVerified != nil {
		// Verification is part of the private view: filtering on it
		// would show it.
		if err := by.may(PermSeePrivate); err != nil {
			return Page[User]{}, err
		}
	}
	f, err := f.normalize()
	if err != nil {
		return Page[User]{}, err
	}
	p, err := a.cursors.startPage(cursorUsers, f.bind(), page)
	if err != nil {
		return Page[User]{}, err
	}
	return readPage(p, func(after Cursor, n int32) ([]dbgen.User, error) {
		return a.listUsers(ctx, f, after, n)
	}, userFromRow)
}

// UserListCursor returns the cursor that ListUsers hands out, under filter
// f, for a page that ends at position p: the next page holds the users
// after p. It lets a caller start at any depth without paging there (the
// directory benchmark does).
// Errors: validation_failed (fields role, q).
func (a *Admin) UserListCursor(f UserFilter, p Cursor) (string, error) {
	f, err := f.normalize()
	if err != nil {
		return "", err
	}
	return a.cursors.encode(cursorUsers, f.bind(), p), nil
}

// listUsers picks the query whose index serves the filter combination;
// it reads from the replica when one is fresh enough (readV).
func (a *Admin) listUsers(ctx context.Context, f UserFilter, after Cursor, n int32) ([]dbgen.User, error) {
	if f.wide() {
		return a.listUsersWide(ctx, f, after, n)
	}
	if f.Q != nil {
		return readTxV(ctx, a.db, func(q *dbgen.Queries) ([]dbgen.User, error) {
			if err := q.UserSearchForceCustomPlan(ctx); err != nil {
				return nil, err
			}
			return q.UserSearch(ctx, dbgen.UserSearchParams{
				Q: *f.Q, Role: f.Role, IsActive: f.IsActive, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n,
			})
		})
	}
	return readV(ctx, a.db, func(q *dbgen.Queries) ([]dbgen.User, error) {
		switch {
		case f.Role != nil && f.IsActive != nil:
			return q.UserListByRoleActive(ctx, dbgen.UserListByRoleActiveParams{
				Role: *f.Role, IsActive: *f.IsActive, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n,
			})
		case f.Role != nil:
			return q.UserListByRole(ctx, dbgen.UserListByRoleParams{
				Role: *f.Role, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n,
			})
		case f.IsActive != nil && *f.IsActive:
			return q.UserListActive(ctx, dbgen.UserListActiveParams{AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n})
		case f.IsActive != nil:
			return q.UserListInactive(ctx, dbgen.UserListInactiveParams{AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n})
		default:
			return q.UserList(ctx, dbgen.UserListParams{AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n})
		}
	})
}

// LookupQuery names a user by exactly one of phone or email.
type LookupQuery struct {
	Phone *string
	Email *string
}

// Lookup finds the one live user with the given phone number or email.
// A phone is normalized to E.164 in the default region and matched
// exactly first, then on its last ten digits; an email matches
// case-insensitively. The caller must be allowed to look users up
// (PermLookUpUsers); inactive users are found only by those who may see
// them (PermSeeInactive). Each caller makes at most LookupsPerMinute
// lookups a minute.
// Errors: forbidden, validation_failed (neither or both given, or a
// malformed value), not_found, ambiguous_phone (several users share the
// last ten digits), rate_limited, db_unavailable.
func (a *Admin) Lookup(ctx context.Context, by Principal, lq LookupQuery) (User, error) {
	if err := by.may(PermLookUpUsers); err != nil {
		return User{}, err
	}
	if (lq.Phone == nil) == (lq.Email == nil) {
		return User{}, Invalid(
			FieldError{Field: "phone", Message: "give exactly one of phone and email"},
			FieldError{Field: "email", Message: "give exactly one of phone and email"},
		)
	}
	if err := a.takeLookup(ctx, by.User.ID); err != nil {
		return User{}, err
	}
	var u User
	var err error
	if lq.Phone != nil {
		u, err = a.lookupPhone(ctx, *lq.Phone)
	} else {
		u, err = a.lookupEmail(ctx, *lq.Email)
	}
	if err != nil {
		return User{}, err
	}
	if !u.IsActive && by.may(PermSeeInactive) != nil {
		return User{}, ErrNotFound
	}
	return u, nil
}

// takeLookup counts one lookup of the caller against LookupsPerMinute
// (kept in rate_events, so it holds across instances).
// Errors: rate_limited.
func (a *Admin) takeLookup(ctx context.Context, callerID int64) error {
	key := sha256.Sum256([]byte("lookup:" + strconv.FormatInt(callerID, 10)))
	return takeAlone(ctx, a.db, rateLimit{bucket: "lookup", limit: a.LookupsPerMinute, window: time.Minute}, key[:])
}

func (a *Admin) lookupPhone(ctx context.Context, raw string) (User, error) {
	e164, err := phoneRule(a.defaultRegion).required(raw)
	if err != nil {
		return User{}, err
	}
	rows, err := a.db.usersByPhone(ctx, e164)
	if err != nil {
		return User{}, err
	}
	switch len(rows) {
	case 0:
		return User{}, ErrNotFound
	case 1:
		return userFromRow(rows[0]), nil
	default:
		return User{}, ErrAmbiguousPhone
	}
}

func (a *Admin) lookupEmail(ctx context.Context, raw string) (User, error) {
	email, err := emailRule.required(raw)
	if err != nil {
		return User{}, err
	}
	r, err := a.db.q.UserGetByEmail(ctx, email)
	if err != nil {
		return User{}, err
	}
	return userFromRow(r), nil
}

// Profile is a user as a viewer may see them. Private is true when the
// viewer may see the private view: themself, an admin or an operator.
type Profile struct {
	User    User
	Private bool
}

// Profile returns user id as by sees them: the private view for the
// user and admins, the public view for everyone else. Deleted users are not
// found; inactive users and users who block the viewer are not found
// either, except by admins and operators.
// Errors: not_found, db_unavailable.
func (a *Admin) Profile(ctx context.Context, by Principal, id int64) (Profile, error) {
	r, err := readV(ctx, a.db, func(q *dbgen.Queries) (dbgen.UserGetProfileRow, error) {
		return q.UserGetProfile(ctx, dbgen.UserGetProfileParams{ViewerID: by.User.ID, ID: id})
	})
	if err != nil {
		return Profile{}, err
	}
	u := userFromRow(r.User)
	if profileHidden(by, u, r.BlocksViewer) {
		return Profile{}, ErrNotFound
	}
	// Email, phone, date of birth, location and preferences are for the
	// user and admins only (README, "Roles"); operators see the public
	// view here.
	return Profile{User: u, Private: by.may(PermSeePrivate) == nil || by.is(u.ID)}, nil
}

// profileHidden reports whether by may not see u (profile, social
// pages): deleted users are hidden from everyone; inactive users and users
// who block the viewer from all who may not see them (PermSeeInactive).
func profileHidden(by Principal, u User, blocksViewer bool) bool {
	return u.DeletedAt != nil || (by.may(PermSeeInactive) != nil && (!u.IsActive || blocksViewer))
}

// lockForChange takes the row locks of an admin action on target, in the
// order every last-admin check takes them (all active admins by id, then
// the target), and checks the invariants: the target does not stay the
// last active admin when it loses that status (losesAdmin), and by may
// still manage users (mayNow, read under those locks). It returns the
// target's locked row.
func lockForChange(ctx context.Context, q *dbgen.Queries, by Principal, targetID int64, losesAdmin func(isAdmin bool) bool) (dbgen.User, error) {
	admins, err := lockAdmins(ctx, q)
	if err != nil {
		return dbgen.User{}, fmt.Errorf("lock admins: %w", err)
	}
	if losesAdmin(slices.Contains(admins, targetID)) && len(admins) <= 1 {
		return dbgen.User{}, ErrLastAdmin
	}
	if err := mayNow(ctx, q, by, PermManageUsers); err != nil {
		return dbgen.User{}, err
	}
	return lockLiveUser(ctx, q, targetID)
}

// SetRole gives user targetID role; artistID is required for the artist
// role and must be nil for every other (it is cleared). The change
// revokes the target's sessions and is audited as admin.role_changed.
// Setting the role a user already has changes nothing.
// Errors: validation_failed (role, artist_id), forbidden (your own role,
// or by may not manage users), not_found, last_admin, db_unavailable.
func (a *Admin) SetRole(ctx context.Context, by Principal, targetID int64, role Role, artistID *int64) (User, error) {
	var v validation
	switch {
	case !role.Valid():
		v.add("role", roleProblem())
	case role == RoleArtist && (artistID == nil || *artistID <= 0):
		v.add("artist_id", "is required for the artist role and must be positive")
	case role != RoleArtist && artistID != nil:
		v.add("artist_id", "is only for the artist role")
	}
	if err := v.err(); err != nil {
		return User{}, err
	}
	if by.is(targetID) {
		return User{}, ErrForbidden
	}
	return inTxV(ctx, a.db, func(q *dbgen.Queries) (User, error) {
		cur, err := lockForChange(ctx, q, by, targetID, func(isAdmin bool) bool { return isAdmin && role != RoleAdmin })
		if err != nil {
			return User{}, err
		}
		if Role(cur.Role) == role && ptrEq(cur.ArtistID, artistID) {
			return userFromRow(cur), nil
		}
		r, err := q.UserSetRole(ctx, dbgen.UserSetRoleParams{ID: targetID, Role: string(role), ArtistID: artistID})
		if err != nil {
			return User{}, err
		}
		if _, err := q.SessionRevokeAllByUser(ctx, dbgen.SessionRevokeAllByUserParams{UserID: targetID, Reason: strPtr("role_changed")}); err != nil {
			return User{}, fmt.Errorf("revoke sessions: %w", err)
		}
		if err := userEvent(ctx, q, EventUserRoleChanged, targetID, "role", string(role), "previous_role", cur.Role, "actor_id", by.actor()); err != nil {
			return User{}, err
		}
		if err := userEvent(ctx, q, EventSessionRevokedAll, targetID, "reason", "role_changed"); err != nil {
			return User{}, err
		}
		details := map[string]any{"before": map[string]any{"role": cur.Role}, "after": map[string]any{"role": string(role)}}
		if err := audit(ctx, q, by.actor(), &targetID, "admin.role_changed", details); err != nil {
			return User{}, fmt.Errorf("audit: %w", err)
		}
		return userFromRow(r), nil
	})
}

// SetActive deactivates (active false) or reactivates user targetID.
// Deactivation revokes every session at once; the user's access tokens are
// refused (account_disabled) from the next request. Audited as
// admin.user_deactivated or admin.user_reactivated; setting the state a
// user already has changes nothing.
// Errors: forbidden (yourself, or by may not manage users), not_found,
// last_admin, db_unavailable.
func (a *Admin) SetActive(ctx context.Context, by Principal, targetID int64, active bool) (User, error) {
	if by.is(targetID) {
		return User{}, ErrForbidden
	}
	return inTxV(ctx, a.db, func(q *dbgen.Queries) (User, error) {
		cur, err := lockForChange(ctx, q, by, targetID, func(isAdmin bool) bool { return isAdmin && !active })
		if err != nil {
			return User{}, err
		}
		if cur.IsActive == active {
			return userFromRow(cur), nil
		}
		r, err := q.UserSetActive(ctx, dbgen.UserSetActiveParams{ID: targetID, IsActive: active})
		if err != nil {
			return User{}, err
		}
		action := "admin.user_reactivated"
		if !active {
			action = "admin.user_deactivated"
			if _, err := q.SessionRevokeAllByUser(ctx, dbgen.SessionRevokeAllByUserParams{UserID: targetID, Reason: strPtr("deactivated")}); err != nil {
				return User{}, fmt.Errorf("revoke sessions: %w", err)
			}
		}
		if err := audit(ctx, q, by.actor(), &targetID, action, nil); err != nil {
			return User{}, fmt.Errorf("audit: %w", err)
		}
		return userFromRow(r), activeEvents(ctx, q, targetID, by.actor(), active)
	})
}

// AuditEvent is one row of the audit log. Details never hold secrets, and
// hold no personal data of a deleted user.
type AuditEvent struct {
	ID             int64
	ActorID        *int64
	TargetUserID   *int64
	OrganizationID *int64
	Action         string
	Details        json.RawMessage
	CreatedAt      time.Time
}

// AuditPage is one page of the audit log.
type AuditPage = Page[AuditEvent]

// AuditFilter narrows the audit log; nil fields do not filter. Since keeps
// the events created at or after it.
type AuditFilter struct {
	ActorID      *int64
	TargetUserID *int64
	Action       *string
	Since        *time.Time
}

// auditAction is the form of audit_events.action (audit_events_action_chk).
var auditAction = regexp.MustCompile(`^[a-z][a-z_.]{1,63}$`)

func (f AuditFilter) validate() error {
	var v validation
	if f.ActorID != nil && *f.ActorID <= 0 {
		v.add("actor_id", "must be a positive integer")
	}
	if f.TargetUserID != nil && *f.TargetUserID <= 0 {
		v.add("target_user_id", "must be a positive integer")
	}
	if f.Action != nil && !auditAction.MatchString(*f.Action) {
		v.add("action", "must be an action name: lower-case letters, dots and underscores")
	}
	return v.err()
}

// bind is what a cursor of the audit log is bound to: its filters.
func (f AuditFilter) bind() []byte {
	var since *int64
	if f.Since != nil {
		n := f.Since.UnixMicro()
		since = &n
	}
	b, _ := json.Marshal([]any{f.ActorID, f.TargetUserID, f.Action, since}) // cannot fail: numbers and strings
	return b
}

// AuditEvents returns one page of the audit log, newest first, that
// matches f, for a caller who may read it (PermReadAudit).
// Errors: forbidden, validation_failed (actor_id, target_user_id, action,
// limit), invalid_cursor, db_unavailable.
func (a *Admin) AuditEvents(ctx context.Context, by Principal, f AuditFilter, page PageRequest) (AuditPage, error) {
	if err := by.may(PermReadAudit); err != nil {
		return AuditPage{}, err
	}
	if err := f.validate(); err != nil {
		return AuditPage{}, err
	}
	p, err := a.cursors.startPage(cursorAudit, f.bind(), page)
	if err != nil {
		return AuditPage{}, err
	}
	return readPage(p, func(after Cursor, n int32) ([]dbgen.AuditEvent, error) {
		return a.auditRows(ctx, f, after, n)
	}, auditEventFromRow)
}

func auditEventFromRow(r dbgen.AuditEvent) AuditEvent {
	return AuditEvent{
		ID: r.ID, ActorID: r.ActorID, TargetUserID: r.TargetUserID, OrganizationID: r.OrganizationID,
		Action: r.Action, Details: json.RawMessage(r.Details), CreatedAt: r.CreatedAt,
	}
}

// keyset is where an event stands in the audit log's order.
func (e AuditEvent) keyset() Cursor { return Cursor{CreatedAt: e.CreatedAt, ID: e.ID} }

// auditRows reads one page of audit events through the index that f's
// most selective filter drives; the other filters are residual. It reads
// from the replica when one is fresh enough (readV).
func (a *Admin) auditRows(ctx context.Context, f AuditFilter, after Cursor, n int32) ([]dbgen.AuditEvent, error) {
	var since time.Time // the zero time: before every event
	if f.Since != nil {
		since = *f.Since
	}
	return readV(ctx, a.db, func(q *dbgen.Queries) ([]dbgen.AuditEvent, error) {
		switch {
		case f.ActorID != nil:
			return q.AuditListByActor(ctx, dbgen.AuditListByActorParams{
				ActorID: *f.ActorID, TargetUserID: f.TargetUserID, Action: f.Action, Since: since,
				AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n,
			})
		case f.TargetUserID != nil:
			return q.AuditListByTarget(ctx, dbgen.AuditListByTargetParams{
				TargetUserID: *f.TargetUserID, Action: f.Action, Since: since,
				AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n,
			})
		case f.Action != nil:
			return q.AuditListByAction(ctx, dbgen.AuditListByActionParams{
				Action: *f.Action, Since: since, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n,
			})
		}
		return q.AuditList(ctx, dbgen.AuditListParams{Since: since, AfterCreatedAt: after.CreatedAt, AfterID: after.ID, PageLimit: n})
	})
}
