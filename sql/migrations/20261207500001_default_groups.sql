-- migrate:up
-- The default permission groups (service.DefaultGroups), so that a fresh
-- database can invite members into them without `userd setup-groups`.
-- org_admin came with the schema; groups created earlier by setup-groups
-- are left as they are.
INSERT INTO permission_groups (name, kind, description) VALUES
    ('org_billing', 'org_manageable', 'Sees and changes the organization''s plan'),
    ('org_editor', 'org_manageable', 'Edits the organization''s content'),
    ('org_viewer', 'org_manageable', 'Reads the organization''s content'),
    ('support', 'system', 'userd operators'' support staff'),
    ('premium', 'subscription', 'Granted by a paid subscription')
ON CONFLICT (name) DO NOTHING;

-- migrate:down
-- Removes the seeded groups nobody holds; a group someone holds stays
-- (removing it would silently take it away from them).
DELETE FROM permission_groups g
WHERE g.name IN ('org_billing', 'org_editor', 'org_viewer', 'support', 'premium')
  AND NOT EXISTS (SELECT 1 FROM user_permission_groups u WHERE u.group_id = g.id);
