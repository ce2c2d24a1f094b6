-- name: GroupEnsure :execrows
INSERT INTO permission_groups (name, kind, description) VALUES (@name, @kind, @description)
ON CONFLICT (name) DO NOTHING;

-- name: GroupListByKind :many
SELECT * FROM permission_groups WHERE kind = @kind ORDER BY name;

-- UserGroupAddOrgManageable gives a user the named organization-manageable
-- groups; other names are ignored.
-- name: UserGroupAddOrgManageable :exec
INSERT INTO user_permission_groups (user_id, group_id)
SELECT @user_id::bigint, id FROM permission_groups WHERE name = ANY (@names::text[]) AND kind = 'org_manageable'
ON CONFLICT DO NOTHING;

-- name: UserGroupDeleteOrgManageable :exec
DELETE FROM user_permission_groups ug USING permission_groups g
WHERE g.id = ug.group_id AND g.kind = 'org_manageable' AND ug.user_id = @user_id;

-- UserGroupDeleteOrgManageableByOrg takes the organization-manageable
-- groups from every member of an organization.
-- name: UserGroupDeleteOrgManageableByOrg :exec
DELETE FROM user_permission_groups ug USING permission_groups g, users u
WHERE g.id = ug.group_id AND g.kind = 'org_manageable' AND u.id = ug.user_id AND u.organization_id = @organization_id;

-- name: UserGroupDeleteAllByUser :exec
DELETE FROM user_permission_groups WHERE user_id = @user_id;
