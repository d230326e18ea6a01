-- Promotion workflow: approval policies, transition requests with their
-- sign-offs, the stage history of every version, and aliases.

-- The registry-wide policy (model_id 0) and per-model overrides, as JSON
-- checked by the domain layer on the way in and out.
CREATE TABLE approval_policies (
    model_id    INTEGER PRIMARY KEY,
    policy      TEXT    NOT NULL,
    updated_by  TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE transition_requests (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id            INTEGER NOT NULL REFERENCES models(id),
    version_id          INTEGER NOT NULL REFERENCES model_versions(id),
    from_stage          TEXT    NOT NULL,
    to_stage            TEXT    NOT NULL,
    state               TEXT    NOT NULL DEFAULT 'pending',
    justification       TEXT    NOT NULL,
    -- Frozen from the policy when opened, so editing the policy never
    -- changes the rules of a review already under way.
    required            INTEGER NOT NULL,
    requested_by        INTEGER NOT NULL REFERENCES users(id),
    requested_by_name   TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    closed_at           INTEGER,
    closed_by_name      TEXT,
    close_note          TEXT
);
-- At most one open request per version: a second one would review a move
-- the first may already have made moot.
CREATE UNIQUE INDEX transition_requests_one_open ON transition_requests(version_id) WHERE state = 'pending';
CREATE INDEX transition_requests_state ON transition_requests(state, created_at);
CREATE INDEX transition_requests_model ON transition_requests(model_id, created_at);
CREATE INDEX transition_requests_requester ON transition_requests(requested_by, created_at);

-- One verdict per reviewer per request, enforced here as well as in code.
CREATE TABLE request_reviews (
    request_id     INTEGER NOT NULL REFERENCES transition_requests(id),
    reviewer_id    INTEGER NOT NULL REFERENCES users(id),
    reviewer_name  TEXT    NOT NULL,
    decision       TEXT    NOT NULL,
    comment        TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (request_id, reviewer_id)
);

CREATE TABLE stage_history (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id   INTEGER NOT NULL REFERENCES model_versions(id),
    from_stage   TEXT,
    to_stage     TEXT    NOT NULL,
    request_id   INTEGER REFERENCES transition_requests(id),
    changed_by   TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    changed_at   INTEGER NOT NULL
);
CREATE INDEX stage_history_version ON stage_history(version_id, id);

-- At most one live version of a model in production, whatever the code does.
CREATE UNIQUE INDEX model_versions_one_production ON model_versions(model_id)
    WHERE stage = 'production' AND deleted_at IS NULL;

CREATE TABLE model_aliases (
    model_id    INTEGER NOT NULL REFERENCES models(id),
    alias       TEXT    NOT NULL,
    version_id  INTEGER NOT NULL REFERENCES model_versions(id),
    updated_by  TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (model_id, alias)
);
CREATE INDEX model_aliases_version ON model_aliases(version_id);
