-- `userd import` and `userd export` (service/userimport.go,
-- service/userexport.go).

-- ImportLock makes imports run one batch at a time.
-- name: ImportLock :exec
SELECT pg_advisory_xact_lock(hashtext('userd import'));

-- name: ImportBatchNext :one
SELECT nextval('import_batches')::bigint;

-- ImportUserIDs reserves n ids of users for the rows a batch inserts.
-- name: ImportUserIDs :many
SELECT nextval(pg_get_serial_sequence('users', 'id'))::bigint FROM generate_series(1, @n::int);

-- name: ImportMatchEmails :many
SELECT id, lower(email)::text AS key FROM users
WHERE lower(email) = ANY(@emails::text[]) AND email IS NOT NULL AND deleted_at IS NULL;

-- name: ImportMatchPhones :many
SELECT id, phone::text AS key FROM users
WHERE phone = ANY(@phones::text[]) AND phone IS NOT NULL AND deleted_at IS NULL;

-- Usernames stay taken after a delete (users_username_key covers every row).
-- name: ImportMatchUsernames :many
SELECT id, username::text AS key FROM users WHERE username = ANY(@usernames::text[]);

-- ImportMatchIdentities takes each identity as "provider:subject" (a
-- provider holds no ':').
-- name: ImportMatchIdentities :many
SELECT i.user_id AS id, (i.provider || ':' || i.subject)::text AS key
FROM user_identities i
WHERE (i.provider, i.subject) IN (
    SELECT split_part(k, ':', 1), substr(k, strpos(k, ':') + 1) FROM unnest(@keys::text[]) AS k
);

-- ImportMatchOrgs returns the organization of each user given that is in
-- one: an update of a member of the organization its line names takes no
-- seat.
-- name: ImportMatchOrgs :many
SELECT id, organization_id::bigint AS organization_id FROM users
WHERE id = ANY(@ids::bigint[]) AND organization_id IS NOT NULL;

-- ImportOrgsByKey returns the organizations an import created under the
-- keys given.
-- name: ImportOrgsByKey :many
SELECT id, import_key::text AS key FROM organizations WHERE import_key = ANY(@keys::text[]);

-- ImportOrgsByName counts, for each name given, the organizations of that
-- name (any creator), with the id of one of them.
-- name: ImportOrgsByName :many
SELECT name, count(*)::bigint AS n, min(id)::bigint AS id FROM organizations
WHERE name = ANY(@names::text[]) GROUP BY name;

-- ImportOrgCreate creates the organizations of the keys given (each under
-- the name first given with it), on the plan given, recorded as created
-- by an import: the key on the row and an org.created audit event. A key
-- that exists already is left alone. It returns the ids and keys created.
-- name: ImportOrgCreate :many
WITH w AS (
    SELECT DISTINCT ON (b.key) a.name, b.key
    FROM unnest(@names::text[]) WITH ORDINALITY AS a(name, n)
    JOIN unnest(@keys::text[]) WITH ORDINALITY AS b(key, n) ON b.n = a.n
    ORDER BY b.key, a.n
), ins AS (
    INSERT INTO organizations (name, plan, import_key)
    SELECT w.name, @plan::text, w.key FROM w
    ON CONFLICT (import_key) WHERE import_key IS NOT NULL DO NOTHING
    RETURNING id, import_key
), aud AS (
    INSERT INTO audit_events (organization_id, action, details)
    SELECT ins.id, 'org.created', jsonb_build_object('via', 'import', 'import_key', ins.import_key) FROM ins
)
SELECT id, import_key::text AS key FROM ins;

-- ImportOrgSeats returns, for each organization id given, its plan's seat
-- limit and the seats in use (members plus pending invitations).
-- name: ImportOrgSeats :many
SELECT o.id, o.name, p.code AS plan, p.seat_limit,
    ((SELECT count(*) FROM users u WHERE u.organization_id = o.id)
     + (SELECT count(*) FROM invitations i
        WHERE i.organization_id = o.id AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()))::bigint AS seats_used
FROM organizations o JOIN plans p ON p.code = o.plan
WHERE o.id = ANY(@ids::bigint[])
ORDER BY o.id;

-- name: ImportStagingCopy :copyfrom
INSERT INTO import_staging (
    batch, line, user_id, action, username, email, phone, first_name, last_name, bio, date_of_birth,
    instagram_handle, country, city, zipcode, role, artist_id, is_active, is_verified, email_verified,
    phone_verified, preferences, latitude, longitude, created_at, password_hash, providers, subjects,
    organization_id
) VALUES (
    @batch, @line, @user_id, @action, @username, @email, @phone, @first_name, @last_name, @bio, @date_of_birth,
    @instagram_handle, @country, @city, @zipcode, @role, @artist_id, @is_active, @is_verified, @email_verified,
    @phone_verified, @preferences, @latitude, @longitude, @created_at, @password_hash, @providers, @subjects,
    @organization_id
);

-- ImportInsert inserts the batch's new users with their reserved ids, and
-- their password hashes and identities, in one statement; it returns the
-- ids inserted. A row whose email, phone or username was taken since the
-- batch was matched is left out (ON CONFLICT DO NOTHING), and so are its
-- hash and identities.
-- name: ImportInsert :many
WITH ins AS (
    INSERT INTO users (
        id, username, email, phone, first_name, last_name, bio, date_of_birth, instagram_handle,
        country, city, zipcode, role, artist_id, organization_id, is_active, is_verified,
        email_verified, phone_verified, preferences, current_latitude, current_longitude,
        created_at, updated_at
    ) OVERRIDING SYSTEM VALUE
    SELECT s.user_id, s.username, s.email, s.phone, s.first_name, s.last_name, s.bio, s.date_of_birth,
        s.instagram_handle, s.country, s.city, s.zipcode, coalesce(s.role, 'user'), s.artist_id,
        s.organization_id, coalesce(s.is_active, true), coalesce(s.is_verified, false),
        coalesce(s.email_verified, false), coalesce(s.phone_verified, false),
        coalesce(s.preferences, '{}'), s.latitude, s.longitude,
        coalesce(s.created_at, now()), greatest(coalesce(s.created_at, now()), now())
    FROM import_staging s
    WHERE s.batch = @batch AND s.action = 'insert'
    ORDER BY s.line
    ON CONFLICT DO NOTHING
    RETURNING id
), creds AS (
    INSERT INTO password_credentials (user_id, hash)
    SELECT s.user_id, s.password_hash
    FROM import_staging s JOIN ins ON ins.id = s.user_id
    WHERE s.batch = @batch AND s.password_hash IS NOT NULL
), idents AS (
    INSERT INTO user_identities (user_id, provider, subject)
    SELECT s.user_id, w.provider, w.subject
    FROM import_staging s JOIN ins ON ins.id = s.user_id,
        LATERAL (SELECT s.providers[k] AS provider, s.subjects[k] AS subject FROM generate_subscripts(s.providers, 1) AS k) w
    WHERE s.batch = @batch
    ON CONFLICT DO NOTHING
)
SELECT id FROM ins;

-- ImportMergeLeaveOrgs takes the organization-manageable groups (org
-- admin …) from the users a batch's update rows move to another
-- organization, as leaving one does; run before ImportMerge.
-- name: ImportMergeLeaveOrgs :exec
DELETE FROM user_permission_groups ug USING import_staging s, users u, permission_groups g
WHERE s.batch = @batch AND s.action = 'update' AND s.organization_id IS NOT NULL
    AND u.id = s.user_id AND u.organization_id IS DISTINCT FROM s.organization_id
    AND ug.user_id = u.id AND g.id = ug.group_id AND g.kind = 'org_manageable';

-- ImportMergeVoidEmailLinks spends the live mailed links (password reset,
-- email verification, email change) of the users whose email a batch's
-- update rows change, as confirming an email change through the API does:
-- a link mailed to the old address must not prove the new one. Run before
-- ImportMerge (which then clears their pending email).
-- name: ImportMergeVoidEmailLinks :exec
UPDATE user_tokens t SET used_at = now()
FROM import_staging s JOIN users u ON u.id = s.user_id
WHERE s.batch = @batch AND s.action = 'update' AND s.email IS NOT NULL
    AND lower(s.email) IS DISTINCT FROM lower(u.email)
    AND t.user_id = u.id AND t.used_at IS NULL
    AND t.purpose IN ('password_reset', 'email_verification', 'email_change');

-- ImportMerge merges the batch's update rows into their existing users:
-- every field a line gives replaces the stored one, an absent field
-- stays. Role and is_active are not merged: they change through their own
-- audited routes (which keep the last admin). A changed email or phone is
-- unverified unless the line says otherwise; a changed email ends a
-- pending email change. It returns the ids merged.
-- name: ImportMerge :many
UPDATE users u SET
    username = coalesce(s.username, u.username),
    email = coalesce(s.email, u.email),
    pending_email = CASE WHEN s.email IS NOT NULL AND lower(s.email) IS DISTINCT FROM lower(u.email)
        THEN NULL ELSE u.pending_email END,
    phone = coalesce(s.phone, u.phone),
    first_name = coalesce(s.first_name, u.first_name),
    last_name = coalesce(s.last_name, u.last_name),
    bio = coalesce(s.bio, u.bio),
    date_of_birth = coalesce(s.date_of_birth, u.date_of_birth),
    instagram_handle = coalesce(s.instagram_handle, u.instagram_handle),
    country = coalesce(s.country, u.country),
    city = coalesce(s.city, u.city),
    zipcode = coalesce(s.zipcode, u.zipcode),
    is_verified = coalesce(s.is_verified, u.is_verified),
    email_verified = CASE WHEN s.email IS NOT NULL AND lower(s.email) IS DISTINCT FROM lower(u.email)
        THEN coalesce(s.email_verified, false) ELSE coalesce(s.email_verified, u.email_verified) END,
    phone_verified = CASE WHEN s.phone IS NOT NULL AND s.phone IS DISTINCT FROM u.phone
        THEN coalesce(s.phone_verified, false) ELSE coalesce(s.phone_verified, u.phone_verified) END,
    preferences = coalesce(s.preferences, u.preferences),
    current_latitude = coalesce(s.latitude, u.current_latitude),
    current_longitude = coalesce(s.longitude, u.current_longitude),
    organization_id = coalesce(s.organization_id, u.organization_id),
    updated_at = now()
FROM import_staging s
WHERE s.batch = @batch AND s.action = 'update' AND u.id = s.user_id AND u.deleted_at IS NULL
RETURNING u.id;

-- ImportMergeCredentials sets the password hash of the batch's update rows
-- that give one.
-- name: ImportMergeCredentials :exec
INSERT INTO password_credentials (user_id, hash)
SELECT s.user_id, s.password_hash FROM import_staging s
WHERE s.batch = @batch AND s.action = 'update' AND s.password_hash IS NOT NULL
ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = now();

-- ImportMergeIdentities links the identities of the batch's update rows
-- that are not linked yet.
-- name: ImportMergeIdentities :exec
INSERT INTO user_identities (user_id, provider, subject)
SELECT s.user_id, w.provider, w.subject
FROM import_staging s,
    LATERAL (SELECT s.providers[k] AS provider, s.subjects[k] AS subject FROM generate_subscripts(s.providers, 1) AS k) w
WHERE s.batch = @batch AND s.action = 'update'
ON CONFLICT DO NOTHING;

-- name: ImportStagingDelete :exec
DELETE FROM import_staging WHERE batch = @batch;

-- ExportUsers is one page of live users in id order, in the import format:
-- the organization by name (and the key an import created it under) and
-- the identities as (provider, subject).
-- name: ExportUsers :many
SELECT sqlc.embed(u), o.name AS organization_name, o.import_key AS organization_key,
    coalesce((SELECT array_agg(i.provider ORDER BY i.provider, i.subject) FROM user_identities i WHERE i.user_id = u.id), '{}')::text[] AS providers,
    coalesce((SELECT array_agg(i.subject ORDER BY i.provider, i.subject) FROM user_identities i WHERE i.user_id = u.id), '{}')::text[] AS subjects
FROM users u LEFT JOIN organizations o ON o.id = u.organization_id
WHERE u.deleted_at IS NULL AND u.id > @after
ORDER BY u.id
LIMIT @n;

-- ImportAnalyze refreshes the planner's statistics of the tables an import
-- grows, so its lookups keep using the unique indexes: statistics of a
-- table that was small steer them to full index scans.
-- name: ImportAnalyze :exec
ANALYZE users, user_identities;
