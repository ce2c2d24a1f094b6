-- migrate:up

-- The admin console's directory filters on email verification, in the
-- keyset order of the list, so that a page of the rarer value (usually the
-- unverified) is an index range, not a walk of every user.
CREATE INDEX users_email_verified_created_at_idx ON users (email_verified, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- The console's organization search: a case-insensitive prefix of the name.
CREATE INDEX organizations_name_prefix_idx ON organizations (lower(name) text_pattern_ops);

-- An admin signing out another user's sessions from the console.
ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_chk;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_chk
    CHECK (revoked_reason IN ('logout', 'reuse_detected', 'password_changed', 'password_reset', 'deactivated', 'deleted', 'revoked_by_user', 'role_changed', 'address_proven', 'revoked_by_admin'));

-- migrate:down

UPDATE sessions SET revoked_reason = 'revoked_by_user' WHERE revoked_reason = 'revoked_by_admin';
ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_chk;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_chk
    CHECK (revoked_reason IN ('logout', 'reuse_detected', 'password_changed', 'password_reset', 'deactivated', 'deleted', 'revoked_by_user', 'role_changed', 'address_proven'));

DROP INDEX organizations_name_prefix_idx;
DROP INDEX users_email_verified_created_at_idx;
