-- Hostile clients and faults: shared sign-in throttle counters, token
-- scopes, and verified audit-chain checkpoints.

-- One row per throttle key (`pair:<account>|<client>`, `client:<addr>`,
-- `account:<name>`), shared by every app server; expired rows are swept.
CREATE TABLE sign_in_throttle (
    key              TEXT    PRIMARY KEY,
    count            INTEGER NOT NULL,
    window_start     INTEGER NOT NULL,
    next_allowed_at  INTEGER NOT NULL,
    refusal_logged   INTEGER NOT NULL
);

-- What a token may do: read ⊂ deploy ⊂ write ⊂ admin. Tokens made before
-- scopes existed could change the catalog, not administer it.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'write';

-- Audit-chain checkpoints: "events 1..=last_id verified, and last_id's hash
-- was this". Verification resumes from the newest one.
CREATE TABLE audit_checkpoints (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    last_id      INTEGER NOT NULL,
    last_hash    TEXT    NOT NULL,
    events       INTEGER NOT NULL,
    verified_at  INTEGER NOT NULL,
    -- 'incremental' (from the previous checkpoint) or 'full' (from genesis).
    kind         TEXT    NOT NULL
);
CREATE INDEX audit_checkpoints_last ON audit_checkpoints(last_id);

-- Full re-verifications of the chain, run in the background: progress is
-- here so any server can answer "how far is it?".
CREATE TABLE audit_verify_jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    started_by       TEXT    NOT NULL,
    started_at       INTEGER NOT NULL,
    -- 'running', 'intact', 'broken' or 'failed'.
    state            TEXT    NOT NULL,
    total            INTEGER NOT NULL,
    checked          INTEGER NOT NULL,
    first_broken_id  INTEGER,
    finished_at      INTEGER
);

-- Multipart uploads started in the artifact store and not yet completed:
-- a server killed mid-upload never aborts its own, so the sweeper does
-- (this works on S3-compatible servers without ListMultipartUploads too).
CREATE TABLE pending_uploads (
    store_key   TEXT    NOT NULL,
    upload_id   TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    PRIMARY KEY (store_key, upload_id)
);
