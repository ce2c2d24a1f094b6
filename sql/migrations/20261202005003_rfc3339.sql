-- migrate:up
-- rfc3339 writes a time as the API does: RFC 3339 in UTC ("Z"), with
-- microseconds. JSON built in SQL (the data export) uses it; jsonb would
-- write the session's time zone offset instead.
CREATE FUNCTION rfc3339(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

-- migrate:down
DROP FUNCTION rfc3339(timestamptz);
