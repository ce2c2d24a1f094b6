-- migrate:up
-- A bulk insert of users (userd import) should not pay two function calls
-- per row. The preferences depth check runs only when there is something
-- to walk ('{}' nests one level), and the follow_stats rows of new users
-- are made once per statement, from its transition table.
DROP TRIGGER users_preferences_depth_trg ON users;
CREATE TRIGGER users_preferences_depth_trg BEFORE INSERT OR UPDATE OF preferences ON users
    FOR EACH ROW WHEN (NEW.preferences <> '{}'::jsonb) EXECUTE FUNCTION users_preferences_depth_check();

DROP TRIGGER users_create_follow_stats_trg ON users;
CREATE OR REPLACE FUNCTION users_create_follow_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO follow_stats (user_id) SELECT id FROM new_users;
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_create_follow_stats_trg AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_users
    FOR EACH STATEMENT EXECUTE FUNCTION users_create_follow_stats();

-- migrate:down
DROP TRIGGER users_create_follow_stats_trg ON users;
CREATE OR REPLACE FUNCTION users_create_follow_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO follow_stats (user_id) VALUES (NEW.id);
    RETURN NEW;
END;
$$;
CREATE TRIGGER users_create_follow_stats_trg AFTER INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION users_create_follow_stats();

DROP TRIGGER users_preferences_depth_trg ON users;
CREATE TRIGGER users_preferences_depth_trg BEFORE INSERT OR UPDATE OF preferences ON users
    FOR EACH ROW EXECUTE FUNCTION users_preferences_depth_check();
