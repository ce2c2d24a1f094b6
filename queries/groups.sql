-- name: GroupEnsure :execrows
INSERT INTO permission_groups (name, kind, description) VALUES (@name, @kind, @description)
ON CONFLICT (name) DO NOTHING;

-- name: GroupList :many
SELECT * FROM permission_groups ORDER BY kind, name;
