-- Catalog: registered models, semver versions with lineage, parameters,
-- metrics and tags, and full-text search (FTS5).

CREATE TABLE models (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT    NOT NULL UNIQUE,
    description      TEXT    NOT NULL DEFAULT '',
    team             TEXT    NOT NULL DEFAULT '',
    headline_metric  TEXT,
    created_by       TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    deleted_at       INTEGER,
    -- The last sequence number handed out; never decreases, so numbers are never reused.
    last_seq         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX models_updated ON models(updated_at);
CREATE INDEX models_team ON models(team, name);

-- Old names keep working after a rename (links redirect).
CREATE TABLE model_renames (
    old_name    TEXT    PRIMARY KEY,
    model_id    INTEGER NOT NULL REFERENCES models(id),
    renamed_at  INTEGER NOT NULL
);

CREATE TABLE model_tags (
    model_id  INTEGER NOT NULL REFERENCES models(id),
    key       TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    PRIMARY KEY (model_id, key)
);
CREATE INDEX model_tags_kv ON model_tags(key, value);

CREATE TABLE model_versions (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id           INTEGER NOT NULL REFERENCES models(id),
    seq                INTEGER NOT NULL,
    version            TEXT    NOT NULL,
    version_key        TEXT    NOT NULL,
    sort_key           TEXT    NOT NULL,
    stage              TEXT    NOT NULL DEFAULT 'experimental',
    status             TEXT    NOT NULL DEFAULT 'ready',
    description        TEXT    NOT NULL DEFAULT '',
    created_by         TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    deleted_at         INTEGER,
    source_repo        TEXT,
    commit_sha         TEXT,
    training_script    TEXT,
    dataset_name       TEXT,
    dataset_version    TEXT,
    dataset_uri        TEXT,
    dataset_hash       TEXT,
    parent_version_id  INTEGER REFERENCES model_versions(id),
    framework          TEXT,
    framework_version  TEXT,
    dependencies       TEXT,
    UNIQUE (model_id, seq),
    UNIQUE (model_id, version_key)
);
CREATE INDEX model_versions_model_sort ON model_versions(model_id, sort_key);
CREATE INDEX model_versions_stage ON model_versions(stage, model_id);
CREATE INDEX model_versions_framework ON model_versions(framework, model_id);
CREATE INDEX model_versions_parent ON model_versions(parent_version_id);

CREATE TABLE version_tags (
    version_id  INTEGER NOT NULL REFERENCES model_versions(id),
    key         TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    PRIMARY KEY (version_id, key)
);

CREATE TABLE version_params (
    version_id  INTEGER NOT NULL REFERENCES model_versions(id),
    key         TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    PRIMARY KEY (version_id, key)
);

CREATE TABLE version_metrics (
    version_id  INTEGER NOT NULL REFERENCES model_versions(id),
    key         TEXT    NOT NULL,
    value       REAL    NOT NULL,
    PRIMARY KEY (version_id, key)
);

CREATE TABLE version_metric_points (
    version_id  INTEGER NOT NULL REFERENCES model_versions(id),
    key         TEXT    NOT NULL,
    step        INTEGER NOT NULL,
    value       REAL    NOT NULL,
    PRIMARY KEY (version_id, key, step)
);

-- Search index over name, description, team and tags; rowid = models.id.
-- Maintained by the application in the same transaction as each change.
CREATE VIRTUAL TABLE models_fts USING fts5(
    name, description, team, tags,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3 4'
);
