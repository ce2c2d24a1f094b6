-- migrate:up

-- Principal changes are announced on the channel userd_principal, payload
-- the id of the user concerned: any update or delete of a users row (its
-- own id), of a user_identities row or of a sessions row (their user_id).
-- userd keeps the principal behind a verified token in memory and drops a
-- user's entries when its id arrives here; every write that changes what
-- GET /users/me returns or whether a token is still accepted
-- (deactivation, deletion, role, profile, session revocation, logout,
-- unlinking) is an update or delete of one of these rows, so no code path
-- has to remember to invalidate. Notifications are sent at commit, to
-- every listening session, the writer's own included (before its COMMIT
-- returns). Inserts make nothing stale: a new row was never cached.
CREATE FUNCTION principal_changed_trg() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('userd_principal', OLD.id::text);
    ELSE
        PERFORM pg_notify('userd_principal', OLD.user_id::text);
        IF TG_OP = 'UPDATE' AND NEW.user_id <> OLD.user_id THEN
            PERFORM pg_notify('userd_principal', NEW.user_id::text);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_principal_update_trg AFTER UPDATE ON users
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION principal_changed_trg();
CREATE TRIGGER users_principal_delete_trg AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION principal_changed_trg();
CREATE TRIGGER user_identities_principal_update_trg AFTER UPDATE ON user_identities
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION principal_changed_trg();
CREATE TRIGGER user_identities_principal_delete_trg AFTER DELETE ON user_identities
    FOR EACH ROW EXECUTE FUNCTION principal_changed_trg();
CREATE TRIGGER sessions_principal_update_trg AFTER UPDATE ON sessions
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION principal_changed_trg();
CREATE TRIGGER sessions_principal_delete_trg AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION principal_changed_trg();

-- migrate:down
DROP TRIGGER sessions_principal_delete_trg ON sessions;
DROP TRIGGER sessions_principal_update_trg ON sessions;
DROP TRIGGER user_identities_principal_delete_trg ON user_identities;
DROP TRIGGER user_identities_principal_update_trg ON user_identities;
DROP TRIGGER users_principal_delete_trg ON users;
DROP TRIGGER users_principal_update_trg ON users;
DROP FUNCTION principal_changed_trg();
