SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: follows_maintain_stats(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.follows_maintain_stats() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO follow_stat_deltas (follower_id, followee_id, delta) VALUES (NEW.follower_id, NEW.followee_id, 1);
    ELSE
        INSERT INTO follow_stat_deltas (follower_id, followee_id, delta) VALUES (OLD.follower_id, OLD.followee_id, -1);
    END IF;
    RETURN NULL;
END;
$$;


--
-- Name: graph_lock_pair(bigint, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.graph_lock_pair(a bigint, b bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    lo bigint := least(a, b);
    hi bigint := greatest(a, b);
BEGIN
    PERFORM pg_advisory_xact_lock((lo::bit(32) | B'10000000000000000000000000000000')::int4, hi::bit(32)::int4);
    PERFORM pg_advisory_xact_lock_shared((lo >> 32)::int4, lo::bit(32)::int4);
    PERFORM pg_advisory_xact_lock_shared((hi >> 32)::int4, hi::bit(32)::int4);
END;
$$;


--
-- Name: graph_lock_user(bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.graph_lock_user(u bigint) RETURNS void
    LANGUAGE sql
    AS $$
    SELECT pg_advisory_xact_lock((u >> 32)::int4, u::bit(32)::int4);
$$;


--
-- Name: jsonb_depth(jsonb, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.jsonb_depth(j jsonb, max integer) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        WITH RECURSIVE t(v, d) AS (
            SELECT j, CASE WHEN jsonb_typeof(j) IN ('object', 'array') THEN 1 ELSE 0 END
            UNION ALL
            SELECT c.v, t.d + 1
            FROM t, LATERAL (
                SELECT value FROM jsonb_each(CASE WHEN jsonb_typeof(t.v) = 'object' THEN t.v END)
                UNION ALL
                SELECT value FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t.v) = 'array' THEN t.v END)
            ) AS c(v)
            WHERE jsonb_typeof(c.v) IN ('object', 'array') AND t.d <= max
        )
        SELECT max(d) FROM t
    $$;


--
-- Name: organization_check_seats(bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.organization_check_seats(org bigint) RETURNS void
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


--
-- Name: prefix_upper_bound(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.prefix_upper_bound(p text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        SELECT left(p, -1) || chr(CASE ascii(right(p, 1)) WHEN 55295 THEN 57344 ELSE ascii(right(p, 1)) + 1 END)
    $$;


--
-- Name: principal_changed_trg(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.principal_changed_trg() RETURNS trigger
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


--
-- Name: rfc3339(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.rfc3339(t timestamp with time zone) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;


--
-- Name: seats_check_member_trg(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.seats_check_member_trg() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM organization_check_seats(NEW.organization_id);
    RETURN NULL;
END;
$$;


--
-- Name: seats_check_organization_trg(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.seats_check_organization_trg() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM organization_check_seats(NEW.id);
    RETURN NULL;
END;
$$;


--
-- Name: seats_check_plan_trg(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.seats_check_plan_trg() RETURNS trigger
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


--
-- Name: users_create_follow_stats(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.users_create_follow_stats() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO follow_stats (user_id) SELECT id FROM new_users;
    RETURN NULL;
END;
$$;


--
-- Name: users_preferences_depth_check(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.users_preferences_depth_check() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF jsonb_depth(NEW.preferences, 32) > 32 THEN
        RAISE EXCEPTION 'preferences nest deeper than 32 levels'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'users_preferences_depth_chk',
                  TABLE = 'users', SCHEMA = TG_TABLE_SCHEMA;
    END IF;
    RETURN NEW;
END;
$$;


--
-- Name: webhook_deliveries_notify_trg(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.webhook_deliveries_notify_trg() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted) THEN
        PERFORM pg_notify('userd_webhooks', '');
    END IF;
    RETURN NULL;
END;
$$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: audit_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_events (
    id bigint NOT NULL,
    actor_id bigint,
    target_user_id bigint,
    organization_id bigint,
    action text NOT NULL,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT audit_events_action_chk CHECK ((action ~ '^[a-z][a-z_.]{1,63}$'::text)),
    CONSTRAINT audit_events_details_chk CHECK ((jsonb_typeof(details) = 'object'::text))
);


--
-- Name: audit_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.audit_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.audit_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: avatars; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.avatars (
    user_id bigint NOT NULL,
    content_type text NOT NULL,
    image bytea NOT NULL,
    thumbnail_type text NOT NULL,
    thumbnail bytea NOT NULL,
    etag text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT avatars_content_type_chk CHECK ((content_type = ANY (ARRAY['image/png'::text, 'image/jpeg'::text]))),
    CONSTRAINT avatars_etag_chk CHECK ((etag ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT avatars_image_size_chk CHECK (((octet_length(image) >= 1) AND (octet_length(image) <= 2097152))),
    CONSTRAINT avatars_thumbnail_size_chk CHECK (((octet_length(thumbnail) >= 1) AND (octet_length(thumbnail) <= 2097152))),
    CONSTRAINT avatars_thumbnail_type_chk CHECK ((thumbnail_type = ANY (ARRAY['image/png'::text, 'image/jpeg'::text])))
);


--
-- Name: blocks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.blocks (
    blocker_id bigint NOT NULL,
    blocked_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT blocks_no_self_chk CHECK ((blocker_id <> blocked_id))
);


--
-- Name: follow_stat_deltas; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.follow_stat_deltas (
    id bigint NOT NULL,
    follower_id bigint NOT NULL,
    followee_id bigint NOT NULL,
    delta smallint NOT NULL,
    CONSTRAINT follow_stat_deltas_delta_chk CHECK ((delta = ANY (ARRAY['-1'::integer, 1])))
);


--
-- Name: follow_stat_deltas_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.follow_stat_deltas ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.follow_stat_deltas_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: follow_stats; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.follow_stats (
    user_id bigint NOT NULL,
    followers_count bigint DEFAULT 0 NOT NULL,
    following_count bigint DEFAULT 0 NOT NULL,
    CONSTRAINT follow_stats_followers_count_chk CHECK ((followers_count >= 0)),
    CONSTRAINT follow_stats_following_count_chk CHECK ((following_count >= 0))
);


--
-- Name: follows; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.follows (
    follower_id bigint NOT NULL,
    followee_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT follows_no_self_chk CHECK ((follower_id <> followee_id))
);


--
-- Name: import_batches; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.import_batches
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: import_staging; Type: TABLE; Schema: public; Owner: -
--

CREATE UNLOGGED TABLE public.import_staging (
    batch bigint NOT NULL,
    line integer NOT NULL,
    user_id bigint,
    action text NOT NULL,
    username text,
    email text,
    phone text,
    first_name text,
    last_name text,
    bio text,
    date_of_birth date,
    instagram_handle text,
    country text,
    city text,
    zipcode text,
    role text,
    artist_id bigint,
    is_active boolean,
    is_verified boolean,
    email_verified boolean,
    phone_verified boolean,
    preferences jsonb,
    latitude double precision,
    longitude double precision,
    created_at timestamp with time zone,
    password_hash text,
    providers text[] DEFAULT '{}'::text[] NOT NULL,
    subjects text[] DEFAULT '{}'::text[] NOT NULL,
    organization_id bigint,
    CONSTRAINT import_staging_action_chk CHECK ((action = ANY (ARRAY['insert'::text, 'update'::text])))
);


--
-- Name: invitations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.invitations (
    id bigint NOT NULL,
    organization_id bigint NOT NULL,
    inviter_id bigint,
    email text NOT NULL,
    token_hash bytea NOT NULL,
    groups text[] DEFAULT '{}'::text[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    accepted_at timestamp with time zone,
    accepted_by bigint,
    revoked_at timestamp with time zone,
    CONSTRAINT invitations_email_canonical_chk CHECK (((email = lower(email)) AND (octet_length(email) = char_length(email)))),
    CONSTRAINT invitations_email_chk CHECK (((char_length(email) <= 254) AND (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'::text))),
    CONSTRAINT invitations_expires_at_chk CHECK ((expires_at > created_at)),
    CONSTRAINT invitations_groups_chk CHECK ((cardinality(groups) <= 32)),
    CONSTRAINT invitations_hash_chk CHECK ((octet_length(token_hash) = 32)),
    CONSTRAINT invitations_state_chk CHECK (((accepted_at IS NULL) OR (revoked_at IS NULL)))
);


--
-- Name: invitations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.invitations ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.invitations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: login_failures; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.login_failures (
    id bigint NOT NULL,
    identifier_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    ip_hash bytea,
    user_id bigint,
    CONSTRAINT login_failures_hash_chk CHECK ((octet_length(identifier_hash) = 32)),
    CONSTRAINT login_failures_ip_hash_chk CHECK ((octet_length(ip_hash) = 32))
);


--
-- Name: login_failures_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.login_failures ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.login_failures_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: oauth_clients; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.oauth_clients (
    id text NOT NULL,
    name text NOT NULL,
    public boolean NOT NULL,
    secret_hash bytea,
    redirect_uris text[] DEFAULT '{}'::text[] NOT NULL,
    post_logout_redirect_uris text[] DEFAULT '{}'::text[] NOT NULL,
    grant_types text[] NOT NULL,
    scopes text[] NOT NULL,
    first_party boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT oauth_clients_code_redirect_chk CHECK (((cardinality(redirect_uris) > 0) OR (NOT ('authorization_code'::text = ANY (grant_types))))),
    CONSTRAINT oauth_clients_grant_types_chk CHECK (((cardinality(grant_types) > 0) AND (grant_types <@ ARRAY['authorization_code'::text, 'refresh_token'::text, 'client_credentials'::text]))),
    CONSTRAINT oauth_clients_id_chk CHECK ((id ~ '^[A-Za-z0-9_-]{8,64}$'::text)),
    CONSTRAINT oauth_clients_name_chk CHECK (((char_length(name) >= 1) AND (char_length(name) <= 100))),
    CONSTRAINT oauth_clients_public_grants_chk CHECK (((NOT public) OR (NOT ('client_credentials'::text = ANY (grant_types))))),
    CONSTRAINT oauth_clients_scopes_chk CHECK ((scopes <@ ARRAY['openid'::text, 'profile'::text, 'email'::text, 'phone'::text, 'offline_access'::text])),
    CONSTRAINT oauth_clients_secret_chk CHECK ((public = (secret_hash IS NULL))),
    CONSTRAINT oauth_clients_secret_hash_chk CHECK ((octet_length(secret_hash) = 32))
);


--
-- Name: oauth_codes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.oauth_codes (
    code_hash bytea NOT NULL,
    client_id text NOT NULL,
    user_id bigint NOT NULL,
    redirect_uri text NOT NULL,
    scopes text[] NOT NULL,
    nonce text,
    code_challenge text,
    auth_time timestamp with time zone NOT NULL,
    amr text[] NOT NULL,
    acr text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    session_id bigint,
    CONSTRAINT oauth_codes_challenge_chk CHECK ((code_challenge ~ '^[A-Za-z0-9_-]{43}$'::text)),
    CONSTRAINT oauth_codes_code_hash_chk CHECK ((octet_length(code_hash) = 32)),
    CONSTRAINT oauth_codes_nonce_chk CHECK ((char_length(nonce) <= 512)),
    CONSTRAINT oauth_codes_session_used_chk CHECK (((session_id IS NULL) OR (used_at IS NOT NULL))),
    CONSTRAINT oauth_codes_ttl_chk CHECK (((expires_at > created_at) AND (expires_at <= (created_at + '00:01:00'::interval))))
);


--
-- Name: oauth_consents; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.oauth_consents (
    user_id bigint NOT NULL,
    client_id text NOT NULL,
    scopes text[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT oauth_consents_scopes_chk CHECK (((cardinality(scopes) > 0) AND (scopes <@ ARRAY['openid'::text, 'profile'::text, 'email'::text, 'phone'::text, 'offline_access'::text])))
);


--
-- Name: organizations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.organizations (
    id bigint NOT NULL,
    name text NOT NULL,
    plan text DEFAULT 'free'::text NOT NULL,
    is_seed_data boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    import_key text,
    CONSTRAINT organizations_import_key_chk CHECK (((import_key IS NULL) OR (((char_length(import_key) >= 1) AND (char_length(import_key) <= 200)) AND (import_key = btrim(import_key))))),
    CONSTRAINT organizations_name_chk CHECK ((((char_length(btrim(name)) >= 1) AND (char_length(btrim(name)) <= 70)) AND (name = btrim(name)))),
    CONSTRAINT organizations_updated_at_chk CHECK ((updated_at >= created_at))
);


--
-- Name: organizations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.organizations ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.organizations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox (
    id bigint NOT NULL,
    kind text NOT NULL,
    user_id bigint,
    payload jsonb NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    run_after timestamp with time zone DEFAULT now() NOT NULL,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    done_at timestamp with time zone,
    failed_at timestamp with time zone,
    CONSTRAINT outbox_attempts_chk CHECK ((attempts >= 0)),
    CONSTRAINT outbox_kind_chk CHECK ((kind = ANY (ARRAY['mail'::text, 'idp_delete'::text, 'password_reset_request'::text]))),
    CONSTRAINT outbox_payload_chk CHECK ((jsonb_typeof(payload) = 'object'::text)),
    CONSTRAINT outbox_state_chk CHECK (((done_at IS NULL) OR (failed_at IS NULL)))
);


--
-- Name: outbox_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.outbox ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: password_credentials; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.password_credentials (
    user_id bigint NOT NULL,
    hash text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT password_credentials_hash_chk CHECK ((hash ~ (('^(\$argon2id?\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+'::text || '|\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}'::text) || '|pbkdf2_sha(256|1)\$[0-9]+\$[!-#%-~]+\$[A-Za-z0-9+/]+={0,2})$'::text)))
);


--
-- Name: permission_groups; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.permission_groups (
    id bigint NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT permission_groups_description_chk CHECK ((char_length(description) <= 500)),
    CONSTRAINT permission_groups_kind_chk CHECK ((kind = ANY (ARRAY['subscription'::text, 'system'::text, 'org_manageable'::text]))),
    CONSTRAINT permission_groups_name_chk CHECK ((name ~ '^[a-z][a-z0-9_]{1,63}$'::text))
);


--
-- Name: permission_groups_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.permission_groups ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.permission_groups_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: plans; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.plans (
    code text NOT NULL,
    name text NOT NULL,
    seat_limit integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT plans_code_chk CHECK ((code ~ '^[a-z][a-z0-9_]{1,31}$'::text)),
    CONSTRAINT plans_name_chk CHECK (((char_length(name) >= 1) AND (char_length(name) <= 70))),
    CONSTRAINT plans_seat_limit_chk CHECK (((seat_limit IS NULL) OR (seat_limit > 0)))
);


--
-- Name: rate_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.rate_events (
    id bigint NOT NULL,
    bucket text NOT NULL,
    key_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT rate_events_bucket_chk CHECK ((bucket ~ '^[a-z][a-z0-9_.:]{1,63}$'::text)),
    CONSTRAINT rate_events_key_hash_chk CHECK ((octet_length(key_hash) = 32))
);


--
-- Name: rate_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.rate_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.rate_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version character varying NOT NULL
);


--
-- Name: session_refresh_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.session_refresh_tokens (
    token_hash bytea NOT NULL,
    session_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    rotated_at timestamp with time zone,
    CONSTRAINT session_refresh_tokens_hash_chk CHECK ((octet_length(token_hash) = 32))
);


--
-- Name: sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sessions (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    user_agent text,
    ip inet,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_used_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    revoked_reason text,
    kind text DEFAULT 'api'::text NOT NULL,
    web_token_hash bytea,
    client_id text,
    scopes text[],
    auth_time timestamp with time zone,
    amr text[],
    acr text,
    CONSTRAINT sessions_client_chk CHECK ((((client_id IS NULL) = (scopes IS NULL)) AND ((client_id IS NULL) = (auth_time IS NULL)) AND ((client_id IS NULL) = (amr IS NULL)) AND ((client_id IS NULL) = (acr IS NULL)))),
    CONSTRAINT sessions_client_kind_chk CHECK (((client_id IS NULL) OR (kind = 'api'::text))),
    CONSTRAINT sessions_expires_at_chk CHECK ((expires_at > created_at)),
    CONSTRAINT sessions_kind_chk CHECK ((kind = ANY (ARRAY['api'::text, 'web'::text]))),
    CONSTRAINT sessions_revoked_pair_chk CHECK (((revoked_at IS NULL) = (revoked_reason IS NULL))),
    CONSTRAINT sessions_revoked_reason_chk CHECK ((revoked_reason = ANY (ARRAY['logout'::text, 'reuse_detected'::text, 'password_changed'::text, 'password_reset'::text, 'deactivated'::text, 'deleted'::text, 'revoked_by_user'::text, 'role_changed'::text, 'address_proven'::text, 'revoked_by_admin'::text]))),
    CONSTRAINT sessions_user_agent_chk CHECK ((char_length(user_agent) <= 512)),
    CONSTRAINT sessions_web_token_chk CHECK (((kind = 'web'::text) = (web_token_hash IS NOT NULL))),
    CONSTRAINT sessions_web_token_hash_chk CHECK ((octet_length(web_token_hash) = 32))
);


--
-- Name: sessions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.sessions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.sessions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: user_identities; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.user_identities (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    provider text NOT NULL,
    subject text NOT NULL,
    email text,
    phone text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT user_identities_email_chk CHECK ((char_length(email) <= 254)),
    CONSTRAINT user_identities_phone_chk CHECK ((phone ~ '^\+[1-9][0-9]{6,14}$'::text)),
    CONSTRAINT user_identities_provider_chk CHECK ((provider ~ '^[a-z][a-z0-9_-]{1,31}$'::text)),
    CONSTRAINT user_identities_subject_chk CHECK (((char_length(subject) >= 1) AND (char_length(subject) <= 255)))
);


--
-- Name: user_identities_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.user_identities ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.user_identities_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: user_permission_groups; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.user_permission_groups (
    user_id bigint NOT NULL,
    group_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: user_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.user_tokens (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    purpose text NOT NULL,
    token_hash bytea NOT NULL,
    email text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    CONSTRAINT user_tokens_expires_at_chk CHECK ((expires_at > created_at)),
    CONSTRAINT user_tokens_hash_chk CHECK ((octet_length(token_hash) = 32)),
    CONSTRAINT user_tokens_purpose_chk CHECK ((purpose = ANY (ARRAY['email_verification'::text, 'password_reset'::text, 'email_change'::text]))),
    CONSTRAINT user_tokens_used_at_chk CHECK ((used_at >= created_at))
);


--
-- Name: user_tokens_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.user_tokens ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.user_tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id bigint NOT NULL,
    username text,
    email text,
    phone text,
    first_name text,
    last_name text,
    bio text,
    avatar text,
    date_of_birth date,
    instagram_handle text,
    country text,
    city text,
    zipcode text,
    role text DEFAULT 'user'::text NOT NULL,
    artist_id bigint,
    organization_id bigint,
    is_active boolean DEFAULT true NOT NULL,
    is_verified boolean DEFAULT false NOT NULL,
    phone_verified boolean DEFAULT false NOT NULL,
    email_verified boolean DEFAULT false NOT NULL,
    preferences jsonb DEFAULT '{}'::jsonb NOT NULL,
    current_latitude double precision,
    current_longitude double precision,
    last_auth_method text,
    last_auth_method_at timestamp with time zone,
    last_login_at timestamp with time zone,
    is_seed_data boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    deleted_at timestamp with time zone,
    pending_email text,
    CONSTRAINT users_artist_id_chk CHECK (((role = 'artist'::text) = (artist_id IS NOT NULL))),
    CONSTRAINT users_avatar_chk CHECK ((char_length(avatar) <= 2048)),
    CONSTRAINT users_bio_chk CHECK ((char_length(bio) <= 140)),
    CONSTRAINT users_city_chk CHECK ((char_length(city) <= 100)),
    CONSTRAINT users_country_chk CHECK ((country ~ '^[A-Z]{2}$'::text)),
    CONSTRAINT users_date_of_birth_chk CHECK ((date_of_birth >= '1900-01-01'::date)),
    CONSTRAINT users_deleted_inactive_chk CHECK (((deleted_at IS NULL) OR (NOT is_active))),
    CONSTRAINT users_email_canonical_chk CHECK (((email = lower(email)) AND (octet_length(email) = char_length(email)))),
    CONSTRAINT users_email_chk CHECK (((char_length(email) <= 254) AND (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'::text))),
    CONSTRAINT users_email_verified_chk CHECK (((email IS NOT NULL) OR (NOT email_verified))),
    CONSTRAINT users_first_name_chk CHECK ((char_length(first_name) <= 50)),
    CONSTRAINT users_instagram_handle_chk CHECK ((instagram_handle ~ '^[A-Za-z0-9._]{1,30}$'::text)),
    CONSTRAINT users_last_auth_method_chk CHECK ((last_auth_method = ANY (ARRAY['password'::text, 'phone_otp'::text, 'email_otp'::text, 'magic_link'::text, 'google'::text, 'apple'::text, 'facebook'::text, 'github'::text, 'sso'::text, 'anonymous'::text]))),
    CONSTRAINT users_last_auth_pair_chk CHECK (((last_auth_method IS NULL) = (last_auth_method_at IS NULL))),
    CONSTRAINT users_last_name_chk CHECK ((char_length(last_name) <= 50)),
    CONSTRAINT users_latitude_chk CHECK (((current_latitude >= ('-90'::integer)::double precision) AND (current_latitude <= (90)::double precision))),
    CONSTRAINT users_location_pair_chk CHECK (((current_latitude IS NULL) = (current_longitude IS NULL))),
    CONSTRAINT users_longitude_chk CHECK (((current_longitude >= ('-180'::integer)::double precision) AND (current_longitude <= (180)::double precision))),
    CONSTRAINT users_pending_email_canonical_chk CHECK (((pending_email = lower(pending_email)) AND (octet_length(pending_email) = char_length(pending_email)))),
    CONSTRAINT users_pending_email_chk CHECK (((char_length(pending_email) <= 254) AND (pending_email ~ '^[^@[:space:]]+@[^@[:space:]]+$'::text))),
    CONSTRAINT users_phone_chk CHECK ((phone ~ '^\+[1-9][0-9]{6,14}$'::text)),
    CONSTRAINT users_phone_verified_chk CHECK (((phone IS NOT NULL) OR (NOT phone_verified))),
    CONSTRAINT users_preferences_chk CHECK (((jsonb_typeof(preferences) = 'object'::text) AND (octet_length((preferences)::text) <= 16384))),
    CONSTRAINT users_role_chk CHECK ((role = ANY (ARRAY['user'::text, 'owner'::text, 'agent'::text, 'broker'::text, 'artist'::text, 'assistant'::text, 'operator'::text, 'admin'::text]))),
    CONSTRAINT users_updated_at_chk CHECK ((updated_at >= created_at)),
    CONSTRAINT users_username_chk CHECK ((username ~ '^[a-z0-9._]{3,64}$'::text)),
    CONSTRAINT users_zipcode_chk CHECK ((char_length(zipcode) <= 20))
);


--
-- Name: users_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.users ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.users_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: webhook_deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_deliveries (
    id bigint NOT NULL,
    event_id bigint NOT NULL,
    endpoint_id bigint NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    run_after timestamp with time zone DEFAULT now() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_attempt_at timestamp with time zone,
    last_status integer,
    last_error text,
    delivered_at timestamp with time zone,
    failed_at timestamp with time zone,
    CONSTRAINT webhook_deliveries_attempts_chk CHECK ((attempts >= 0)),
    CONSTRAINT webhook_deliveries_state_chk CHECK (((delivered_at IS NULL) OR (failed_at IS NULL)))
);


--
-- Name: webhook_deliveries_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.webhook_deliveries ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_deliveries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: webhook_endpoints; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_endpoints (
    id bigint NOT NULL,
    url text NOT NULL,
    event_types text[] NOT NULL,
    secret text NOT NULL,
    previous_secret text,
    previous_until timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    disabled_at timestamp with time zone,
    disabled_reason text,
    CONSTRAINT webhook_endpoints_disabled_chk CHECK (((disabled_at IS NULL) = (disabled_reason IS NULL))),
    CONSTRAINT webhook_endpoints_event_types_chk CHECK (((cardinality(event_types) >= 1) AND (cardinality(event_types) <= 32))),
    CONSTRAINT webhook_endpoints_previous_chk CHECK (((previous_secret IS NULL) = (previous_until IS NULL))),
    CONSTRAINT webhook_endpoints_secret_chk CHECK ((secret ~ '^whsec_[A-Za-z0-9+/]{43}=$'::text)),
    CONSTRAINT webhook_endpoints_url_chk CHECK (((url ~ '^https?://[^/?#@[:space:]]+'::text) AND (length(url) <= 2048)))
);


--
-- Name: webhook_endpoints_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.webhook_endpoints ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_endpoints_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: webhook_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_events (
    id bigint NOT NULL,
    message_id text DEFAULT ('msg_'::text || replace((gen_random_uuid())::text, '-'::text, ''::text)) NOT NULL,
    type text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT webhook_events_payload_chk CHECK ((jsonb_typeof(payload) = 'object'::text)),
    CONSTRAINT webhook_events_type_chk CHECK ((type = ANY (ARRAY['user.created'::text, 'user.updated'::text, 'user.deactivated'::text, 'user.reactivated'::text, 'user.deleted'::text, 'user.role_changed'::text, 'session.revoked_all'::text, 'organization.created'::text, 'organization.deleted'::text, 'organization.member_added'::text, 'organization.member_removed'::text, 'organization.plan_changed'::text, 'invitation.accepted'::text])))
);


--
-- Name: webhook_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.webhook_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: audit_events audit_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (id);


--
-- Name: avatars avatars_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.avatars
    ADD CONSTRAINT avatars_pkey PRIMARY KEY (user_id);


--
-- Name: blocks blocks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.blocks
    ADD CONSTRAINT blocks_pkey PRIMARY KEY (blocker_id, blocked_id);


--
-- Name: follow_stat_deltas follow_stat_deltas_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.follow_stat_deltas
    ADD CONSTRAINT follow_stat_deltas_pkey PRIMARY KEY (id);


--
-- Name: follow_stats follow_stats_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.follow_stats
    ADD CONSTRAINT follow_stats_pkey PRIMARY KEY (user_id);


--
-- Name: follows follows_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.follows
    ADD CONSTRAINT follows_pkey PRIMARY KEY (follower_id, followee_id);


--
-- Name: import_staging import_staging_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.import_staging
    ADD CONSTRAINT import_staging_pkey PRIMARY KEY (batch, line);


--
-- Name: invitations invitations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_pkey PRIMARY KEY (id);


--
-- Name: invitations invitations_token_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_token_hash_key UNIQUE (token_hash);


--
-- Name: login_failures login_failures_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.login_failures
    ADD CONSTRAINT login_failures_pkey PRIMARY KEY (id);


--
-- Name: oauth_clients oauth_clients_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth_clients
    ADD CONSTRAINT oauth_clients_pkey PRIMARY KEY (id);


--
-- Name: oauth_codes oauth_codes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth_codes
    ADD CONSTRAINT oauth_codes_pkey PRIMARY KEY (code_hash);


--
-- Name: oauth_consents oauth_consents_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth_consents
    ADD CONSTRAINT oauth_consents_pkey PRIMARY KEY (user_id, client_id);


--
-- Name: organizations organizations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.organizations
    ADD CONSTRAINT organizations_pkey PRIMARY KEY (id);


--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);


--
-- Name: password_credentials password_credentials_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.password_credentials
    ADD CONSTRAINT password_credentials_pkey PRIMARY KEY (user_id);


--
-- Name: permission_groups permission_groups_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.permission_groups
    ADD CONSTRAINT permission_groups_name_key UNIQUE (name);


--
-- Name: permission_groups permission_groups_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.permission_groups
    ADD CONSTRAINT permission_groups_pkey PRIMARY KEY (id);


--
-- Name: plans plans_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.plans
    ADD CONSTRAINT plans_pkey PRIMARY KEY (code);


--
-- Name: rate_events rate_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rate_events
    ADD CONSTRAINT rate_events_pkey PRIMARY KEY (id);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: session_refresh_tokens session_refresh_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.session_refresh_tokens
    ADD CONSTRAINT session_refresh_tokens_pkey PRIMARY KEY (token_hash);


--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);


--
-- Name: user_identities user_identities_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_identities
    ADD CONSTRAINT user_identities_pkey PRIMARY KEY (id);


--
-- Name: user_identities user_identities_provider_subject_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_identities
    ADD CONSTRAINT user_identities_provider_subject_key UNIQUE (provider, subject);


--
-- Name: user_identities user_identities_user_provider_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_identities
    ADD CONSTRAINT user_identities_user_provider_key UNIQUE (user_id, provider);


--
-- Name: user_permission_groups user_permission_groups_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_permission_groups
    ADD CONSTRAINT user_permission_groups_pkey PRIMARY KEY (user_id, group_id);


--
-- Name: user_tokens user_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_tokens
    ADD CONSTRAINT user_tokens_pkey PRIMARY KEY (id);


--
-- Name: user_tokens user_tokens_token_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_tokens
    ADD CONSTRAINT user_tokens_token_hash_key UNIQUE (token_hash);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: webhook_deliveries webhook_deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id);


--
-- Name: webhook_endpoints webhook_endpoints_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_endpoints
    ADD CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id);


--
-- Name: webhook_events webhook_events_message_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_message_id_key UNIQUE (message_id);


--
-- Name: webhook_events webhook_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_pkey PRIMARY KEY (id);


--
-- Name: audit_events_action_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_events_action_created_at_idx ON public.audit_events USING btree (action, created_at DESC, id DESC);


--
-- Name: audit_events_actor_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_events_actor_created_at_idx ON public.audit_events USING btree (actor_id, created_at DESC, id DESC) WHERE (actor_id IS NOT NULL);


--
-- Name: audit_events_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_events_created_at_idx ON public.audit_events USING btree (created_at DESC, id DESC);


--
-- Name: audit_events_organization_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_events_organization_id_idx ON public.audit_events USING btree (organization_id) WHERE (organization_id IS NOT NULL);


--
-- Name: audit_events_target_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_events_target_created_at_idx ON public.audit_events USING btree (target_user_id, created_at DESC, id DESC) WHERE (target_user_id IS NOT NULL);


--
-- Name: blocks_blocked_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX blocks_blocked_idx ON public.blocks USING btree (blocked_id, blocker_id);


--
-- Name: blocks_blocker_created_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX blocks_blocker_created_idx ON public.blocks USING btree (blocker_id, created_at DESC, blocked_id DESC);


--
-- Name: follow_stat_deltas_followee_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX follow_stat_deltas_followee_idx ON public.follow_stat_deltas USING btree (followee_id);


--
-- Name: follow_stat_deltas_follower_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX follow_stat_deltas_follower_idx ON public.follow_stat_deltas USING btree (follower_id);


--
-- Name: follows_followee_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX follows_followee_idx ON public.follows USING btree (followee_id, created_at DESC, follower_id DESC);


--
-- Name: follows_follower_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX follows_follower_idx ON public.follows USING btree (follower_id, created_at DESC, followee_id DESC);


--
-- Name: invitations_pending_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX invitations_pending_idx ON public.invitations USING btree (organization_id, created_at DESC, id DESC) WHERE ((accepted_at IS NULL) AND (revoked_at IS NULL));


--
-- Name: invitations_pending_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX invitations_pending_key ON public.invitations USING btree (organization_id, lower(email)) WHERE ((accepted_at IS NULL) AND (revoked_at IS NULL));


--
-- Name: login_failures_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX login_failures_created_at_idx ON public.login_failures USING btree (created_at);


--
-- Name: login_failures_identifier_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX login_failures_identifier_idx ON public.login_failures USING btree (identifier_hash, created_at);


--
-- Name: login_failures_ip_hash_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX login_failures_ip_hash_idx ON public.login_failures USING btree (ip_hash, created_at) WHERE (ip_hash IS NOT NULL);


--
-- Name: login_failures_user_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX login_failures_user_id_idx ON public.login_failures USING btree (user_id) WHERE (user_id IS NOT NULL);


--
-- Name: oauth_codes_client_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX oauth_codes_client_idx ON public.oauth_codes USING btree (client_id);


--
-- Name: oauth_codes_session_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX oauth_codes_session_idx ON public.oauth_codes USING btree (session_id) WHERE (session_id IS NOT NULL);


--
-- Name: oauth_codes_user_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX oauth_codes_user_idx ON public.oauth_codes USING btree (user_id);


--
-- Name: oauth_consents_client_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX oauth_consents_client_idx ON public.oauth_consents USING btree (client_id);


--
-- Name: organizations_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX organizations_created_at_idx ON public.organizations USING btree (created_at, id);


--
-- Name: organizations_import_key_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX organizations_import_key_key ON public.organizations USING btree (import_key) WHERE (import_key IS NOT NULL);


--
-- Name: organizations_name_prefix_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX organizations_name_prefix_idx ON public.organizations USING btree (lower(name) text_pattern_ops);


--
-- Name: outbox_due_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_due_idx ON public.outbox USING btree (run_after, id) WHERE ((done_at IS NULL) AND (failed_at IS NULL));


--
-- Name: outbox_user_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX outbox_user_id_idx ON public.outbox USING btree (user_id) WHERE (user_id IS NOT NULL);


--
-- Name: rate_events_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX rate_events_created_at_idx ON public.rate_events USING btree (created_at);


--
-- Name: rate_events_key_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX rate_events_key_idx ON public.rate_events USING btree (bucket, key_hash, created_at);


--
-- Name: session_refresh_tokens_session_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX session_refresh_tokens_session_id_idx ON public.session_refresh_tokens USING btree (session_id);


--
-- Name: sessions_client_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_client_idx ON public.sessions USING btree (client_id, user_id) WHERE (client_id IS NOT NULL);


--
-- Name: sessions_user_live_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_user_live_idx ON public.sessions USING btree (user_id, created_at DESC, id DESC) WHERE (revoked_at IS NULL);


--
-- Name: sessions_web_token_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX sessions_web_token_key ON public.sessions USING btree (web_token_hash) WHERE (web_token_hash IS NOT NULL);


--
-- Name: user_permission_groups_group_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX user_permission_groups_group_id_idx ON public.user_permission_groups USING btree (group_id);


--
-- Name: user_tokens_user_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX user_tokens_user_id_idx ON public.user_tokens USING btree (user_id, purpose);


--
-- Name: users_active_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX users_active_created_at_idx ON public.users USING btree (is_active, created_at DESC, id DESC) WHERE (deleted_at IS NULL);


--
-- Name: users_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX users_created_at_idx ON public.users USING btree (created_at DESC, id DESC) WHERE (deleted_at IS NULL);


--
-- Name: users_email_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX users_email_key ON public.users USING btree (lower(email)) WHERE ((email IS NOT NULL) AND (deleted_at IS NULL));


--
-- Name: users_email_prefix_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX users_email_prefix_idx ON public.users USING btree (lower(email) text_pattern_ops) WHERE (deleted_at IS NULL);


--
-- Name: users_email_verified_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX users_email_verified_created_at_idx ON public.users USING btree (email_verified, created_at DESC, id DESC) WHERE (deleted_at IS NULL);


--
-- Name: users_first_name_prefix_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX users_first_name_prefix_idx ON public.users USING btree (lower(first_name) text_pattern_ops) WHERE (deleted_at IS NULL);


--
-- Name: users_last_name_prefix_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX users_last_name_prefix_idx ON public.users USING btree (lower(last_name) text_pattern_ops) WHERE (deleted_at IS NULL);


--
-- Name: users_organization_members_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX users_organization_members_idx ON public.users USING btree (organization_id, created_at DESC, id DESC) WHERE (organization_id IS NOT NULL);


--
-- Name: users_phone_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX users_phone_key ON public.users USING btree (phone) WHERE ((phone IS NOT NULL) AND (deleted_at IS NULL));


--
-- Name: users_phone_last10_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX users_phone_last10_idx ON public.users USING btree ("right"(phone, 10)) WHERE ((phone IS NOT NULL) AND (deleted_at IS NULL));


--
-- Name: users_role_active_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX users_role_active_created_at_idx ON public.users USING btree (role, is_active, created_at DESC, id DESC) WHERE (deleted_at IS NULL);


--
-- Name: users_role_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX users_role_created_at_idx ON public.users USING btree (role, created_at DESC, id DESC) WHERE (deleted_at IS NULL);


--
-- Name: users_username_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX users_username_key ON public.users USING btree (username);


--
-- Name: users_username_prefix_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX users_username_prefix_idx ON public.users USING btree (username text_pattern_ops) WHERE (deleted_at IS NULL);


--
-- Name: webhook_deliveries_due_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_deliveries_due_idx ON public.webhook_deliveries USING btree (run_after, id) WHERE ((delivered_at IS NULL) AND (failed_at IS NULL));


--
-- Name: webhook_deliveries_endpoint_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_deliveries_endpoint_idx ON public.webhook_deliveries USING btree (endpoint_id, created_at, id);


--
-- Name: webhook_deliveries_event_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_deliveries_event_idx ON public.webhook_deliveries USING btree (event_id);


--
-- Name: users_lower_email_stats; Type: STATISTICS; Schema: public; Owner: -
--

CREATE STATISTICS public.users_lower_email_stats ON lower(email) FROM public.users;


--
-- Name: users_lower_first_name_stats; Type: STATISTICS; Schema: public; Owner: -
--

CREATE STATISTICS public.users_lower_first_name_stats ON lower(first_name) FROM public.users;


--
-- Name: users_lower_last_name_stats; Type: STATISTICS; Schema: public; Owner: -
--

CREATE STATISTICS public.users_lower_last_name_stats ON lower(last_name) FROM public.users;


--
-- Name: users_phone_last10_stats; Type: STATISTICS; Schema: public; Owner: -
--

CREATE STATISTICS public.users_phone_last10_stats ON "right"(phone, 10) FROM public.users;


--
-- Name: follows follows_maintain_stats_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER follows_maintain_stats_trg AFTER INSERT OR DELETE ON public.follows FOR EACH ROW EXECUTE FUNCTION public.follows_maintain_stats();


--
-- Name: invitations invitations_seats_insert_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER invitations_seats_insert_trg AFTER INSERT ON public.invitations FOR EACH ROW WHEN (((new.accepted_at IS NULL) AND (new.revoked_at IS NULL))) EXECUTE FUNCTION public.seats_check_member_trg();


--
-- Name: invitations invitations_seats_update_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER invitations_seats_update_trg AFTER UPDATE ON public.invitations FOR EACH ROW WHEN (((new.accepted_at IS NULL) AND (new.revoked_at IS NULL) AND ((old.accepted_at IS NOT NULL) OR (old.revoked_at IS NOT NULL) OR (new.expires_at > old.expires_at) OR (new.organization_id <> old.organization_id)))) EXECUTE FUNCTION public.seats_check_member_trg();


--
-- Name: organizations organizations_seats_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER organizations_seats_trg AFTER UPDATE OF plan ON public.organizations FOR EACH ROW WHEN ((new.plan IS DISTINCT FROM old.plan)) EXECUTE FUNCTION public.seats_check_organization_trg();


--
-- Name: plans plans_seats_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER plans_seats_trg AFTER UPDATE OF seat_limit ON public.plans FOR EACH ROW WHEN (((new.seat_limit IS NOT NULL) AND ((old.seat_limit IS NULL) OR (new.seat_limit < old.seat_limit)))) EXECUTE FUNCTION public.seats_check_plan_trg();


--
-- Name: sessions sessions_principal_delete_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER sessions_principal_delete_trg AFTER DELETE ON public.sessions FOR EACH ROW EXECUTE FUNCTION public.principal_changed_trg();


--
-- Name: sessions sessions_principal_update_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER sessions_principal_update_trg AFTER UPDATE ON public.sessions FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION public.principal_changed_trg();


--
-- Name: user_identities user_identities_principal_delete_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER user_identities_principal_delete_trg AFTER DELETE ON public.user_identities FOR EACH ROW EXECUTE FUNCTION public.principal_changed_trg();


--
-- Name: user_identities user_identities_principal_update_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER user_identities_principal_update_trg AFTER UPDATE ON public.user_identities FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION public.principal_changed_trg();


--
-- Name: users users_create_follow_stats_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER users_create_follow_stats_trg AFTER INSERT ON public.users REFERENCING NEW TABLE AS new_users FOR EACH STATEMENT EXECUTE FUNCTION public.users_create_follow_stats();


--
-- Name: users users_preferences_depth_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER users_preferences_depth_trg BEFORE INSERT OR UPDATE OF preferences ON public.users FOR EACH ROW WHEN ((new.preferences <> '{}'::jsonb)) EXECUTE FUNCTION public.users_preferences_depth_check();


--
-- Name: users users_principal_delete_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER users_principal_delete_trg AFTER DELETE ON public.users FOR EACH ROW EXECUTE FUNCTION public.principal_changed_trg();


--
-- Name: users users_principal_update_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER users_principal_update_trg AFTER UPDATE ON public.users FOR EACH ROW WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION public.principal_changed_trg();


--
-- Name: users users_seats_insert_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER users_seats_insert_trg AFTER INSERT ON public.users FOR EACH ROW WHEN ((new.organization_id IS NOT NULL)) EXECUTE FUNCTION public.seats_check_member_trg();


--
-- Name: users users_seats_update_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER users_seats_update_trg AFTER UPDATE OF organization_id ON public.users FOR EACH ROW WHEN (((new.organization_id IS NOT NULL) AND (new.organization_id IS DISTINCT FROM old.organization_id))) EXECUTE FUNCTION public.seats_check_member_trg();


--
-- Name: webhook_deliveries webhook_deliveries_notify_trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER webhook_deliveries_notify_trg AFTER INSERT ON public.webhook_deliveries REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION public.webhook_deliveries_notify_trg();


--
-- Name: audit_events audit_events_actor_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_actor_id_fkey FOREIGN KEY (actor_id) REFERENCES public.users(id) ON DELETE SET NULL;


--
-- Name: audit_events audit_events_target_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_target_user_id_fkey FOREIGN KEY (target_user_id) REFERENCES public.users(id) ON DELETE SET NULL;


--
-- Name: avatars avatars_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.avatars
    ADD CONSTRAINT avatars_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: blocks blocks_blocked_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.blocks
    ADD CONSTRAINT blocks_blocked_id_fkey FOREIGN KEY (blocked_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: blocks blocks_blocker_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.blocks
    ADD CONSTRAINT blocks_blocker_id_fkey FOREIGN KEY (blocker_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: follow_stats follow_stats_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.follow_stats
    ADD CONSTRAINT follow_stats_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: follows follows_followee_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.follows
    ADD CONSTRAINT follows_followee_id_fkey FOREIGN KEY (followee_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: follows follows_follower_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.follows
    ADD CONSTRAINT follows_follower_id_fkey FOREIGN KEY (follower_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: invitations invitations_accepted_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_accepted_by_fkey FOREIGN KEY (accepted_by) REFERENCES public.users(id) ON DELETE SET NULL;


--
-- Name: invitations invitations_inviter_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_inviter_id_fkey FOREIGN KEY (inviter_id) REFERENCES public.users(id) ON DELETE SET NULL;


--
-- Name: invitations invitations_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;


--
-- Name: login_failures login_failures_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.login_failures
    ADD CONSTRAINT login_failures_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: oauth_codes oauth_codes_client_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth_codes
    ADD CONSTRAINT oauth_codes_client_id_fkey FOREIGN KEY (client_id) REFERENCES public.oauth_clients(id) ON DELETE CASCADE;


--
-- Name: oauth_codes oauth_codes_session_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth_codes
    ADD CONSTRAINT oauth_codes_session_id_fkey FOREIGN KEY (session_id) REFERENCES public.sessions(id) ON DELETE SET NULL;


--
-- Name: oauth_codes oauth_codes_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth_codes
    ADD CONSTRAINT oauth_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: oauth_consents oauth_consents_client_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth_consents
    ADD CONSTRAINT oauth_consents_client_id_fkey FOREIGN KEY (client_id) REFERENCES public.oauth_clients(id) ON DELETE CASCADE;


--
-- Name: oauth_consents oauth_consents_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth_consents
    ADD CONSTRAINT oauth_consents_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: organizations organizations_plan_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.organizations
    ADD CONSTRAINT organizations_plan_fkey FOREIGN KEY (plan) REFERENCES public.plans(code) ON UPDATE CASCADE ON DELETE RESTRICT;


--
-- Name: outbox outbox_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE SET NULL;


--
-- Name: password_credentials password_credentials_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.password_credentials
    ADD CONSTRAINT password_credentials_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: session_refresh_tokens session_refresh_tokens_session_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.session_refresh_tokens
    ADD CONSTRAINT session_refresh_tokens_session_id_fkey FOREIGN KEY (session_id) REFERENCES public.sessions(id) ON DELETE CASCADE;


--
-- Name: sessions sessions_client_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_client_id_fkey FOREIGN KEY (client_id) REFERENCES public.oauth_clients(id) ON DELETE CASCADE;


--
-- Name: sessions sessions_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: user_identities user_identities_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_identities
    ADD CONSTRAINT user_identities_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: user_permission_groups user_permission_groups_group_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_permission_groups
    ADD CONSTRAINT user_permission_groups_group_id_fkey FOREIGN KEY (group_id) REFERENCES public.permission_groups(id) ON DELETE CASCADE;


--
-- Name: user_permission_groups user_permission_groups_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_permission_groups
    ADD CONSTRAINT user_permission_groups_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: user_tokens user_tokens_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_tokens
    ADD CONSTRAINT user_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: users users_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE SET NULL;


--
-- Name: webhook_deliveries webhook_deliveries_endpoint_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_endpoint_id_fkey FOREIGN KEY (endpoint_id) REFERENCES public.webhook_endpoints(id) ON DELETE CASCADE;


--
-- Name: webhook_deliveries webhook_deliveries_event_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_event_id_fkey FOREIGN KEY (event_id) REFERENCES public.webhook_events(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--


--
-- Dbmate schema migrations
--

INSERT INTO public.schema_migrations (version) VALUES
    ('20261122000001'),
    ('20261122000002'),
    ('20261122000003'),
    ('20261122000004'),
    ('20261122000005'),
    ('20261201000200'),
    ('20261201000300'),
    ('20261201000500'),
    ('20261201000600'),
    ('20261201000800'),
    ('20261202005001'),
    ('20261202005002'),
    ('20261202005003'),
    ('20261202005004'),
    ('20261202006001'),
    ('20261207100001'),
    ('20261207120001'),
    ('20261207200001'),
    ('20261207300001'),
    ('20261207500001'),
    ('20261208200001'),
    ('20261208300001');
