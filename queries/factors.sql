-- Second factors: TOTP authenticators, recovery codes, sign-in challenges.

-- name: TOTPGet :one
SELECT * FROM user_totp WHERE user_id = @user_id;

-- TOTPPut starts an enrolment: a new unconfirmed secret, replacing an
-- unconfirmed one; it returns no row when a confirmed one exists.
-- name: TOTPPut :one
INSERT INTO user_totp (user_id, secret_sealed, key_id) VALUES (@user_id, @secret_sealed, @key_id)
ON CONFLICT (user_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, key_id = EXCLUDED.key_id, created_at = now()
WHERE user_totp.confirmed_at IS NULL
RETURNING *;

-- TOTPUseStep takes the code of time step @step: it returns no row when
-- that step or a later one was taken already (a replay). @confirm also
-- confirms an unconfirmed authenticator; otherwise it must be confirmed.
-- name: TOTPUseStep :one
UPDATE user_totp SET
    last_used_step = @step::bigint,
    confirmed_at = CASE WHEN @confirm::bool THEN coalesce(confirmed_at, now()) ELSE confirmed_at END
WHERE user_id = @user_id
  AND (last_used_step IS NULL OR last_used_step < @step::bigint)
  AND (@confirm::bool OR confirmed_at IS NOT NULL)
RETURNING *;

-- TOTPReseal stores the secret sealed under another data key.
-- name: TOTPReseal :exec
UPDATE user_totp SET secret_sealed = @secret_sealed, key_id = @key_id WHERE user_id = @user_id;

-- name: TOTPDelete :execrows
DELETE FROM user_totp WHERE user_id = @user_id;

-- name: RecoveryCodeDeleteByUser :execrows
DELETE FROM recovery_codes WHERE user_id = @user_id;

-- name: RecoveryCodeInsert :copyfrom
INSERT INTO recovery_codes (user_id, code_hash) VALUES (@user_id, @code_hash);

-- RecoveryCodeUse spends an unused code; no row when there is none.
-- name: RecoveryCodeUse :one
UPDATE recovery_codes SET used_at = now()
WHERE user_id = @user_id AND code_hash = @code_hash AND used_at IS NULL
RETURNING id;

-- name: FactorSummary :one
SELECT
    t.confirmed_at AS totp_confirmed_at,
    (SELECT count(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL) AS recovery_codes_left
FROM users u
LEFT JOIN user_totp t ON t.user_id = u.id AND t.confirmed_at IS NOT NULL
WHERE u.id = @user_id;

-- name: FactorChallengeCreate :exec
INSERT INTO factor_challenges (token_hash, user_id, kind, expires_at)
VALUES (@token_hash, @user_id, @kind, now() + make_interval(secs => @ttl_seconds::float8));

-- FactorChallengeGet reads a live challenge without spending it.
-- name: FactorChallengeGet :one
SELECT * FROM factor_challenges
WHERE token_hash = @token_hash AND used_at IS NULL AND expires_at > now();

-- FactorChallengeUse spends a live challenge; no row when it is used or
-- expired.
-- name: FactorChallengeUse :one
UPDATE factor_challenges SET used_at = now()
WHERE token_hash = @token_hash AND used_at IS NULL AND expires_at > now()
RETURNING *;

-- name: FactorChallengePrune :execrows
DELETE FROM factor_challenges
WHERE id IN (SELECT id FROM factor_challenges WHERE expires_at < now() - interval '1 hour' LIMIT @batch);

-- SessionProveFactor records a second factor shown in a session: its amr
-- gains @method and factor_at becomes now.
-- name: SessionProveFactor :execrows
UPDATE sessions SET
    amr = (SELECT array_agg(DISTINCT m ORDER BY m) FROM unnest(array_append(amr, @method::text)) AS m),
    factor_at = now()
WHERE id = @id AND user_id = @user_id AND revoked_at IS NULL;

-- name: SessionFactorAt :one
SELECT factor_at FROM sessions WHERE id = @id AND user_id = @user_id;
