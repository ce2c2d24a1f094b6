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

-- name: SeedUserSetSeedData :exec
UPDATE users SET is_seed_data = true, updated_at = now() WHERE id = @id;
