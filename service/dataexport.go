package service

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strconv"
	"time"
)

// DataExportTables names, for each table that refers to users, the key of
// the data export (UserDataExport) that holds its rows about the user.
// users itself is the profile. A test walks the migrated catalog and fails
// for a table that refers to users and is missing here.
var DataExportTables = map[string]string{
	"users":                  "profile",
	"user_identities":        "identities",
	"sessions":               "sessions",
	"follows":                "following",
	"follow_stats":           "follow_stats",
	"blocks":                 "blocks",
	"organizations":          "organization",
	"user_permission_groups": "groups",
	"invitations":            "invitations_received",
	"audit_events":           "audit_events",
	"avatars":                "avatar",
	"password_credentials":   "password",
	"user_tokens":            "tokens",
	"login_failures":         "login_failures",
	"outbox":                 "mail",
	"user_totp":              "authenticator",
	"recovery_codes":         "recovery_codes",
	"factor_challenges":      "factor_challenges",
	"oauth_consents":         "connected_apps",
}

// DataExport is everything userd holds about a user: the profile, and
// Data, a JSON object with a key per table (DataExportTables) holding the
// user's rows of it without secrets (no password hash, token or hashed
// address).
type DataExport struct {
	User User
	Data json.RawMessage
}

// dataExportLimit bounds data exports: a few per user per hour.
var dataExportLimit = rateLimit{bucket: "data_export", limit: 3, window: time.Hour}

// Export returns everything held about by (GDPR art. 15 and 20).
// Each user gets dataExportLimit exports (kept in rate_events).
// Errors: rate_limited, not_found, db_unavailable.
func (s *Users) Export(ctx context.Context, by Principal) (DataExport, error) {
	id := by.User.ID
	key := sha256.Sum256([]byte("data_export:" + strconv.FormatInt(id, 10)))
	if err := takeAlone(ctx, s.db, dataExportLimit, key[:]); err != nil {
		return DataExport{}, err
	}
	u, err := s.db.q.UserGetByID(ctx, id)
	if err != nil {
		return DataExport{}, err
	}
	doc, err := s.db.q.UserDataExport(ctx, id)
	if err != nil {
		return DataExport{}, err
	}
	return DataExport{User: userFromRow(u), Data: doc}, nil
}
