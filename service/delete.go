package service

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/userd/userd/dbgen"
)

// idpDeletePayload is the outbox payload of an IdP hard delete.
type idpDeletePayload struct {
	Provider string `json:"provider"`
	Subject  string `json:"subject"`
}

// audit records an action in audit_events. details must hold no secrets.
func audit(ctx context.Context, q *dbgen.Queries, actorID, targetID *int64, action string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	return q.AuditInsert(ctx, dbgen.AuditInsertParams{ActorID: actorID, TargetUserID: targetID, Action: action, Details: b})
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
// cleared. A hard delete at the IdP is queued in the outbox. actorID is
// the user doing it (the user themself, or an admin).
// Errors: not_found (unknown or already deleted), last_admin.
func (s *Users) Delete(ctx context.Context, userID, actorID int64) error {
	_, err := inTx(ctx, s.db, func(q *dbgen.Queries) (struct{}, error) {
		return struct{}{}, s.deleteTx(ctx, q, userID, actorID)
	})
	return err
}

func (s *Users) deleteTx(ctx context.Context, q *dbgen.Queries, userID, actorID int64) error {
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
	u, err := q.UserGetByIDForUpdate(ctx, userID)
	if err != nil {
		return err
	}
	if u.DeletedAt != nil {
		return ErrNotFound
	}
	if actorID != userID && !slices.Contains(admins, actorID) {
		return ErrForbidden // the actor was demoted or deactivated meanwhile
	}
	if Role(u.Role) == RoleAdmin && u.IsActive && len(admins) <= 1 {
		return ErrLastAdmin
	}
	email := ""
	if u.Email != nil {
		email = *u.Email
	}
	steps := []func() error{
		func() error {
			_, err := q.SessionRevokeAllByUser(ctx, dbgen.SessionRevokeAllByUserParams{UserID: userID, Reason: strPtr("deleted")})
			return err
		},
		func() error { return q.SessionScrubByUser(ctx, userID) },
		func() error { return q.UserTokenDeleteByUser(ctx, userID) },
		func() error { return q.PasswordCredentialDelete(ctx, userID) },
		func() error { _, err := q.AvatarDelete(ctx, userID); return err },
		func() error { return q.FollowDeleteAllByUser(ctx, userID) },
		func() error { return q.BlockDeleteAllByUser(ctx, userID) },
		func() error { return q.UserGroupDeleteAllByUser(ctx, userID) },
		func() error { return q.InvitationRevokePendingByEmail(ctx, email) },
		func() error {
			return q.InvitationScrubEmail(ctx, dbgen.InvitationScrubEmailParams{UserID: &userID, Email: email})
		},
		func() error { return q.AuditScrubByUser(ctx, &userID) },
		func() error { return q.LoginFailureDeleteByUser(ctx, &userID) },
		func() error { return q.OutboxDeleteMailByUser(ctx, &userID) },
		func() error { return s.queueIdPDeletes(ctx, q, userID) },
		func() error { return q.IdentityScrubByUser(ctx, userID) },
		func() error { return q.UserAnonymize(ctx, userID) },
		func() error {
			action := "user.deleted"
			if actorID != userID {
				action = "admin.user_deleted"
			}
			return audit(ctx, q, &actorID, &userID, action, nil)
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
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
