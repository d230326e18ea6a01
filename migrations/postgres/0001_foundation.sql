-- Foundation: users, API tokens, sessions and the audit trail.
-- Times are milliseconds since the Unix epoch (UTC); booleans are 0/1 integers,
-- so the same SQL and row types serve SQLite and Postgres.

CREATE TABLE users (
    id                  BIGSERIAL PRIMARY KEY,
    username            TEXT   NOT NULL UNIQUE,
    password_hash       TEXT   NOT NULL,
    role                TEXT   NOT NULL CHECK (role IN ('viewer','contributor','approver','auditor','admin')),
    active              BIGINT NOT NULL DEFAULT 1,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users(id),
    name          TEXT   NOT NULL,
    token_hash    TEXT   NOT NULL UNIQUE,
    prefix        TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE sessions (
    id           TEXT   PRIMARY KEY,
    user_id      BIGINT,
    data         TEXT   NOT NULL,
    expiry_date  BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expiry_date);

CREATE TABLE audit_events (
    id             BIGSERIAL PRIMARY KEY,
    at             BIGINT NOT NULL,
    actor_user_id  BIGINT,
    actor_username TEXT,
    actor_token_id BIGINT,
    action         TEXT   NOT NULL,
    target_type    TEXT   NOT NULL,
    target_id      TEXT   NOT NULL,
    details        TEXT   NOT NULL,
    client_addr    TEXT,
    request_id     TEXT,
    prev_hash      TEXT   NOT NULL,
    hash           TEXT   NOT NULL
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_actor ON audit_events(actor_username, at);
CREATE INDEX audit_events_action ON audit_events(action, at);
CREATE INDEX audit_events_target ON audit_events(target_type, target_id, at);

-- The audit trail is append-only: the database itself refuses changes.
CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
