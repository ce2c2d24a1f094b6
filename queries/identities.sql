-- name: IdentityGetByProviderSubject :one
SELECT * FROM user_identities WHERE provider = @provider AND subject = @subject;

-- IdentityCreate inserts an identity, or returns nothing when the
-- (provider, subject) pair is already linked.
-- name: IdentityCreate :one
INSERT INTO user_identities (user_id, provider, subject, email, phone)
VALUES (@user_id, @provider, @subject, @email, @phone)
ON CONFLICT (provider, subject) DO NOTHING
RETURNING *;

-- name: IdentityListByUser :many
SELECT * FROM user_identities WHERE user_id = @user_id ORDER BY created_at, id;

-- name: IdentityUpdateClaims :exec
UPDATE user_identities SET email = @email, phone = @phone, last_seen_at = now()
WHERE id = @id;

-- name: IdentityDelete :execrows
DELETE FROM user_identities WHERE user_id = @user_id AND provider = @provider;

-- name: IdentityScrubByUser :exec
UPDATE user_identities SET email = NULL, phone = NULL WHERE user_id = @user_id;

-- IdentityGetUser is the hot path of an external token: the identity and its
-- user in one indexed query.
-- name: IdentityGetUser :one
SELECT sqlc.embed(users), i.id AS identity_id, i.email AS identity_email, i.phone AS identity_phone
FROM user_identities i
JOIN users ON users.id = i.user_id
WHERE i.provider = @provider AND i.subject = @subject;

-- IdentityDeleteAllByUser removes every external login of a user.
-- name: IdentityDeleteAllByUser :execrows
DELETE FROM user_identities WHERE user_id = @user_id;
