-- name: UserGetByID :one
SELECT * FROM users WHERE id = @id;

-- name: UserGetByIDForUpdate :one
SELECT * FROM users WHERE id = @id FOR UPDATE;

-- name: UserGetByEmail :one
SELECT * FROM users
WHERE lower(email) = lower(@email::text) AND email IS NOT NULL AND deleted_at IS NULL;

-- name: UserGetByUsername :one
SELECT * FROM users WHERE username = lower(@username::text) AND deleted_at IS NULL;

-- name: UserGetByPhone :one
SELECT * FROM users WHERE phone = @phone::text AND phone IS NOT NULL AND deleted_at IS NULL;

-- UserListByPhoneLast10 returns at most two live users whose phone ends in
-- the given ten digits: one is a match, two is ambiguous. No ORDER BY: an
-- order would tempt the planner to walk the primary key instead of
-- users_phone_last10_idx.
-- name: UserListByPhoneLast10 :many
SELECT * FROM users
WHERE right(phone, 10) = @last10::text AND phone IS NOT NULL AND deleted_at IS NULL
LIMIT 2;

-- name: UserCreate :one
INSERT INTO users (
    username, email, phone, first_name, last_name, role, artist_id,
    email_verified, phone_verified, last_auth_method, last_auth_method_at, last_login_at,
    organization_id, is_seed_data
) VALUES (
    @username, @email, @phone, @first_name, @last_name, @role, @artist_id,
    @email_verified, @phone_verified, @last_auth_method, @last_auth_method_at, @last_login_at,
    @organization_id, @is_seed_data
)
RETURNING *;

-- UserUpdateProfile writes every profile column; the service merges a patch
-- into the current row first.
-- name: UserUpdateProfile :one
UPDATE users SET
    username = @username,
    email = @email,
    phone = @phone,
    first_name = @first_name,
    last_name = @last_name,
    bio = @bio,
    date_of_birth = @date_of_birth,
    instagram_handle = @instagram_handle,
    country = @country,
    city = @city,
    zipcode = @zipcode,
    email_verified = @email_verified,
    phone_verified = @phone_verified,
    updated_at = now()
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- name: UserUpdateLogin :one
UPDATE users SET
    last_auth_method = @last_auth_method,
    last_auth_method_at = @last_auth_method_at,
    last_login_at = @last_login_at
WHERE id = @id
RETURNING *;

-- name: UserUpdatePreferences :one
UPDATE users SET preferences = @preferences, updated_at = now()
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- name: UserUpdateLocation :one
UPDATE users SET
    current_latitude = @latitude,
    current_longitude = @longitude,
    updated_at = now()
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- name: UserSetEmailVerified :exec
UPDATE users SET email_verified = true, updated_at = now()
WHERE id = @id AND lower(email) = lower(@email::text) AND deleted_at IS NULL;

-- name: UserSetRole :one
UPDATE users SET role = @role, artist_id = @artist_id, updated_at = now()
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- name: UserSetActive :one
UPDATE users SET is_active = @is_active, updated_at = now()
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- UserAnonymize soft-deletes a user and clears every column that can
-- identify a person. The row stays so foreign keys keep pointing somewhere.
-- name: UserAnonymize :exec
UPDATE users SET
    username = NULL, email = NULL, phone = NULL, first_name = NULL, last_name = NULL,
    bio = NULL, avatar = NULL, date_of_birth = NULL, instagram_handle = NULL,
    country = NULL, city = NULL, zipcode = NULL,
    current_latitude = NULL, current_longitude = NULL,
    preferences = '{}'::jsonb, organization_id = NULL,
    is_active = false, is_verified = false, phone_verified = false, email_verified = false,
    deleted_at = now(), updated_at = now()
WHERE id = @id AND deleted_at IS NULL;

-- name: UserCountAdminsForUpdate :many
SELECT id FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL ORDER BY id FOR UPDATE;

-- The directory: keyset pages of live users, newest first. The cursor is
-- the (created_at, id) of the last row of the previous page. Each filter
-- combination is its own query so that even a generic plan walks the index
-- whose order is the page order.

-- name: UserList :many
SELECT * FROM users
WHERE deleted_at IS NULL
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- name: UserListByRole :many
SELECT * FROM users
WHERE deleted_at IS NULL AND role = @role::text
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- UserListActive and UserListInactive are two queries, not one with a
-- parameter: a generic plan of "is_active = $1" assumes half the rows match
-- and may walk users_created_at_idx, which for the (usually few) inactive
-- users reads the whole index.
-- name: UserListActive :many
SELECT * FROM users
WHERE deleted_at IS NULL AND is_active
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- name: UserListInactive :many
SELECT * FROM users
WHERE deleted_at IS NULL AND NOT is_active
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- name: UserListByRoleActive :many
SELECT * FROM users
WHERE deleted_at IS NULL AND role = @role::text AND is_active = @is_active::boolean
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- UserSearch is a directory page of live users whose username, email,
-- first or last name starts with @q, case-insensitively. Each prefix is an
-- index range (see prefix_upper_bound); the matches are sorted into the
-- keyset order, so a page costs what the matches of q cost, at any depth.
-- @q must be non-empty and must not end in U+10FFFF. Run it after
-- UserSearchForceCustomPlan in the same transaction.
-- name: UserSearch :many
SELECT * FROM users
WHERE deleted_at IS NULL
  AND ((username ~>=~ lower(@q::text) AND username ~<~ prefix_upper_bound(lower(@q::text)))
    OR (lower(email) ~>=~ lower(@q::text) AND lower(email) ~<~ prefix_upper_bound(lower(@q::text)))
    OR (lower(first_name) ~>=~ lower(@q::text) AND lower(first_name) ~<~ prefix_upper_bound(lower(@q::text)))
    OR (lower(last_name) ~>=~ lower(@q::text) AND lower(last_name) ~<~ prefix_upper_bound(lower(@q::text))))
  AND (sqlc.narg(role)::text IS NULL OR role = sqlc.narg(role)::text)
  AND (sqlc.narg(is_active)::boolean IS NULL OR is_active = sqlc.narg(is_active)::boolean)
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- UserSearchForceCustomPlan makes the rest of the transaction plan each
-- statement for its actual parameters. A cached generic plan of UserSearch
-- cannot know how rare the prefix is, so it would walk users_created_at_idx
-- even for a prefix that matches nobody, reading the whole index; a custom
-- plan walks that index for a common prefix and reads the prefix indexes
-- for a rare one.
-- name: UserSearchForceCustomPlan :exec
SELECT set_config('plan_cache_mode', 'force_custom_plan', true);

-- UserGetProfile is a user and whether they block @viewer_id, in one
-- indexed query.
-- name: UserGetProfile :one
SELECT sqlc.embed(users),
    EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = users.id AND b.blocked_id = @viewer_id::bigint) AS blocks_viewer
FROM users
WHERE users.id = @id::bigint;

-- UserGetWithSession is the hot path of userd's own access tokens: the user
-- and whether the token's session is still live, in one indexed query, so
-- a revoked session's tokens stop working at once. session_expires_at is
-- when a live session ends unless it is used again (kept with the cached
-- principal).
-- name: UserGetWithSession :one
SELECT sqlc.embed(users),
    (s.id IS NOT NULL AND s.revoked_at IS NULL AND s.expires_at > now())::boolean AS session_live,
    s.expires_at AS session_expires_at
FROM users
LEFT JOIN sessions s ON s.id = @session_id::bigint AND s.user_id = users.id
WHERE users.id = @id;

-- UserSetPendingEmail records (or, with NULL, cancels) an email change
-- waiting for its confirmation link.
-- name: UserSetPendingEmail :one
UPDATE users SET pending_email = sqlc.narg(pending_email), updated_at = now()
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- UserConfirmEmail makes the pending address the account's, proven.
-- name: UserConfirmEmail :one
UPDATE users SET email = pending_email, email_verified = true, pending_email = NULL, updated_at = now()
WHERE id = @id AND deleted_at IS NULL AND lower(pending_email) = lower(@email::text)
RETURNING *;

-- UserClearEmail removes the address (and any pending change) at once.
-- name: UserClearEmail :one
UPDATE users SET email = NULL, email_verified = false, pending_email = NULL, updated_at = now()
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- name: UserSetOrganization :exec
UPDATE users SET organization_id = @organization_id, updated_at = now() WHERE id = @id;

-- UserLockGraph takes the user's social-graph lock exclusively (see
-- graph_lock_user in the migrations): a delete takes it before any other
-- lock, so follows and blocks in flight of that user finish first and none
-- starts until the delete commits.
-- name: UserLockGraph :exec
SELECT graph_lock_user(@user_id::bigint);

-- name: UserUpdateAvatar :exec
UPDATE users SET avatar = @avatar, updated_at = now() WHERE id = @id AND deleted_at IS NULL;

-- UserReleaseEmail takes an address its account never proved off that
-- account, because another account proved it; no row when the account
-- proved it meanwhile or no longer has it.
-- name: UserReleaseEmail :one
UPDATE users SET email = NULL, email_verified = false, updated_at = now()
WHERE id = @id AND lower(email) = lower(@email::text) AND NOT email_verified AND deleted_at IS NULL
RETURNING *;

-- UserReleasePhone is UserReleaseEmail for a phone number.
-- name: UserReleasePhone :one
UPDATE users SET phone = NULL, phone_verified = false, updated_at = now()
WHERE id = @id AND phone = @phone::text AND NOT phone_verified AND deleted_at IS NULL
RETURNING *;

-- UserHoldsData reports whether a user has anything of their own beyond
-- the one external login that created them: a profile field, preferences,
-- a password, an avatar, another login, a follow or block either way, a
-- group, an organization, an invitation sent or accepted, a role; a
-- deleted, deactivated or seeded account counts as holding data. An
-- account holding none (a login that signed in once) may be absorbed by
-- an explicit link of that login to another account.
-- name: UserHoldsData :one
SELECT (u.deleted_at IS NOT NULL OR NOT u.is_active OR u.is_seed_data OR u.role <> 'user'
    OR u.username IS NOT NULL OR u.first_name IS NOT NULL OR u.last_name IS NOT NULL
    OR u.bio IS NOT NULL OR u.avatar IS NOT NULL OR u.date_of_birth IS NOT NULL
    OR u.instagram_handle IS NOT NULL OR u.country IS NOT NULL OR u.city IS NOT NULL
    OR u.zipcode IS NOT NULL OR u.artist_id IS NOT NULL OR u.organization_id IS NOT NULL
    OR u.current_latitude IS NOT NULL OR u.preferences <> '{}'::jsonb
    OR EXISTS (SELECT 1 FROM password_credentials c WHERE c.user_id = u.id)
    OR EXISTS (SELECT 1 FROM avatars a WHERE a.user_id = u.id)
    OR (SELECT count(*) FROM user_identities i WHERE i.user_id = u.id) > 1
    OR EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = u.id OR f.followee_id = u.id)
    OR EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id OR b.blocked_id = u.id)
    OR EXISTS (SELECT 1 FROM user_permission_groups g WHERE g.user_id = u.id)
    OR EXISTS (SELECT 1 FROM invitations v WHERE v.inviter_id = u.id OR v.accepted_by = u.id)
    OR EXISTS (SELECT 1 FROM user_totp t WHERE t.user_id = u.id)
    OR EXISTS (SELECT 1 FROM recovery_codes r WHERE r.user_id = u.id)
    OR EXISTS (SELECT 1 FROM oauth_consents o WHERE o.user_id = u.id))::boolean AS holds
FROM users u
WHERE u.id = @id;
