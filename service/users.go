package service

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/userd/userd/dbgen"
)

// Users manages accounts: profile, preferences, location, identities.
type Users struct {
	db            *DB
	accounts      *Accounts // email changes: password check, mailed links
	defaultRegion string
	// hardDeleteProvider is the provider whose identities are hard-deleted
	// at the IdP when their user is deleted; "" for none.
	hardDeleteProvider string
	now                func() time.Time
}

// NewUsers returns the Users service. hardDeleteProvider names the IdP
// whose admin API deletes an account's identities ("" for none).
func NewUsers(db *DB, defaultRegion, hardDeleteProvider string) *Users {
	return &Users{db: db, defaultRegion: defaultRegion, hardDeleteProvider: hardDeleteProvider, now: time.Now}
}

// UseAccounts gives s the Accounts that check passwords and mail links,
// which email changes need.
func (s *Users) UseAccounts(a *Accounts) { s.accounts = a }

// ProfilePatch is a merge patch of the profile: absent fields stay, null
// clears, a value sets. Email is not set but requested: the new address
// is pending until a link mailed to it is followed, and an account with a
// password must give CurrentPassword (see UpdateProfile).
type ProfilePatch struct {
	// Ways to sign in: unique across live users.
	Username Optional[string] `json:"username"`
	Email    Optional[string] `json:"email"` // pending until the new address is confirmed
	Phone    Optional[string] `json:"phone"`
	// CurrentPassword proves the caller for an email change of an account
	// with a password.
	CurrentPassword Optional[string] `json:"current_password"`

	// The profile.
	FirstName       Optional[string] `json:"first_name"`
	LastName        Optional[string] `json:"last_name"`
	Bio             Optional[string] `json:"bio"`
	DateOfBirth     Optional[string] `json:"date_of_birth"`
	InstagramHandle Optional[string] `json:"instagram_handle"`
	Country         Optional[string] `json:"country"`
	City            Optional[string] `json:"city"`
	Zipcode         Optional[string] `json:"zipcode"`
}

var (
	instagramRE = regexp.MustCompile(`^[A-Za-z0-9._]{1,30}$`)
	zipcodeRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 -]{0,19}$`)
)

// profileOf is the profile of u as the update query takes it.
func profileOf(u dbgen.User) dbgen.UserUpdateProfileParams {
	return dbgen.UserUpdateProfileParams{
		ID: u.ID, Username: u.Username, Email: u.Email, Phone: u.Phone,
		FirstName: u.FirstName, LastName: u.LastName, Bio: u.Bio, DateOfBirth: u.DateOfBirth,
		InstagramHandle: u.InstagramHandle, Country: u.Country, City: u.City, Zipcode: u.Zipcode,
		EmailVerified: u.EmailVerified, PhoneVerified: u.PhoneVerified,
	}
}

// sameProfile compares two profiles by value.
func sameProfile(a, b dbgen.UserUpdateProfileParams) bool {
	dates := (a.DateOfBirth == nil) == (b.DateOfBirth == nil) && (a.DateOfBirth == nil || a.DateOfBirth.Equal(*b.DateOfBirth))
	return dates && a.EmailVerified == b.EmailVerified && a.PhoneVerified == b.PhoneVerified &&
		ptrEq(a.Username, b.Username) && ptrEq(a.Email, b.Email) && ptrEq(a.Phone, b.Phone) &&
		ptrEq(a.FirstName, b.FirstName) && ptrEq(a.LastName, b.LastName) && ptrEq(a.Bio, b.Bio) &&
		ptrEq(a.InstagramHandle, b.InstagramHandle) && ptrEq(a.Country, b.Country) &&
		ptrEq(a.City, b.City) && ptrEq(a.Zipcode, b.Zipcode)
}

// apply merges p into the profile of u, validating every field it sets;
// the email is validated and handed back as the address asked for (nil:
// none), never merged.
func (s *Users) apply(u dbgen.User, p ProfilePatch) (dbgen.UserUpdateProfileParams, *string, error) {
	out := profileOf(u)
	var v validation
	var email *string
	if p.Email.Set {
		email = v.optional(emailRule, p.Email.Value)
	}
	if p.Username.Set {
		out.Username = v.optional(usernameRule, p.Username.Value)
	}
	if p.Phone.Set {
		out.Phone = v.optional(phoneRule(s.defaultRegion), p.Phone.Value)
	}
	if p.FirstName.Set {
		out.FirstName = text(&v, "first_name", p.FirstName.Value, 50)
	}
	if p.LastName.Set {
		out.LastName = text(&v, "last_name", p.LastName.Value, 50)
	}
	if p.Bio.Set {
		out.Bio = text(&v, "bio", p.Bio.Value, 140)
	}
	if p.City.Set {
		out.City = text(&v, "city", p.City.Value, 100)
	}
	if p.Zipcode.Set {
		out.Zipcode = text(&v, "zipcode", p.Zipcode.Value, 20)
		if out.Zipcode != nil && !zipcodeRE.MatchString(*out.Zipcode) {
			v.add("zipcode", "must be letters, digits, spaces and '-'")
		}
	}
	if p.InstagramHandle.Set {
		out.InstagramHandle = nil
		if h := text(&v, "instagram_handle", p.InstagramHandle.Value, 31); h != nil {
			handle := strings.TrimPrefix(*h, "@")
			if instagramRE.MatchString(handle) {
				out.InstagramHandle = &handle
			} else {
				v.add("instagram_handle", "must be 1 to 30 characters of A-Z, a-z, 0-9, '.' and '_'")
			}
		}
	}
	if p.Country.Set {
		out.Country = nil
		if c := text(&v, "country", p.Country.Value, 2); c != nil {
			code := strings.ToUpper(*c)
			if r, err := language.ParseRegion(code); err == nil && r.IsCountry() && r.String() == code {
				out.Country = &code
			} else {
				v.add("country", "must be an ISO 3166-1 alpha-2 country code")
			}
		}
	}
	if p.DateOfBirth.Set {
		out.DateOfBirth = nil
		if p.DateOfBirth.Value != nil && *p.DateOfBirth.Value != "" {
			d, err := time.Parse(time.DateOnly, *p.DateOfBirth.Value)
			switch {
			case err != nil:
				v.add("date_of_birth", "must be a date YYYY-MM-DD")
			case d.Year() < 1900 || d.After(s.now()):
				v.add("date_of_birth", "must be between 1900-01-01 and today")
			default:
				out.DateOfBirth = &d
			}
		}
	}
	if err := v.err(); err != nil {
		return out, nil, err
	}
	if !ptrEq(out.Phone, u.Phone) {
		out.PhoneVerified = false
	}
	return out, email, nil
}

// emailChanges reports whether a patch asks for another address than
// cur's: a different one, or none when cur has one.
func emailChanges(p ProfilePatch, to, cur *string) bool {
	if !p.Email.Set {
		return false
	}
	return !ptrEqBy(to, cur, strings.EqualFold)
}

// needAccounts is the error of an email change of user userID on a Users
// wired without Accounts (UseAccounts), which mails the links.
func (s *Users) needAccounts(userID int64) error {
	if s.accounts == nil {
		return fmt.Errorf("update profile of user %d: email changes need Accounts", userID)
	}
	return nil
}

// UpdateProfile applies a merge patch to a user's profile. A changed phone
// clears phone_verified. A new email does not apply: it becomes the
// pending email, a confirmation link goes to it and a notice to the
// current address (VerifyEmail applies it); an email of null removes the
// address at once. Either needs current_password when the account has a
// password. Nothing is written when the patch fails.
// Errors: validation_failed (current_password among the fields),
// email_taken, phone_taken, username_taken, not_found, rate_limited.
func (s *Users) UpdateProfile(ctx context.Context, by Principal, p ProfilePatch) (User, error) {
	userID := by.User.ID
	if p.Email.Set {
		cur, err := s.db.q.UserGetByID(ctx, userID)
		if err != nil {
			return User{}, err
		}
		if _, to, err := s.apply(cur, p); err != nil {
			return User{}, err
		} else if emailChanges(p, to, cur.Email) {
			if err := s.needAccounts(userID); err != nil {
				return User{}, err
			}
			if err := s.accounts.checkEmailChange(ctx, userID, p.CurrentPassword.Value); err != nil {
				return User{}, err
			}
		}
	}
	return inTxV(ctx, s.db, func(q *dbgen.Queries) (User, error) {
		cur, err := lockLiveUser(ctx, q, userID)
		if err != nil {
			return User{}, err
		}
		params, to, err := s.apply(cur, p)
		if err != nil {
			return User{}, err
		}
		if emailChanges(p, to, cur.Email) || (p.Email.Set && cur.PendingEmail != nil) {
			if err := s.needAccounts(userID); err != nil {
				return User{}, err
			}
			if cur, err = s.accounts.requestEmailChange(ctx, q, cur, to); err != nil {
				return User{}, err
			}
			params.Email, params.EmailVerified = cur.Email, cur.EmailVerified
		}
		if sameProfile(params, profileOf(cur)) {
			return userFromRow(cur), nil // nothing (else) changes: no write
		}
		r, err := q.UserUpdateProfile(ctx, params)
		if err != nil {
			return User{}, err
		}
		return userFromRow(r), userUpdated(ctx, q, cur, r)
	})
}

// lockLiveUser locks the row of user id, in q's transaction.
// Errors: not_found (no such user, or deleted).
func lockLiveUser(ctx context.Context, q *dbgen.Queries, id int64) (dbgen.User, error) {
	u, err := q.UserGetByIDForUpdate(ctx, id)
	if err == nil && u.DeletedAt != nil {
		return dbgen.User{}, ErrNotFound
	}
	return u, err
}

// MaxPreferencesSize bounds the preferences document, as the schema does.
const MaxPreferencesSize = 16 << 10

// MaxPreferencesDepth bounds how deeply the preferences nest, as the
// schema's users_preferences_depth_chk does.
const MaxPreferencesDepth = 32

// checkPreferences adds the problem of a preferences document to v: it
// must be a JSON object of at most 16 KiB nesting at most 32 levels.
func checkPreferences(v *validation, prefs []byte) {
	switch {
	case len(prefs) == 0 || prefs[0] != '{':
		v.add("preferences", "must stay a JSON object")
	case len(prefs) > MaxPreferencesSize:
		v.add("preferences", "must be at most 16 KiB")
	case jsonDepth(prefs, MaxPreferencesDepth) > MaxPreferencesDepth:
		v.add("preferences", "must nest at most 32 levels")
	}
}

// checkLocation adds the problems of a position to v.
func checkLocation(v *validation, loc Location) {
	if !(loc.Latitude >= -90 && loc.Latitude <= 90) {
		v.add("latitude", "must be between -90 and 90")
	}
	if !(loc.Longitude >= -180 && loc.Longitude <= 180) {
		v.add("longitude", "must be between -180 and 180")
	}
}

// UpdatePreferences applies an RFC 7396 merge patch to a user's
// preferences, which must stay a JSON object of at most 16 KiB nesting at
// most 32 levels.
// Errors: validation_failed, not_found.
func (s *Users) UpdatePreferences(ctx context.Context, by Principal, patch json.RawMessage) (json.RawMessage, error) {
	userID := by.User.ID
	return inTxV(ctx, s.db, func(q *dbgen.Queries) (json.RawMessage, error) {
		cur, err := lockLiveUser(ctx, q, userID)
		if err != nil {
			return nil, err
		}
		merged, err := MergePatch(cur.Preferences, patch)
		if err != nil {
			return nil, Invalid(FieldError{Field: "preferences", Message: "must be JSON"})
		}
		var v validation
		checkPreferences(&v, merged)
		if err := v.err(); err != nil {
			return nil, err
		}
		r, err := q.UserUpdatePreferences(ctx, dbgen.UserUpdatePreferencesParams{ID: userID, Preferences: merged})
		if err != nil {
			return nil, err
		}
		return json.RawMessage(r.Preferences), userUpdated(ctx, q, cur, r)
	})
}

// SetLocation records a user's position; nil clears it.
// Errors: validation_failed, not_found.
func (s *Users) SetLocation(ctx context.Context, by Principal, loc *Location) (User, error) {
	userID := by.User.ID
	var lat, lon *float64
	if loc != nil {
		var v validation
		checkLocation(&v, *loc)
		if err := v.err(); err != nil {
			return User{}, err
		}
		lat, lon = &loc.Latitude, &loc.Longitude
	}
	// In a transaction of its own: through a pooler, that is where the
	// principal cache learns of the change before this returns (tryTx).
	r, err := inTxV(ctx, s.db, func(q *dbgen.Queries) (dbgen.User, error) {
		return q.UserUpdateLocation(ctx, dbgen.UserUpdateLocationParams{ID: userID, Latitude: lat, Longitude: lon})
	})
	if err != nil {
		return User{}, err
	}
	return userFromRow(r), nil
}

// Identities lists the external logins linked to a user.
func (s *Users) Identities(ctx context.Context, by Principal) ([]Identity, error) {
	userID := by.User.ID
	rows, err := s.db.q.IdentityListByUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]Identity, len(rows))
	for i, r := range rows {
		out[i] = identityFromRow(r)
	}
	return out, nil
}

// Me returns by's own user as the database has it now (the principal may
// be cached). Errors: not_found.
func (s *Users) Me(ctx context.Context, by Principal) (User, error) {
	r, err := s.db.q.UserGetByID(ctx, by.User.ID)
	if err != nil {
		return User{}, err
	}
	return userFromRow(r), nil
}
