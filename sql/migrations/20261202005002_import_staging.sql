-- migrate:up
-- `userd import` copies each batch of validated lines here with COPY,
-- then inserts (or merges) them into users, password_credentials and
-- user_identities with set-based statements, and deletes the batch, all in
-- one transaction. A table of the schema rather than a temporary one: its
-- queries are checked like every other (sqlc), and no DDL runs per import.
-- Unlogged: its rows never outlive their transaction, so they need no WAL,
-- and a crash that empties it loses nothing. Concurrent imports keep apart
-- by batch.
CREATE SEQUENCE import_batches;

CREATE UNLOGGED TABLE import_staging (
    batch            bigint  NOT NULL,
    line             integer NOT NULL,
    user_id          bigint,           -- the new user's id, or the existing user an update merges into
    action           text    NOT NULL, -- insert or update
    username         text,
    email            text,
    phone            text,
    first_name       text,
    last_name        text,
    bio              text,
    date_of_birth    date,
    instagram_handle text,
    country          text,
    city             text,
    zipcode          text,
    role             text,
    artist_id        bigint,
    is_active        boolean,
    is_verified      boolean,
    email_verified   boolean,
    phone_verified   boolean,
    preferences      jsonb,
    latitude         double precision,
    longitude        double precision,
    created_at       timestamptz,
    password_hash    text,
    providers        text[]  NOT NULL DEFAULT '{}',
    subjects         text[]  NOT NULL DEFAULT '{}',
    organization_id  bigint,
    PRIMARY KEY (batch, line),
    CONSTRAINT import_staging_action_chk CHECK (action IN ('insert', 'update'))
);

-- migrate:down
DROP TABLE import_staging;
DROP SEQUENCE import_batches;
