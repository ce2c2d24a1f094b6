-- migrate:up

-- Seats in use of an organization are its members plus its pending
-- (neither accepted nor revoked, not expired) invitations; they never
-- exceed its plan's seat_limit (NULL: unlimited).
--
-- organization_check_seats locks the organization row (FOR NO KEY UPDATE,
-- which the foreign keys' KEY SHARE locks do not conflict with), then
-- counts. Every change that can add a seat calls it from a trigger, so two
-- transactions adding seats to one organization take turns, and under READ
-- COMMITTED the second counts what the first committed. The service takes
-- the same lock first, so the trigger's lock is already held and adds no
-- new lock order.
CREATE FUNCTION organization_check_seats(org bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    lim  integer;
    used bigint;
BEGIN
    -- Lock first, then read in a new statement: a locking join would
    -- recheck a concurrently updated row against the old plan row and
    -- drop it.
    PERFORM FROM organizations WHERE id = org FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT p.seat_limit INTO lim
    FROM organizations o JOIN plans p ON p.code = o.plan
    WHERE o.id = org;
    IF lim IS NULL THEN
        RETURN;
    END IF;
    SELECT (SELECT count(*) FROM users WHERE organization_id = org)
         + (SELECT count(*) FROM invitations
            WHERE organization_id = org AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now())
    INTO used;
    IF used > lim THEN
        RAISE EXCEPTION 'organization % would use % seats; its plan allows %', org, used, lim
            USING ERRCODE = 'check_violation', CONSTRAINT = 'organizations_seat_limit', TABLE = 'organizations';
    END IF;
END;
$$;

-- Rows of users and invitations name their organization in organization_id.
CREATE FUNCTION seats_check_member_trg() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM organization_check_seats(NEW.organization_id);
    RETURN NULL;
END;
$$;

CREATE FUNCTION seats_check_organization_trg() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM organization_check_seats(NEW.id);
    RETURN NULL;
END;
$$;

-- A plan whose seat limit shrinks is checked against every organization on it.
CREATE FUNCTION seats_check_plan_trg() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    org bigint;
BEGIN
    FOR org IN SELECT id FROM organizations WHERE plan = NEW.code ORDER BY id LOOP
        PERFORM organization_check_seats(org);
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_seats_insert_trg AFTER INSERT ON users
    FOR EACH ROW WHEN (NEW.organization_id IS NOT NULL)
    EXECUTE FUNCTION seats_check_member_trg();
CREATE TRIGGER users_seats_update_trg AFTER UPDATE OF organization_id ON users
    FOR EACH ROW WHEN (NEW.organization_id IS NOT NULL AND NEW.organization_id IS DISTINCT FROM OLD.organization_id)
    EXECUTE FUNCTION seats_check_member_trg();
CREATE TRIGGER invitations_seats_insert_trg AFTER INSERT ON invitations
    FOR EACH ROW WHEN (NEW.accepted_at IS NULL AND NEW.revoked_at IS NULL)
    EXECUTE FUNCTION seats_check_member_trg();
CREATE TRIGGER invitations_seats_update_trg AFTER UPDATE ON invitations
    FOR EACH ROW WHEN (NEW.accepted_at IS NULL AND NEW.revoked_at IS NULL AND (
        OLD.accepted_at IS NOT NULL OR OLD.revoked_at IS NOT NULL
        OR NEW.expires_at > OLD.expires_at OR NEW.organization_id <> OLD.organization_id))
    EXECUTE FUNCTION seats_check_member_trg();
CREATE TRIGGER organizations_seats_trg AFTER UPDATE OF plan ON organizations
    FOR EACH ROW WHEN (NEW.plan IS DISTINCT FROM OLD.plan)
    EXECUTE FUNCTION seats_check_organization_trg();
CREATE TRIGGER plans_seats_trg AFTER UPDATE OF seat_limit ON plans
    FOR EACH ROW WHEN (NEW.seat_limit IS NOT NULL AND (OLD.seat_limit IS NULL OR NEW.seat_limit < OLD.seat_limit))
    EXECUTE FUNCTION seats_check_plan_trg();

-- An invitation grants a bounded set of groups.
ALTER TABLE invitations ADD CONSTRAINT invitations_groups_chk CHECK (cardinality(groups) <= 32);

-- The members list walks (created_at, id) within one organization; the
-- pending-invitations list does the same over pending invitations.
CREATE INDEX users_organization_members_idx ON users (organization_id, created_at DESC, id DESC) WHERE organization_id IS NOT NULL;
DROP INDEX users_organization_id_idx;
CREATE INDEX invitations_pending_idx ON invitations (organization_id, created_at DESC, id DESC)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- The audit log outlives the organizations it speaks of: a wiped-out
-- organization's events keep its id.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_organization_id_fkey;
CREATE INDEX audit_events_organization_id_idx ON audit_events (organization_id) WHERE organization_id IS NOT NULL;

-- migrate:down

DROP INDEX audit_events_organization_id_idx;
UPDATE audit_events SET organization_id = NULL
WHERE organization_id IS NOT NULL AND organization_id NOT IN (SELECT id FROM organizations);
ALTER TABLE audit_events ADD CONSTRAINT audit_events_organization_id_fkey
    FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE SET NULL;
DROP INDEX invitations_pending_idx;
CREATE INDEX users_organization_id_idx ON users (organization_id) WHERE organization_id IS NOT NULL;
DROP INDEX users_organization_members_idx;
ALTER TABLE invitations DROP CONSTRAINT invitations_groups_chk;
DROP TRIGGER plans_seats_trg ON plans;
DROP TRIGGER organizations_seats_trg ON organizations;
DROP TRIGGER invitations_seats_update_trg ON invitations;
DROP TRIGGER invitations_seats_insert_trg ON invitations;
DROP TRIGGER users_seats_update_trg ON users;
DROP TRIGGER users_seats_insert_trg ON users;
DROP FUNCTION seats_check_plan_trg();
DROP FUNCTION seats_check_organization_trg();
DROP FUNCTION seats_check_member_trg();
DROP FUNCTION organization_check_seats(bigint);
