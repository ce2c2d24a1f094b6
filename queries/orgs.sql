-- Organizations, their plans and their members (users.organization_id).

-- name: OrgCreate :one
INSERT INTO organizations (name) VALUES (@name)
RETURNING *;

-- OrgGet returns an organization with its plan's seat limit and the seats
-- in use (members plus pending invitations).
-- name: OrgGet :one
SELECT sqlc.embed(o), p.seat_limit,
    ((SELECT count(*) FROM users u WHERE u.organization_id = o.id)
     + (SELECT count(*) FROM invitations i
        WHERE i.organization_id = o.id AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()))::bigint AS seats_used
FROM organizations o JOIN plans p ON p.code = o.plan
WHERE o.id = @id;

-- OrgLock locks an organization row against every change of its members,
-- invitations and plan (the seat triggers take the same lock). It reads
-- no other table: a locking join would recheck a concurrently updated row
-- against stale rows of the other table and drop it.
-- name: OrgLock :one
SELECT * FROM organizations WHERE id = @id FOR NO KEY UPDATE;

-- name: OrgSeatLimit :one
SELECT p.seat_limit FROM organizations o JOIN plans p ON p.code = o.plan WHERE o.id = @id;

-- OrgLockForDelete locks an organization row as a delete does.
-- name: OrgLockForDelete :one
SELECT id FROM organizations WHERE id = @id FOR UPDATE;

-- name: OrgSeatsUsed :one
SELECT ((SELECT count(*) FROM users u WHERE u.organization_id = @id::bigint)
     + (SELECT count(*) FROM invitations i
        WHERE i.organization_id = @id::bigint AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()))::bigint;

-- name: OrgSetName :one
UPDATE organizations SET name = @name, updated_at = now() WHERE id = @id
RETURNING *;

-- name: OrgSetPlan :one
UPDATE organizations SET plan = @plan, updated_at = now() WHERE id = @id
RETURNING *;

-- name: OrgDelete :exec
DELETE FROM organizations WHERE id = @id;

-- name: PlanGet :one
SELECT * FROM plans WHERE code = @code;

-- MemberList is one keyset page of an organization's members, newest
-- account first, each with their organization-manageable groups.
-- name: MemberList :many
SELECT sqlc.embed(u),
    ARRAY(SELECT g.name FROM user_permission_groups ug JOIN permission_groups g ON g.id = ug.group_id
          WHERE ug.user_id = u.id AND g.kind = 'org_manageable' ORDER BY g.name)::text[] AS groups
FROM users u
WHERE u.organization_id = @organization_id
  AND (u.created_at, u.id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY u.created_at DESC, u.id DESC
LIMIT @page_limit;

-- name: MemberGet :one
SELECT sqlc.embed(u),
    ARRAY(SELECT g.name FROM user_permission_groups ug JOIN permission_groups g ON g.id = ug.group_id
          WHERE ug.user_id = u.id AND g.kind = 'org_manageable' ORDER BY g.name)::text[] AS groups
FROM users u
WHERE u.id = @id AND u.organization_id = @organization_id;

-- MemberAdminIDs lists the active members of an organization in group
-- org_admin: a deactivated admin does not count for the last-admin rule.
-- name: MemberAdminIDs :many
SELECT u.id FROM users u
JOIN user_permission_groups ug ON ug.user_id = u.id
JOIN permission_groups g ON g.id = ug.group_id AND g.name = 'org_admin'
WHERE u.organization_id = @organization_id AND u.is_active
ORDER BY u.id;

-- name: MemberCount :one
SELECT count(*) FROM users WHERE organization_id = @organization_id;

-- name: MemberExistsByEmail :one
SELECT EXISTS (
    SELECT 1 FROM users
    WHERE organization_id = @organization_id AND lower(email) = lower(@email::text) AND deleted_at IS NULL
);

-- MemberDetachAll takes every member out of an organization.
-- name: MemberDetachAll :execrows
UPDATE users SET organization_id = NULL, updated_at = now() WHERE organization_id = @organization_id;
