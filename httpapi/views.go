package httpapi

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/userd/userd/service"
)

type locationView struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// userView is the private view of a user: the public view and every
// other field, null when unset.
type userView struct {
	publicView
	Email *string `json:"email"`
	Phone *string `json:"phone"`
	// PendingEmail is an address asked for and not yet confirmed.
	PendingEmail   *string `json:"pending_email"`
	DateOfBirth    *string `json:"date_of_birth"` // YYYY-MM-DD
	OrganizationID *int64  `json:"organization_id"`
	// Where the user says they live.
	Country *string `json:"country"`
	City    *string `json:"city"`
	Zipcode *string `json:"zipcode"`

	// The account's state and what it proved.
	IsActive         bool            `json:"is_active"`
	IsVerified       bool            `json:"is_verified"`
	PhoneVerified    bool            `json:"phone_verified"`
	EmailVerified    bool            `json:"email_verified"`
	Preferences      json.RawMessage `json:"preferences"`
	Location         *locationView   `json:"location"`
	LastAuthMethod   *string         `json:"last_auth_method"`
	LastAuthMethodAt *time.Time      `json:"last_auth_method_at"`
	LastLoginAt      *time.Time      `json:"last_login_at"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
}

// publicView is what anyone signed in may see of another user.
type publicView struct {
	ID              int64   `json:"id"`
	Username        *string `json:"username"`
	FirstName       *string `json:"first_name"`
	LastName        *string `json:"last_name"`
	Bio             *string `json:"bio"`
	AvatarURL       *string `json:"avatar_url"`
	InstagramHandle *string `json:"instagram_handle"`
	Role            string  `json:"role"`
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// avatarURL makes a stored avatar path absolute under the public URL.
func (s *Server) avatarURL(u service.User) *string {
	if u.AvatarURL == nil {
		return nil
	}
	v := *u.AvatarURL
	if strings.HasPrefix(v, "/") {
		v = s.publicURL + v
	}
	return &v
}

func (s *Server) private(u service.User) userView {
	v := userView{
		publicView: s.public(u), Email: u.Email, Phone: u.Phone, PendingEmail: u.PendingEmail,
		Country: u.Country, City: u.City, Zipcode: u.Zipcode, OrganizationID: u.OrganizationID,
		IsActive: u.IsActive, IsVerified: u.IsVerified, PhoneVerified: u.PhoneVerified, EmailVerified: u.EmailVerified,
		Preferences: u.Preferences, LastAuthMethod: u.LastAuthMethod, LastAuthMethodAt: utc(u.LastAuthMethodAt),
		LastLoginAt: utc(u.LastLoginAt), CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(),
	}
	if len(v.Preferences) == 0 {
		v.Preferences = json.RawMessage(`{}`)
	}
	if u.DateOfBirth != nil {
		d := u.DateOfBirth.Format(time.DateOnly)
		v.DateOfBirth = &d
	}
	if u.Location != nil {
		v.Location = &locationView{Latitude: u.Location.Latitude, Longitude: u.Location.Longitude}
	}
	return v
}

// contactView is what staff below admin (operators, agents) see in the
// directory and lookups: the public view and how to reach the user.
type contactView struct {
	publicView
	Email     *string   `json:"email"`
	Phone     *string   `json:"phone"`
	IsActive  bool      `json:"is_active"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) contact(u service.User) contactView {
	return contactView{publicView: s.public(u), Email: u.Email, Phone: u.Phone, IsActive: u.IsActive, CreatedAt: u.CreatedAt.UTC()}
}

// staffView is the view of u for a directory or lookup caller: the
// private view for those the policy lets see it (admins), else the
// contact view.
func (s *Server) staffView(caller service.User, u service.User) any {
	if caller.Role.Can(service.PermSeePrivate) {
		return s.private(u)
	}
	return s.contact(u)
}

func (s *Server) public(u service.User) publicView {
	return publicView{
		ID: u.ID, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName, Bio: u.Bio,
		AvatarURL: s.avatarURL(u), InstagramHandle: u.InstagramHandle, Role: string(u.Role),
	}
}
