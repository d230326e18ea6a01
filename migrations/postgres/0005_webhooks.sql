-- Webhooks: endpoints that admins register, and an outbox of deliveries the
-- worker sends (at least once). Deliveries are written in the same
-- transaction as the change they announce, so none is lost or invented.
CREATE TABLE webhooks (
    id           BIGSERIAL PRIMARY KEY,
    url          TEXT    NOT NULL,
    -- Kept readable: every delivery is signed with it.
    secret       TEXT    NOT NULL,
    -- Comma-separated event types, e.g. 'version.registered,stage.changed'.
    events       TEXT    NOT NULL,
    active       BIGINT  NOT NULL DEFAULT 1,
    description  TEXT    NOT NULL DEFAULT '',
    created_by   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);

CREATE TABLE webhook_deliveries (
    id               BIGSERIAL PRIMARY KEY,
    webhook_id       BIGINT  NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_type       TEXT    NOT NULL,
    delivery_uuid    TEXT    NOT NULL UNIQUE,
    -- The exact JSON body sent (and signed).
    payload          TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('pending','delivered','failed')),
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    locked_until     BIGINT,
    last_status      BIGINT,
    last_error       TEXT,
    created_at       BIGINT  NOT NULL,
    delivered_at     BIGINT
);
-- The worker's claim: pending and due.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
-- An endpoint's delivery log, newest first.
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, id);
