-- The admin console's reads: the overview's counts, the directory's wider
-- filters and the list of organizations.

-- ConsoleUserCounts counts live users in one pass: all, active, and those
-- who signed in since @day_ago and since @week_ago.
-- name: ConsoleUserCounts :one
SELECT count(*) AS total,
    count(*) FILTER (WHERE is_active) AS active,
    count(*) FILTER (WHERE last_login_at >= @day_ago::timestamptz) AS signed_in_day,
    count(*) FILTER (WHERE last_login_at >= @week_ago::timestamptz) AS signed_in_week
FROM users
WHERE deleted_at IS NULL;

-- ConsoleSignupsByDay counts the live users created since @since, by UTC
-- day (days without a sign-up are absent).
-- name: ConsoleSignupsByDay :many
SELECT date_trunc('day', created_at, 'UTC')::timestamptz AS day, count(*) AS signups
FROM users
WHERE deleted_at IS NULL AND created_at >= @since::timestamptz
GROUP BY 1
ORDER BY 1;

-- name: ConsoleOrgsByPlan :many
SELECT p.code AS plan, count(o.id) AS orgs
FROM plans p LEFT JOIN organizations o ON o.plan = p.code
GROUP BY p.code
ORDER BY p.code;

-- ConsoleOutboxBacklog counts the jobs (mails, IdP deletes) not yet done
-- nor given up.
-- name: ConsoleOutboxBacklog :one
SELECT count(*) FROM outbox WHERE done_at IS NULL AND failed_at IS NULL;

-- UserListFiltered is a directory page under every filter at once, each
-- NULL parameter filtering nothing: a phone's last ten digits, a
-- case-insensitive prefix of username, email, first or last name, role,
-- active, email verified, organization. Run it after
-- UserSearchForceCustomPlan in the same transaction: a custom plan folds
-- the NULL filters away and reads the index of the most selective one
-- (users_phone_last10_idx, the prefix indexes,
-- users_organization_members_idx, users_email_verified_created_at_idx).
-- name: UserListFiltered :many
SELECT * FROM users
WHERE deleted_at IS NULL
  AND (sqlc.narg(phone_last10)::text IS NULL
    OR (phone IS NOT NULL AND right(phone, 10) = sqlc.narg(phone_last10)::text))
  AND (sqlc.narg(q)::text IS NULL
    OR (username ~>=~ lower(sqlc.narg(q)::text) AND username ~<~ prefix_upper_bound(lower(sqlc.narg(q)::text)))
    OR (lower(email) ~>=~ lower(sqlc.narg(q)::text) AND lower(email) ~<~ prefix_upper_bound(lower(sqlc.narg(q)::text)))
    OR (lower(first_name) ~>=~ lower(sqlc.narg(q)::text) AND lower(first_name) ~<~ prefix_upper_bound(lower(sqlc.narg(q)::text)))
    OR (lower(last_name) ~>=~ lower(sqlc.narg(q)::text) AND lower(last_name) ~<~ prefix_upper_bound(lower(sqlc.narg(q)::text))))
  AND (sqlc.narg(role)::text IS NULL OR role = sqlc.narg(role)::text)
  AND (sqlc.narg(is_active)::boolean IS NULL OR is_active = sqlc.narg(is_active)::boolean)
  AND (sqlc.narg(email_verified)::boolean IS NULL OR email_verified = sqlc.narg(email_verified)::boolean)
  AND (sqlc.narg(organization_id)::bigint IS NULL OR organization_id = sqlc.narg(organization_id)::bigint)
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- OrgList is one keyset page of organizations, newest first, whose name
-- starts with @q case-insensitively (NULL: all), each with its plan's seat
-- limit and its member count.
-- name: OrgList :many
SELECT sqlc.embed(o), p.seat_limit,
    (SELECT count(*) FROM users u WHERE u.organization_id = o.id)::bigint AS members
FROM organizations o JOIN plans p ON p.code = o.plan
WHERE (sqlc.narg(q)::text IS NULL
    OR (lower(o.name) ~>=~ lower(sqlc.narg(q)::text) AND lower(o.name) ~<~ prefix_upper_bound(lower(sqlc.narg(q)::text))))
  AND (o.created_at, o.id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY o.created_at DESC, o.id DESC
LIMIT @page_limit;

-- name: PlanList :many
SELECT * FROM plans ORDER BY seat_limit NULLS LAST, code;

-- UserGroupNames is every group user_id belongs to, by name.
-- name: UserGroupNames :many
SELECT g.name FROM user_permission_groups ug JOIN permission_groups g ON g.id = ug.group_id
WHERE ug.user_id = @user_id
ORDER BY g.name;

-- SessionRevokeOneOfUser revokes session id of user user_id with reason,
-- keeping the reason of an earlier revocation; no row means it is not
-- theirs.
-- name: SessionRevokeOneOfUser :execrows
UPDATE sessions SET
    revoked_at = coalesce(revoked_at, now()),
    revoked_reason = coalesce(revoked_reason, @reason::text)
WHERE id = @id AND user_id = @user_id;
