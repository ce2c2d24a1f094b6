package service

import (
	"encoding/json"
	"time"

	"github.com/userd/userd/dbgen"
)

// Location is a user's last known position.
type Location struct {
	Latitude  float64
	Longitude float64
}

// User is a row of users as the rest of userd sees it.
type User struct {
	ID               int64
	Username         *string
	Email            *string
	PendingEmail     *string // an email change waiting for its confirmation link
	Phone            *string
	FirstName        *string
	LastName         *string
	Bio              *string
	AvatarURL        *string
	DateOfBirth      *time.Time
	InstagramHandle  *string
	Country          *string
	City             *string
	Zipcode          *string
	Role             Role
	ArtistID         *int64
	OrganizationID   *int64
	IsActive         bool
	IsVerified       bool
	PhoneVerified    bool
	EmailVerified    bool
	Preferences      json.RawMessage
	Location         *Location
	LastAuthMethod   *string
	LastAuthMethodAt *time.Time
	LastLoginAt      *time.Time
	IsSeedData       bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
	DeletedAt        *time.Time
}

// keyset is where u stands in the directory's order.
func (u User) keyset() Cursor { return Cursor{CreatedAt: u.CreatedAt, ID: u.ID} }

// Usable reports whether the account may act: active and not deleted.
func (u User) Usable() bool { return u.IsActive && u.DeletedAt == nil }

// ptrEq reports whether a and b are both nil or point to equal values.
func ptrEq[T comparable](a, b *T) bool {
	return ptrEqBy(a, b, func(x, y T) bool { return x == y })
}

// ptrEqBy is ptrEq with eq for equality.
func ptrEqBy[T any](a, b *T, eq func(x, y T) bool) bool {
	return (a == nil) == (b == nil) && (a == nil || eq(*a, *b))
}

func userFromRow(r dbgen.User) User {
	u := User{
		ID:               r.ID,
		Username:         r.Username,
		Email:            r.Email,
		PendingEmail:     r.PendingEmail,
		Phone:            r.Phone,
		FirstName:        r.FirstName,
		LastName:         r.LastName,
		Bio:              r.Bio,
		AvatarURL:        r.Avatar,
		DateOfBirth:      r.DateOfBirth,
		InstagramHandle:  r.InstagramHandle,
		Country:          r.Country,
		City:             r.City,
		Zipcode:          r.Zipcode,
		Role:             Role(r.Role),
		ArtistID:         r.ArtistID,
		OrganizationID:   r.OrganizationID,
		IsActive:         r.IsActive,
		IsVerified:       r.IsVerified,
		PhoneVerified:    r.PhoneVerified,
		EmailVerified:    r.EmailVerified,
		Preferences:      json.RawMessage(r.Preferences),
		LastAuthMethod:   r.LastAuthMethod,
		LastAuthMethodAt: r.LastAuthMethodAt,
		LastLoginAt:      r.LastLoginAt,
		IsSeedData:       r.IsSeedData,
		CreatedAt:        r.CreatedAt,
		UpdatedAt:        r.UpdatedAt,
		DeletedAt:        r.DeletedAt,
	}
	if r.CurrentLatitude != nil && r.CurrentLongitude != nil {
		u.Location = &Location{Latitude: *r.CurrentLatitude, Longitude: *r.CurrentLongitude}
	}
	return u
}

// Identity is an external login linked to a user.
type Identity struct {
	Provider   string
	Subject    string
	Email      *string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

func identityFromRow(r dbgen.UserIdentity) Identity {
	return Identity{Provider: r.Provider, Subject: r.Subject, Email: r.Email, CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt}
}
