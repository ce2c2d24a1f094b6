-- Avatars: the re-encoded image and its thumbnail, one row per user.

-- name: AvatarUpsert :exec
INSERT INTO avatars (user_id, content_type, image, thumbnail_type, thumbnail, etag, updated_at)
VALUES (@user_id, @content_type, @image, @content_type, @thumbnail, @etag, now())
ON CONFLICT (user_id) DO UPDATE SET
    content_type = excluded.content_type,
    image = excluded.image,
    thumbnail_type = excluded.thumbnail_type,
    thumbnail = excluded.thumbnail,
    etag = excluded.etag,
    updated_at = excluded.updated_at;

-- AvatarGetVisible is the avatar of an active, undeleted user, in one
-- indexed query. Avatars are public, as Gravatar's are: a block does not
-- hide one (anyone can fetch it without a token). The bytes are left out
-- (NULL) when the caller already holds this version: its etag is among
-- @known, or @known holds '*'.
-- name: AvatarGetVisible :one
SELECT a.etag,
    (CASE WHEN @thumb::boolean THEN a.thumbnail_type ELSE a.content_type END)::text AS content_type,
    (CASE
        WHEN a.etag = ANY(@known::text[]) OR '*' = ANY(@known::text[]) THEN NULL
        WHEN @thumb::boolean THEN a.thumbnail
        ELSE a.image
    END)::bytea AS data
FROM avatars a
JOIN users u ON u.id = a.user_id
WHERE a.user_id = @user_id
    AND u.deleted_at IS NULL AND u.is_active;

-- name: AvatarDelete :execrows
DELETE FROM avatars WHERE user_id = @user_id;
