package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/userd/userd/dbgen"
)

// exportPage is how many users one export query reads.
const exportPage = 1000

// Export writes every live user (not deleted) to w as JSON Lines in the
// import format (ImportLine), in id order, and returns how many it wrote.
// Nothing secret goes out: no password hash, token or session. Importing
// the output into an empty database and exporting again gives the same
// lines.
// Errors: writing w, db_unavailable.
func (im *Importer) Export(ctx context.Context, w io.Writer) (int, error) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	n := 0
	var after int64
	for {
		rows, err := im.db.q.ExportUsers(ctx, dbgen.ExportUsersParams{After: after, N: exportPage})
		if err != nil {
			return n, fmt.Errorf("export users after id %d: %w", after, err)
		}
		for _, r := range rows {
			if err := enc.Encode(exportLine(r)); err != nil {
				return n, fmt.Errorf("write user %d: %w", r.User.ID, err)
			}
			n++
			after = r.User.ID
		}
		if len(rows) < exportPage {
			return n, nil
		}
	}
}

// exportLine is a user in the import format.
func exportLine(r dbgen.ExportUsersRow) ImportLine {
	u := userFromRow(r.User)
	role := string(u.Role)
	created := u.CreatedAt.UTC()
	l := ImportLine{
		Email: u.Email, Phone: u.Phone, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName,
		Bio: u.Bio, InstagramHandle: u.InstagramHandle, Country: u.Country, City: u.City, Zipcode: u.Zipcode,
		Role: &role, ArtistID: u.ArtistID, IsActive: &u.IsActive, IsVerified: &u.IsVerified,
		EmailVerified: &u.EmailVerified, PhoneVerified: &u.PhoneVerified, CreatedAt: &created,
		Organization: r.OrganizationName,
	}
	if r.OrganizationKey != nil && (r.OrganizationName == nil || *r.OrganizationKey != *r.OrganizationName) {
		l.OrganizationKey = r.OrganizationKey
	}
	if u.DateOfBirth != nil {
		d := u.DateOfBirth.Format(time.DateOnly)
		l.DateOfBirth = &d
	}
	if len(u.Preferences) > 0 && string(u.Preferences) != "{}" {
		l.Preferences = u.Preferences
	}
	if u.Location != nil {
		l.Location = &ImportLocation{Latitude: &u.Location.Latitude, Longitude: &u.Location.Longitude}
	}
	for i := range r.Providers {
		l.Identities = append(l.Identities, ImportIdentity{Provider: r.Providers[i], Subject: r.Subjects[i]})
	}
	return l
}
