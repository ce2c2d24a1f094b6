-- migrate:up

-- Webhook endpoints: where events are POSTed, which types they take ('*':
-- all), and the signing secret (whsec_ and base64 of 32 random bytes).
-- During a rotation the previous secret also signs until previous_until.
CREATE TABLE webhook_endpoints (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url text NOT NULL,
    event_types text[] NOT NULL,
    secret text NOT NULL,
    previous_secret text,
    previous_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz,
    disabled_reason text,
    CONSTRAINT webhook_endpoints_url_chk CHECK (url ~ '^https?://[^/?#@[:space:]]+' AND length(url) <= 2048),
    CONSTRAINT webhook_endpoints_event_types_chk CHECK (cardinality(event_types) BETWEEN 1 AND 32),
    CONSTRAINT webhook_endpoints_secret_chk CHECK (secret ~ '^whsec_[A-Za-z0-9+/]{43}=$'),
    CONSTRAINT webhook_endpoints_previous_chk CHECK ((previous_secret IS NULL) = (previous_until IS NULL)),
    CONSTRAINT webhook_endpoints_disabled_chk CHECK ((disabled_at IS NULL) = (disabled_reason IS NULL))
);

-- Webhook events: one per change, written in the change's transaction, only
-- when some enabled endpoint takes its type. message_id is the webhook-id
-- header of every delivery of the event, retries and replays included.
-- payload is the request body: {"type", "timestamp", "data"}, ids and field
-- names, never personal data.
CREATE TABLE webhook_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id text NOT NULL DEFAULT 'msg_' || replace(gen_random_uuid()::text, '-', ''),
    type text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_events_message_id_key UNIQUE (message_id),
    CONSTRAINT webhook_events_type_chk CHECK (type IN (
        'user.created', 'user.updated', 'user.deactivated', 'user.reactivated', 'user.deleted',
        'user.role_changed', 'session.revoked_all', 'organization.created', 'organization.deleted',
        'organization.member_added', 'organization.member_removed', 'organization.plan_changed',
        'invitation.accepted')),
    CONSTRAINT webhook_events_payload_chk CHECK (jsonb_typeof(payload) = 'object')
);

-- Webhook deliveries: the outbox of events, one row per event and endpoint
-- (and per replay). Claimed as outbox rows are: attempts counts the claims,
-- run_after is the next try (or the end of the current lease).
CREATE TABLE webhook_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id bigint NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id bigint NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    attempts integer NOT NULL DEFAULT 0,
    run_after timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    last_status integer,
    last_error text,
    delivered_at timestamptz,
    failed_at timestamptz,
    CONSTRAINT webhook_deliveries_attempts_chk CHECK (attempts >= 0),
    CONSTRAINT webhook_deliveries_state_chk CHECK (delivered_at IS NULL OR failed_at IS NULL)
);

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (run_after, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- New deliveries are announced on userd_webhooks at commit, so a worker
-- waiting for work starts at once instead of at its next poll.
CREATE FUNCTION webhook_deliveries_notify_trg() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted) THEN
        PERFORM pg_notify('userd_webhooks', '');
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER webhook_deliveries_notify_trg AFTER INSERT ON webhook_deliveries
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION webhook_deliveries_notify_trg();

-- migrate:down
DROP TRIGGER webhook_deliveries_notify_trg ON webhook_deliveries;
DROP FUNCTION webhook_deliveries_notify_trg();
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
