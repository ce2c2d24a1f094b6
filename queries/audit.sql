-- name: AuditInsert :exec
INSERT INTO audit_events (actor_id, target_user_id, organization_id, action, details)
VALUES (@actor_id, @target_user_id, @organization_id, @action, @details);

-- AuditList is one keyset page of audit events, newest first.
-- name: AuditList :many
SELECT * FROM audit_events
WHERE (created_at, id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;
