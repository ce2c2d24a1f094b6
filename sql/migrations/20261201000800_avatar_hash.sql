-- migrate:up
-- An avatar's etag is the SHA-256 (hex) of its stored image and thumbnail:
-- the strong ETag of GET …/avatar and, in its first 12 digits, the version
-- in users.avatar. Rows from before re-encoding are dropped with their URL.
UPDATE users SET avatar = NULL WHERE id IN (SELECT user_id FROM avatars WHERE etag !~ '^[0-9a-f]{64}$');
DELETE FROM avatars WHERE etag !~ '^[0-9a-f]{64}$';
ALTER TABLE avatars ADD CONSTRAINT avatars_etag_chk CHECK (etag ~ '^[0-9a-f]{64}$');

-- migrate:down
ALTER TABLE avatars DROP CONSTRAINT avatars_etag_chk;
