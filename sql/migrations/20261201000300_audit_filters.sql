-- migrate:up
-- The audit log is filtered by actor, target, action and a lower bound on
-- created_at, and read newest first in keyset pages: each filter gets an
-- index that serves both its equality and the (created_at, id) order, so a
-- page costs the same at any depth. The actor and target indexes replace
-- the single-column ones (their leading column still serves the foreign
-- keys' ON DELETE SET NULL).
CREATE INDEX audit_events_actor_created_at_idx ON audit_events (actor_id, created_at DESC, id DESC)
    WHERE actor_id IS NOT NULL;
CREATE INDEX audit_events_target_created_at_idx ON audit_events (target_user_id, created_at DESC, id DESC)
    WHERE target_user_id IS NOT NULL;
CREATE INDEX audit_events_action_created_at_idx ON audit_events (action, created_at DESC, id DESC);
DROP INDEX audit_events_actor_id_idx;
DROP INDEX audit_events_target_user_id_idx;

-- migrate:down
CREATE INDEX audit_events_actor_id_idx ON audit_events (actor_id) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_events_target_user_id_idx ON audit_events (target_user_id) WHERE target_user_id IS NOT NULL;
DROP INDEX audit_events_action_created_at_idx;
DROP INDEX audit_events_target_created_at_idx;
DROP INDEX audit_events_actor_created_at_idx;
