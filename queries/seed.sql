-- Seed data of `userd setup-dev-users`.

-- name: SeedOrganizationGet :one
SELECT * FROM organizations WHERE name = @name AND is_seed_data ORDER BY id LIMIT 1;

-- name: SeedOrganizationCreate :one
INSERT INTO organizations (name, is_seed_data) VALUES (@name, true)
RETURNING *;

-- name: SeedUserGroupAdd :exec
INSERT INTO user_permission_groups (user_id, group_id)
SELECT @user_id::bigint, id FROM permission_groups WHERE name = @group_name
ON CONFLICT DO NOTHING;

-- SeedUserReset makes an existing user the development superuser again: an
-- active admin of the seed organization, marked as seed data.
-- name: SeedUserReset :exec
UPDATE users SET role = 'admin', artist_id = NULL, is_active = true,
    organization_id = @organization_id, is_seed_data = true, updated_at = now()
WHERE id = @id;
