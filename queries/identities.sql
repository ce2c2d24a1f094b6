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

-- name: IdentityCountByUser :one
SELECT count(*) FROM user_identities WHERE user_id = @user_id;

-- name: IdentityUpdateClaims :exec
UPDATE user_identities SET email = @email, phone = @phone, last_seen_at = now()
WHERE id = @id;

-- name: IdentityDelete :execrows
DELETE FROM user_identities WHERE user_id = @user_id AND provider = @provider;

-- name: IdentityScrubByUser :exec
UPDATE user_identities SET email = NULL, phone = NULL WHERE user_id = @user_id;
