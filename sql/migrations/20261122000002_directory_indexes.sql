-- migrate:up

-- prefix_upper_bound returns the smallest string that sorts (byte-wise,
-- as text_pattern_ops compares) after every string starting with p, so
-- "s has prefix p" is the index range  s ~>=~ p AND s ~<~ prefix_upper_bound(p).
-- UTF-8 keeps code-point order, so the bound is p with its last character
-- replaced by the next code point (skipping the surrogate range). p must
-- not end in U+10FFFF, which has no successor; the service refuses it.
CREATE FUNCTION prefix_upper_bound(p text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        SELECT left(p, -1) || chr(CASE ascii(right(p, 1)) WHEN 55295 THEN 57344 ELSE ascii(right(p, 1)) + 1 END)
    $$;

-- Directory search: a case-insensitive prefix on each searchable column,
-- over live users only. Usernames are stored lower-cased already.
CREATE INDEX users_username_prefix_idx ON users (username text_pattern_ops) WHERE deleted_at IS NULL;
CREATE INDEX users_email_prefix_idx ON users (lower(email) text_pattern_ops) WHERE deleted_at IS NULL;
CREATE INDEX users_first_name_prefix_idx ON users (lower(first_name) text_pattern_ops) WHERE deleted_at IS NULL;
CREATE INDEX users_last_name_prefix_idx ON users (lower(last_name) text_pattern_ops) WHERE deleted_at IS NULL;

-- Directory filters, each in the keyset order of the list.
CREATE INDEX users_active_created_at_idx ON users (is_active, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX users_role_active_created_at_idx ON users (role, is_active, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- The indexes above are partial, and the planner reads the statistics of
-- an expression index only when it is not partial: these give it the
-- distributions of the indexed expressions, so it can tell a rare prefix
-- or phone suffix from a common one.
CREATE STATISTICS users_lower_email_stats ON (lower(email)) FROM users;
CREATE STATISTICS users_lower_first_name_stats ON (lower(first_name)) FROM users;
CREATE STATISTICS users_lower_last_name_stats ON (lower(last_name)) FROM users;
CREATE STATISTICS users_phone_last10_stats ON (right(phone, 10)) FROM users;

-- migrate:down

DROP STATISTICS users_phone_last10_stats;
DROP STATISTICS users_lower_last_name_stats;
DROP STATISTICS users_lower_first_name_stats;
DROP STATISTICS users_lower_email_stats;

DROP INDEX users_role_active_created_at_idx;
DROP INDEX users_active_created_at_idx;
DROP INDEX users_last_name_prefix_idx;
DROP INDEX users_first_name_prefix_idx;
DROP INDEX users_email_prefix_idx;
DROP INDEX users_username_prefix_idx;
DROP FUNCTION prefix_upper_bound(text);
