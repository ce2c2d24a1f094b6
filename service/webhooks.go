package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/userd/userd/dbgen"
)

// The webhook event types (docs/webhooks.md, "Events"). Every payload is
// {"type", "timestamp", "data"}; data holds ids, roles, plans and the names
// of changed fields, never personal data, secrets or tokens.
const (
	EventUserCreated       = "user.created"        // data: user_id
	EventUserUpdated       = "user.updated"        // data: user_id, fields (names of the changed fields)
	EventUserDeactivated   = "user.deactivated"    // data: user_id, actor_id
	EventUserReactivated   = "user.reactivated"    // data: user_id, actor_id
	EventUserDeleted       = "user.deleted"        // data: user_id
	EventUserRoleChanged   = "user.role_changed"   // data: user_id, role, previous_role, actor_id
	EventSessionRevokedAll = "session.revoked_all" // data: user_id, reason

	EventOrgCreated       = "organization.created"        // data: organization_id, actor_id
	EventOrgDeleted       = "organization.deleted"        // data: organization_id, actor_id
	EventOrgMemberAdded   = "organization.member_added"   // data: organization_id, user_id
	EventOrgMemberRemoved = "organization.member_removed" // data: organization_id, user_id, actor_id
	EventOrgPlanChanged   = "organization.plan_changed"   // data: organization_id, plan, previous_plan
	EventInvitationAccept = "invitation.accepted"         // data: invitation_id, organization_id, user_id
)

// EventTypes lists every webhook event type.
var EventTypes = []string{
	EventUserCreated, EventUserUpdated, EventUserDeactivated, EventUserReactivated, EventUserDeleted,
	EventUserRoleChanged, EventSessionRevokedAll, EventOrgCreated, EventOrgDeleted, EventOrgMemberAdded,
	EventOrgMemberRemoved, EventOrgPlanChanged, EventInvitationAccept,
}

// event records a webhook event in q's transaction, the one making the
// change, and queues its delivery to every enabled endpoint taking its type:
// the event goes out if and only if the change commits.
func event(ctx context.Context, q *dbgen.Queries, typ string, data map[string]any) error {
	body, err := json.Marshal(struct {
		Type      string         `json:"type"`
		Timestamp string         `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}{typ, time.Now().UTC().Format(time.RFC3339Nano), data})
	if err != nil {
		return fmt.Errorf("webhook event %s: %w", typ, err)
	}
	if err := q.WebhookEventEmit(ctx, dbgen.WebhookEventEmitParams{Type: typ, Payload: body}); err != nil {
		return fmt.Errorf("webhook event %s: %w", typ, err)
	}
	return nil
}

// userEvent records event typ about user id with the extra data kv (key,
// value pairs).
func userEvent(ctx context.Context, q *dbgen.Queries, typ string, userID int64, kv ...any) error {
	data := map[string]any{"user_id": userID}
	for i := 0; i+1 < len(kv); i += 2 {
		data[kv[i].(string)] = kv[i+1]
	}
	return event(ctx, q, typ, data)
}

// orgEvent records event typ about organization id with the extra data kv.
func orgEvent(ctx context.Context, q *dbgen.Queries, typ string, orgID int64, kv ...any) error {
	data := map[string]any{"organization_id": orgID}
	for i := 0; i+1 < len(kv); i += 2 {
		data[kv[i].(string)] = kv[i+1]
	}
	return event(ctx, q, typ, data)
}

// userFieldsNotUpdated are the columns of users that user.updated does not
// report: bookkeeping, and the changes that have events of their own.
var userFieldsNotUpdated = []string{
	"id", "role", "organization_id", "is_active", "deleted_at", "created_at", "updated_at",
	"last_auth_method", "last_auth_method_at", "last_login_at", "is_seed_data",
}

// userUpdated records user.updated with the names of the fields that
// differ between the rows before and after (none: no event).
func userUpdated(ctx context.Context, q *dbgen.Queries, before, after dbgen.User) error {
	fields := changedUserFields(before, after)
	if len(fields) == 0 {
		return nil
	}
	return userEvent(ctx, q, EventUserUpdated, after.ID, "fields", fields)
}

// changedUserFields names (in snake case, as the columns) the fields that
// differ between two rows of the same user; the position is one field,
// "location".
func changedUserFields(a, b dbgen.User) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := range va.NumField() {
		name := snakeCase(va.Type().Field(i).Name)
		if slices.Contains(userFieldsNotUpdated, name) || reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			continue
		}
		switch name {
		case "current_latitude", "current_longitude":
			name = "location"
		case "avatar":
			name = "avatar_url"
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 && !unicode.IsUpper(rune(s[i-1])) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// WebhookEndpoint is a receiver of webhook events. The secret is not part
// of it: it is shown once, when made.
type WebhookEndpoint struct {
	ID             int64
	URL            string
	Events         []string // event types, or "*" for all
	CreatedAt      time.Time
	DisabledAt     *time.Time
	DisabledReason *string
	RotatingUntil  *time.Time // the previous secret also signs until then
}

func endpointFromRow(r dbgen.WebhookEndpoint) WebhookEndpoint {
	e := WebhookEndpoint{ID: r.ID, URL: r.Url, Events: r.EventTypes, CreatedAt: r.CreatedAt, DisabledAt: r.DisabledAt, DisabledReason: r.DisabledReason}
	if r.PreviousUntil != nil && r.PreviousUntil.After(time.Now()) {
		e.RotatingUntil = r.PreviousUntil
	}
	return e
}

// WebhookDelivery is one delivery of an event to an endpoint: its state
// and its last attempt.
type WebhookDelivery struct {
	ID            int64
	MessageID     string // the webhook-id header
	Type          string
	Attempts      int32
	CreatedAt     time.Time
	LastAttemptAt *time.Time
	LastStatus    *int32 // the HTTP status of the last attempt; nil: none received
	LastError     *string
	DeliveredAt   *time.Time
	FailedAt      *time.Time
}

// newWebhookSecret returns a fresh signing secret: whsec_ and the base64 of
// 32 random bytes, the form Standard Webhooks libraries read.
func newWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// checkEndpoint validates an endpoint URL and its event types and returns
// the types, sorted and without duplicates.
func checkEndpoint(rawURL string, events []string) ([]string, error) {
	var v validation
	u, err := url.Parse(rawURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "":
		v.add("url", "must be an absolute http or https URL")
	case u.User != nil:
		v.add("url", "must not hold credentials")
	case len(rawURL) > 2048:
		v.add("url", "must be at most 2048 characters")
	case u.Fragment != "":
		v.add("url", "must not hold a fragment")
	}
	var types []string
	for _, e := range events {
		e = strings.TrimSpace(e)
		switch {
		case e == "*" || slices.Contains(EventTypes, e):
			if !slices.Contains(types, e) {
				types = append(types, e)
			}
		default:
			v.add("events", fmt.Sprintf("%q is not an event type (one of %s, or *)", e, strings.Join(EventTypes, ", ")))
		}
	}
	if len(types) == 0 && len(events) == 0 {
		v.add("events", "at least one event type, or *, is required")
	}
	if slices.Contains(types, "*") {
		types = []string{"*"}
	}
	slices.Sort(types)
	return types, v.err()
}

// activeEvents records user.deactivated (and session.revoked_all, as
// deactivation revokes every session) or user.reactivated.
func activeEvents(ctx context.Context, q *dbgen.Queries, userID int64, actorID *int64, active bool) error {
	if active {
		return userEvent(ctx, q, EventUserReactivated, userID, "actor_id", actorID)
	}
	if err := userEvent(ctx, q, EventUserDeactivated, userID, "actor_id", actorID); err != nil {
		return err
	}
	return userEvent(ctx, q, EventSessionRevokedAll, userID, "reason", "deactivated")
}

// acceptEvents records invitation.accepted and the member it adds.
func acceptEvents(ctx context.Context, q *dbgen.Queries, invitationID, orgID, userID int64) error {
	if err := event(ctx, q, EventInvitationAccept, map[string]any{"invitation_id": invitationID, "organization_id": orgID, "user_id": userID}); err != nil {
		return err
	}
	return orgEvent(ctx, q, EventOrgMemberAdded, orgID, "user_id", userID)
}

// emailProvedEvent records user.updated for an address proven by a link
// of purpose (a verification or a change of email).
func emailProvedEvent(ctx context.Context, q *dbgen.Queries, userID int64, purpose string) error {
	fields := []string{"email_verified"}
	if purpose == purposeEmailChange {
		fields = []string{"email", "email_verified", "pending_email"}
	}
	return userEvent(ctx, q, EventUserUpdated, userID, "fields", fields)
}

// orgCreatedEvents records organization.created and its first member.
func orgCreatedEvents(ctx context.Context, q *dbgen.Queries, orgID, actorID int64) error {
	if err := orgEvent(ctx, q, EventOrgCreated, orgID, "actor_id", actorID); err != nil {
		return err
	}
	return orgEvent(ctx, q, EventOrgMemberAdded, orgID, "user_id", actorID)
}
