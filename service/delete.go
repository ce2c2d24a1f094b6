package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/userd/userd/dbgen"
)

// idpDeletePayload is the outbox payload of an IdP hard delete.
type idpDeletePayload struct {
	Provider string `json:"provider"`
	Subject  string `json:"subject"`
}

// audit records an action in audit_events. details must hold no secrets.
func audit(ctx context.Context, q *dbgen.Queries, actorID, targetID *int64, action string, details map[string]any) error {
	return auditIn(ctx, q, actorID, targetID, nil, action, details)
}

// auditIn is audit of an action in organization orgID (nil: none).
func auditIn(ctx context.Context, q *dbgen.Queries, actorID, targetID, orgID *int64, action string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	b, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	if err := q.AuditInsert(ctx, dbgen.AuditInsertParams{ActorID: actorID, TargetUserID: targetID, OrganizationID: orgID, Action: action, Details: b}); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// lockAdmins locks every active admin row and returns their ids, so that
// two transactions demoting or removing admins serialize.
func lockAdmins(ctx context.Context, q *dbgen.Queries) ([]int64, error) {
	return q.UserCountAdminsForUpdate(ctx)
}

// Delete soft-deletes a user and, in the same transaction, erases their
// personal data everywhere: the users row is anonymized; sessions revoked
// and scrubbed; tokens, password, avatar, follows (counters follow),
// blocks, group memberships, pending mail and login-failure records
// removed; invitations and audit details scrubbed; identity claims
// cleared. A hard delete at the IdP is queued in the outbox. by is the
// user themself or someone who may manage users (PermManageUsers, checked
// under the admin rows' locks).
// Errors: forbidden, not_found (unknown or already deleted), last_admin.
func (s *Users) Delete(ctx context.Context, by Principal, userID int64) error {
	return inTx(ctx, s.db, func(q *dbgen.Queries) error { return s.deleteTx(ctx, q, by, userID) })
}

func (s *Users) deleteTx(ctx context.Context, q *dbgen.Queries, by Principal, userID int64) error {
	// The user's social-graph lock comes before every other lock: follows
	// and blocks in flight of this user finish first, and none starts
	// until the delete commits (so none survives it). Taken after the
	// admin rows it could deadlock with a follow of an admin.
	if err := q.UserLockGraph(ctx, userID); err != nil {
		return fmt.Errorf("lock graph: %w", err)
	}
	// Admin rows are locked next, in the order role changes take them, so
	// the last-admin check and the actor's own rights cannot race.
	admins, err := lockAdmins(ctx, q)
	if err != nil {
		return err
	}
	u, err := lockLiveUser(ctx, q, userID)
	if err != nil {
		return err
	}
	if !by.is(userID) {
		if err := mayNow(ctx, q, by, PermManageUsers); err != nil {
			return err
		}
	}
	if Role(u.Role) == RoleAdmin && u.IsActive && len(admins) <= 1 {
		return ErrLastAdmin
	}
	email := ""
	if u.Email != nil {
		email = *u.Email
	}
	if _, err := q.SessionRevokeAllByUser(ctx, dbgen.SessionRevokeAllByUserParams{UserID: userID, Reason: strPtr("deleted")}); err != nil {
		return err
	}
	// The IdP deletes are queued from the identities before their claims
	// are scrubbed below.
	if err := s.queueIdPDeletes(ctx, q, userID); err != nil {
		return err
	}
	if _, err := q.PasswordCredentialDelete(ctx, userID); err != nil {
		return err
	}
	// Every other table that holds the user's personal data, by user id.
	for _, erase := range []func(context.Context, int64) error{
		q.SessionScrubByUser, q.UserTokenDeleteByUser, func(ctx context.Context, id int64) error { _, err := q.AvatarDelete(ctx, id); return err },
		q.FollowDeleteAllByUser, q.BlockDeleteAllByUser, q.UserGroupDeleteAllByUser,
		q.AuditScrubByUser, q.LoginFailureDeleteByUser, q.OutboxDeleteMailByUser, q.IdentityScrubByUser,
	} {
		if err := erase(ctx, userID); err != nil {
			return err
		}
	}
	if err := q.InvitationRevokePendingByEmail(ctx, email); err != nil {
		return err
	}
	if err := q.InvitationScrubEmail(ctx, dbgen.InvitationScrubEmailParams{UserID: &userID, Email: email}); err != nil {
		return err
	}
	if err := q.UserAnonymize(ctx, userID); err != nil {
		return err
	}
	if err := userEvent(ctx, q, EventUserDeleted, userID); err != nil {
		return err
	}
	action := "user.deleted"
	if !by.is(userID) {
		action = "admin.user_deleted"
	}
	return audit(ctx, q, by.actor(), &userID, action, nil)
}

// queueIdPDeletes queues a hard delete at the IdP for each identity of the
// provider whose admin API is configured.
func (s *Users) queueIdPDeletes(ctx context.Context, q *dbgen.Queries, userID int64) error {
	if s.hardDeleteProvider == "" {
		return nil
	}
	ids, err := q.IdentityListByUser(ctx, userID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id.Provider != s.hardDeleteProvider {
			continue
		}
		b, err := json.Marshal(idpDeletePayload{Provider: id.Provider, Subject: id.Subject})
		if err != nil {
			return err
		}
		if _, err := q.OutboxEnqueue(ctx, dbgen.OutboxEnqueueParams{Kind: "idp_delete", Payload: b}); err != nil {
			return err
		}
	}
	return nil
}

func strPtr(s string) *string { return &s }
