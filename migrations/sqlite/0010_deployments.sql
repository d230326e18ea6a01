-- Which version made a decision: the environments versions run in, what
-- each reported serving and when (the deployment timeline), and the signed
-- release receipts the registry issued. Signing keys never live here: the
-- private key is a file, and verifiers use the published public keys.

CREATE TABLE environments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL UNIQUE,
    -- The stage a version must be in to run here (a report of any other
    -- version is recorded and flagged as a violation).
    required_stage  TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    created_by      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);

-- Append-only: one row per report "environment E serves version V of
-- model M since `at`" (state 'serving') or "stopped serving M at `at`"
-- ('stopped'). For one environment and model, reports arrive in time order
-- (a report older than the newest one is refused), so a span runs from a
-- report to the next one of the same environment and model.
CREATE TABLE deployments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id  INTEGER NOT NULL REFERENCES environments(id),
    model_id        INTEGER NOT NULL REFERENCES models(id),
    version_id      INTEGER NOT NULL REFERENCES model_versions(id),
    state           TEXT    NOT NULL,
    at              INTEGER NOT NULL,
    -- The version's stage at `at`, and what was wrong with it (NULL: nothing).
    stage           TEXT    NOT NULL,
    violation       TEXT,
    content_digest  TEXT,
    receipt_id      TEXT,
    reported_by     TEXT    NOT NULL,
    reported_at     INTEGER NOT NULL
);
CREATE INDEX deployments_timeline ON deployments(environment_id, model_id, at, id);
CREATE INDEX deployments_version ON deployments(version_id);

-- Every receipt issued: the exact signed envelope, so one presented later
-- can be compared byte for byte, and looked up by id.
CREATE TABLE release_receipts (
    id          TEXT    PRIMARY KEY,
    version_id  INTEGER NOT NULL REFERENCES model_versions(id),
    key_id      TEXT    NOT NULL,
    envelope    TEXT    NOT NULL,
    issued_by   TEXT    NOT NULL,
    issued_at   INTEGER NOT NULL
);
CREATE INDEX release_receipts_version ON release_receipts(version_id);

CREATE INDEX model_versions_dataset_hash ON model_versions(dataset_hash) WHERE dataset_hash IS NOT NULL;
