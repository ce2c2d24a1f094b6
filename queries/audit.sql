-- name: AuditInsert :exec
INSERT INTO audit_events (actor_id, target_user_id, organization_id, action, details)
VALUES (@actor_id, @target_user_id, @organization_id, @action, @details);

-- The audit log lists are keyset pages, newest first, of the events at or
-- after @since. Each list is driven by one index; the filters it does not
-- index are optional (NULL: no filter) and checked on the rows that index
-- yields. The service picks the list: by actor, else by target, else by
-- action, else all.

-- AuditList is one page of all events.
-- name: AuditList :many
SELECT * FROM audit_events
WHERE created_at >= @since::timestamptz
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- AuditListByActor is one page of the events of one actor
-- (audit_events_actor_created_at_idx).
-- name: AuditListByActor :many
SELECT * FROM audit_events
WHERE actor_id = @actor_id::bigint
  AND (sqlc.narg(target_user_id)::bigint IS NULL OR target_user_id = sqlc.narg(target_user_id)::bigint)
  AND (sqlc.narg(action)::text IS NULL OR action = sqlc.narg(action)::text)
  AND created_at >= @since::timestamptz
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- AuditListByTarget is one page of the events about one user
-- (audit_events_target_created_at_idx).
-- name: AuditListByTarget :many
SELECT * FROM audit_events
WHERE target_user_id = @target_user_id::bigint
  AND (sqlc.narg(action)::text IS NULL OR action = sqlc.narg(action)::text)
  AND created_at >= @since::timestamptz
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- AuditListByAction is one page of the events of one action
-- (audit_events_action_created_at_idx).
-- name: AuditListByAction :many
SELECT * FROM audit_events
WHERE action = @action::text
  AND created_at >= @since::timestamptz
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- name: AuditScrubByUser :exec
UPDATE audit_events
SET details = details - ARRAY['email', 'phone', 'username', 'first_name', 'last_name', 'name', 'before', 'after']::text[]
    || jsonb_build_object('redacted', true)
WHERE target_user_id = @user_id::bigint OR actor_id = @user_id::bigint;
