-- migrate:up

-- Plans bound how many seats an organization may use; NULL seat_limit is unlimited.
CREATE TABLE plans (
    code       text PRIMARY KEY,
    name       text NOT NULL,
    seat_limit integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT plans_code_chk CHECK (code ~ '^[a-z][a-z0-9_]{1,31}$'),
    CONSTRAINT plans_name_chk CHECK (char_length(name) BETWEEN 1 AND 70),
    CONSTRAINT plans_seat_limit_chk CHECK (seat_limit IS NULL OR seat_limit > 0)
);

INSERT INTO plans (code, name, seat_limit) VALUES
    ('free', 'Free', 3),
    ('team', 'Team', 25),
    ('business', 'Business', 250),
    ('enterprise', 'Enterprise', NULL);

CREATE TABLE organizations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL,
    plan         text NOT NULL DEFAULT 'free',
    is_seed_data boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_name_chk CHECK (char_length(btrim(name)) BETWEEN 1 AND 70 AND name = btrim(name)),
    CONSTRAINT organizations_plan_fkey FOREIGN KEY (plan) REFERENCES plans (code) ON UPDATE CASCADE ON DELETE RESTRICT,
    CONSTRAINT organizations_updated_at_chk CHECK (updated_at >= created_at)
);

CREATE INDEX organizations_created_at_idx ON organizations (created_at, id);

-- users is the one table every other table of an application points at.
-- Secrets (password hashes, tokens, sessions) live in other tables.
CREATE TABLE users (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username            text,
    email               text,
    phone               text,
    first_name          text,
    last_name           text,
    bio                 text,
    avatar              text,
    date_of_birth       date,
    instagram_handle    text,
    country             text,
    city                text,
    zipcode             text,
    role                text NOT NULL DEFAULT 'user',
    artist_id           bigint,
    organization_id     bigint,
    is_active           boolean NOT NULL DEFAULT true,
    is_verified         boolean NOT NULL DEFAULT false,
    phone_verified      boolean NOT NULL DEFAULT false,
    email_verified      boolean NOT NULL DEFAULT false,
    preferences         jsonb NOT NULL DEFAULT '{}'::jsonb,
    current_latitude    double precision,
    current_longitude   double precision,
    last_auth_method    text,
    last_auth_method_at timestamptz,
    last_login_at       timestamptz,
    is_seed_data        boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    -- Usernames are stored lower-cased, so a plain unique constraint is case-insensitive.
    CONSTRAINT users_username_chk CHECK (username ~ '^[a-z0-9._]{3,64}$'),
    CONSTRAINT users_email_chk CHECK (char_length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT users_phone_chk CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    CONSTRAINT users_first_name_chk CHECK (char_length(first_name) <= 50),
    CONSTRAINT users_last_name_chk CHECK (char_length(last_name) <= 50),
    CONSTRAINT users_bio_chk CHECK (char_length(bio) <= 140),
    CONSTRAINT users_avatar_chk CHECK (char_length(avatar) <= 2048),
    CONSTRAINT users_date_of_birth_chk CHECK (date_of_birth >= DATE '1900-01-01'),
    CONSTRAINT users_instagram_handle_chk CHECK (instagram_handle ~ '^[A-Za-z0-9._]{1,30}$'),
    CONSTRAINT users_country_chk CHECK (country ~ '^[A-Z]{2}$'),
    CONSTRAINT users_city_chk CHECK (char_length(city) <= 100),
    CONSTRAINT users_zipcode_chk CHECK (char_length(zipcode) <= 20),
    CONSTRAINT users_role_chk CHECK (role IN ('user', 'owner', 'agent', 'broker', 'artist', 'assistant', 'operator', 'admin')),
    CONSTRAINT users_artist_id_chk CHECK ((role = 'artist') = (artist_id IS NOT NULL)),
    CONSTRAINT users_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE SET NULL,
    CONSTRAINT users_preferences_chk CHECK (jsonb_typeof(preferences) = 'object' AND octet_length(preferences::text) <= 16384),
    CONSTRAINT users_latitude_chk CHECK (current_latitude BETWEEN -90 AND 90),
    CONSTRAINT users_longitude_chk CHECK (current_longitude BETWEEN -180 AND 180),
    CONSTRAINT users_location_pair_chk CHECK ((current_latitude IS NULL) = (current_longitude IS NULL)),
    CONSTRAINT users_last_auth_method_chk CHECK (last_auth_method IN ('password', 'phone_otp', 'email_otp', 'magic_link', 'google', 'apple', 'facebook', 'github', 'sso', 'anonymous')),
    CONSTRAINT users_last_auth_pair_chk CHECK ((last_auth_method IS NULL) = (last_auth_method_at IS NULL)),
    CONSTRAINT users_updated_at_chk CHECK (updated_at >= created_at),
    CONSTRAINT users_deleted_inactive_chk CHECK (deleted_at IS NULL OR NOT is_active)
);

CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX users_phone_key ON users (phone) WHERE phone IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX users_phone_last10_idx ON users (right(phone, 10)) WHERE phone IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX users_organization_id_idx ON users (organization_id) WHERE organization_id IS NOT NULL;
CREATE INDEX users_created_at_idx ON users (created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX users_role_created_at_idx ON users (role, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- External logins: one row per (provider, subject). Kept after an account is
-- deleted (claims cleared) so a still-valid IdP token maps to the deleted
-- user and is refused, instead of silently creating a new account.
CREATE TABLE user_identities (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL,
    provider     text NOT NULL,
    subject      text NOT NULL,
    email        text,
    phone        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_identities_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT user_identities_provider_chk CHECK (provider ~ '^[a-z][a-z0-9_-]{1,31}$'),
    CONSTRAINT user_identities_subject_chk CHECK (char_length(subject) BETWEEN 1 AND 255),
    CONSTRAINT user_identities_email_chk CHECK (char_length(email) <= 254),
    CONSTRAINT user_identities_phone_chk CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    CONSTRAINT user_identities_provider_subject_key UNIQUE (provider, subject),
    CONSTRAINT user_identities_user_provider_key UNIQUE (user_id, provider)
);

CREATE TABLE password_credentials (
    user_id    bigint PRIMARY KEY,
    hash       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT password_credentials_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT password_credentials_hash_chk CHECK (hash ~ '^\$argon2id\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$')
);

-- A session is one refresh-token family. Every refresh token ever issued for
-- it is kept (hash only) in session_refresh_tokens, so reuse of a rotated
-- token is detected and revokes the family.
CREATE TABLE sessions (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        bigint NOT NULL,
    user_agent     text,
    ip             inet,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text,
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT sessions_user_agent_chk CHECK (char_length(user_agent) <= 512),
    CONSTRAINT sessions_expires_at_chk CHECK (expires_at > created_at),
    CONSTRAINT sessions_revoked_reason_chk CHECK (revoked_reason IN ('logout', 'reuse_detected', 'password_changed', 'password_reset', 'deactivated', 'deleted', 'revoked_by_user', 'role_changed')),
    CONSTRAINT sessions_revoked_pair_chk CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id, created_at DESC);

CREATE TABLE session_refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    rotated_at timestamptz,
    CONSTRAINT session_refresh_tokens_session_id_fkey FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE,
    CONSTRAINT session_refresh_tokens_hash_chk CHECK (octet_length(token_hash) = 32)
);

CREATE INDEX session_refresh_tokens_session_id_idx ON session_refresh_tokens (session_id);

-- Single-use tokens mailed to users; only their SHA-256 is stored.
CREATE TABLE user_tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL,
    purpose    text NOT NULL,
    token_hash bytea NOT NULL,
    email      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CONSTRAINT user_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT user_tokens_purpose_chk CHECK (purpose IN ('email_verification', 'password_reset')),
    CONSTRAINT user_tokens_hash_chk CHECK (octet_length(token_hash) = 32),
    CONSTRAINT user_tokens_expires_at_chk CHECK (expires_at > created_at),
    CONSTRAINT user_tokens_used_at_chk CHECK (used_at >= created_at),
    CONSTRAINT user_tokens_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX user_tokens_user_id_idx ON user_tokens (user_id, purpose);

-- Failed logins, counted in the database so the limit holds across instances.
-- The identifier is stored as a SHA-256 of its normalized form.
CREATE TABLE login_failures (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    identifier_hash bytea NOT NULL,
    ip              inet,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT login_failures_hash_chk CHECK (octet_length(identifier_hash) = 32)
);

CREATE INDEX login_failures_identifier_idx ON login_failures (identifier_hash, created_at);
CREATE INDEX login_failures_ip_idx ON login_failures (ip, created_at) WHERE ip IS NOT NULL;

CREATE TABLE follows (
    follower_id bigint NOT NULL,
    followee_id bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT follows_pkey PRIMARY KEY (follower_id, followee_id),
    CONSTRAINT follows_follower_id_fkey FOREIGN KEY (follower_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT follows_followee_id_fkey FOREIGN KEY (followee_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT follows_no_self_chk CHECK (follower_id <> followee_id)
);

CREATE INDEX follows_followee_idx ON follows (followee_id, created_at DESC, follower_id DESC);
CREATE INDEX follows_follower_idx ON follows (follower_id, created_at DESC, followee_id DESC);

-- Denormalized follow counters, maintained by triggers on follows so they
-- always equal the real counts whatever code path writes follows.
CREATE TABLE follow_stats (
    user_id         bigint PRIMARY KEY,
    followers_count bigint NOT NULL DEFAULT 0,
    following_count bigint NOT NULL DEFAULT 0,
    CONSTRAINT follow_stats_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT follow_stats_followers_count_chk CHECK (followers_count >= 0),
    CONSTRAINT follow_stats_following_count_chk CHECK (following_count >= 0)
);

CREATE FUNCTION users_create_follow_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO follow_stats (user_id) VALUES (NEW.id);
    RETURN NEW;
END;
$$;

CREATE TRIGGER users_create_follow_stats_trg AFTER INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION users_create_follow_stats();

-- Counter rows are always locked in user id order, so concurrent follows
-- between the same two users cannot deadlock.
CREATE FUNCTION follows_maintain_stats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f bigint;
    e bigint;
    d bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        f := NEW.follower_id; e := NEW.followee_id; d := 1;
    ELSE
        f := OLD.follower_id; e := OLD.followee_id; d := -1;
    END IF;
    IF f < e THEN
        UPDATE follow_stats SET following_count = following_count + d WHERE user_id = f;
        UPDATE follow_stats SET followers_count = followers_count + d WHERE user_id = e;
    ELSE
        UPDATE follow_stats SET followers_count = followers_count + d WHERE user_id = e;
        UPDATE follow_stats SET following_count = following_count + d WHERE user_id = f;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER follows_maintain_stats_trg AFTER INSERT OR DELETE ON follows
    FOR EACH ROW EXECUTE FUNCTION follows_maintain_stats();

CREATE TABLE blocks (
    blocker_id bigint NOT NULL,
    blocked_id bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT blocks_pkey PRIMARY KEY (blocker_id, blocked_id),
    CONSTRAINT blocks_blocker_id_fkey FOREIGN KEY (blocker_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT blocks_blocked_id_fkey FOREIGN KEY (blocked_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT blocks_no_self_chk CHECK (blocker_id <> blocked_id)
);

CREATE INDEX blocks_blocked_idx ON blocks (blocked_id, blocker_id);
CREATE INDEX blocks_blocker_created_idx ON blocks (blocker_id, created_at DESC, blocked_id DESC);

CREATE TABLE permission_groups (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT permission_groups_name_chk CHECK (name ~ '^[a-z][a-z0-9_]{1,63}$'),
    CONSTRAINT permission_groups_kind_chk CHECK (kind IN ('subscription', 'system', 'org_manageable')),
    CONSTRAINT permission_groups_description_chk CHECK (char_length(description) <= 500),
    CONSTRAINT permission_groups_name_key UNIQUE (name)
);

-- org_admin marks the administrators of the member's organization.
INSERT INTO permission_groups (name, kind, description) VALUES
    ('org_admin', 'org_manageable', 'Administers the organization: members, invitations, groups');

CREATE TABLE user_permission_groups (
    user_id    bigint NOT NULL,
    group_id   bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_permission_groups_pkey PRIMARY KEY (user_id, group_id),
    CONSTRAINT user_permission_groups_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT user_permission_groups_group_id_fkey FOREIGN KEY (group_id) REFERENCES permission_groups (id) ON DELETE CASCADE
);

CREATE INDEX user_permission_groups_group_id_idx ON user_permission_groups (group_id);

CREATE TABLE invitations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL,
    inviter_id      bigint,
    email           text NOT NULL,
    token_hash      bytea NOT NULL,
    groups          text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    accepted_by     bigint,
    revoked_at      timestamptz,
    CONSTRAINT invitations_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT invitations_inviter_id_fkey FOREIGN KEY (inviter_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT invitations_accepted_by_fkey FOREIGN KEY (accepted_by) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT invitations_email_chk CHECK (char_length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT invitations_hash_chk CHECK (octet_length(token_hash) = 32),
    CONSTRAINT invitations_expires_at_chk CHECK (expires_at > created_at),
    CONSTRAINT invitations_state_chk CHECK (accepted_at IS NULL OR revoked_at IS NULL),
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash)
);

-- At most one pending invitation per organization and address.
CREATE UNIQUE INDEX invitations_pending_key ON invitations (organization_id, lower(email))
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- Avatars are kept in PostgreSQL: the image as uploaded and a thumbnail.
CREATE TABLE avatars (
    user_id        bigint PRIMARY KEY,
    content_type   text NOT NULL,
    image          bytea NOT NULL,
    thumbnail_type text NOT NULL,
    thumbnail      bytea NOT NULL,
    etag           text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT avatars_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT avatars_content_type_chk CHECK (content_type IN ('image/png', 'image/jpeg')),
    CONSTRAINT avatars_thumbnail_type_chk CHECK (thumbnail_type IN ('image/png', 'image/jpeg')),
    CONSTRAINT avatars_image_size_chk CHECK (octet_length(image) BETWEEN 1 AND 2097152),
    CONSTRAINT avatars_thumbnail_size_chk CHECK (octet_length(thumbnail) BETWEEN 1 AND 2097152)
);

-- Who did what to whom. details never holds secrets; a user's deletion
-- scrubs their PII from it.
CREATE TABLE audit_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id        bigint,
    target_user_id  bigint,
    organization_id bigint,
    action          text NOT NULL,
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_events_actor_id_fkey FOREIGN KEY (actor_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT audit_events_target_user_id_fkey FOREIGN KEY (target_user_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT audit_events_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE SET NULL,
    CONSTRAINT audit_events_action_chk CHECK (action ~ '^[a-z][a-z_.]{1,63}$'),
    CONSTRAINT audit_events_details_chk CHECK (jsonb_typeof(details) = 'object')
);

CREATE INDEX audit_events_created_at_idx ON audit_events (created_at DESC, id DESC);
CREATE INDEX audit_events_target_user_id_idx ON audit_events (target_user_id) WHERE target_user_id IS NOT NULL;
CREATE INDEX audit_events_actor_id_idx ON audit_events (actor_id) WHERE actor_id IS NOT NULL;

-- Work done after a transaction commits: mail and IdP hard deletes, retried
-- with backoff by any instance (FOR UPDATE SKIP LOCKED).
CREATE TABLE outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL,
    user_id     bigint,
    payload     jsonb NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    run_after   timestamptz NOT NULL DEFAULT now(),
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    done_at     timestamptz,
    failed_at   timestamptz,
    CONSTRAINT outbox_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT outbox_kind_chk CHECK (kind IN ('mail', 'idp_delete')),
    CONSTRAINT outbox_payload_chk CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT outbox_attempts_chk CHECK (attempts >= 0),
    CONSTRAINT outbox_state_chk CHECK (done_at IS NULL OR failed_at IS NULL)
);

CREATE INDEX outbox_due_idx ON outbox (run_after, id) WHERE done_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_user_id_idx ON outbox (user_id) WHERE user_id IS NOT NULL;

-- migrate:down

DROP TABLE outbox;
DROP TABLE audit_events;
DROP TABLE avatars;
DROP TABLE invitations;
DROP TABLE user_permission_groups;
DROP TABLE permission_groups;
DROP TABLE blocks;
DROP TRIGGER follows_maintain_stats_trg ON follows;
DROP TABLE follows;
DROP FUNCTION follows_maintain_stats();
DROP TABLE follow_stats;
DROP TABLE login_failures;
DROP TABLE user_tokens;
DROP TABLE session_refresh_tokens;
DROP TABLE sessions;
DROP TABLE password_credentials;
DROP TABLE user_identities;
DROP TRIGGER users_create_follow_stats_trg ON users;
DROP TABLE users;
DROP FUNCTION users_create_follow_stats();
DROP TABLE organizations;
DROP TABLE plans;
