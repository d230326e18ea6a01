-- Catalog: registered models, semver versions with lineage, parameters,
-- metrics and tags, and full-text search (tsvector + GIN).

CREATE TABLE models (
    id               BIGSERIAL PRIMARY KEY,
    name             TEXT   NOT NULL UNIQUE,
    description      TEXT   NOT NULL DEFAULT '',
    team             TEXT   NOT NULL DEFAULT '',
    headline_metric  TEXT,
    created_by       TEXT   NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    deleted_at       BIGINT,
    last_seq         BIGINT NOT NULL DEFAULT 0,
    -- Maintained by the application in the same transaction as each change.
    search           TSVECTOR NOT NULL DEFAULT ''::tsvector
);
CREATE INDEX models_updated ON models(updated_at);
CREATE INDEX models_team ON models(team, name);
CREATE INDEX models_search ON models USING GIN (search);
CREATE INDEX models_name_prefix ON models(name text_pattern_ops);

CREATE TABLE model_renames (
    old_name    TEXT   PRIMARY KEY,
    model_id    BIGINT NOT NULL REFERENCES models(id),
    renamed_at  BIGINT NOT NULL
);

CREATE TABLE model_tags (
    model_id  BIGINT NOT NULL REFERENCES models(id),
    key       TEXT   NOT NULL,
    value     TEXT   NOT NULL,
    PRIMARY KEY (model_id, key)
);
CREATE INDEX model_tags_kv ON model_tags(key, value);

CREATE TABLE model_versions (
    id                 BIGSERIAL PRIMARY KEY,
    model_id           BIGINT NOT NULL REFERENCES models(id),
    seq                BIGINT NOT NULL,
    version            TEXT   NOT NULL,
    version_key        TEXT   NOT NULL,
    sort_key           TEXT   COLLATE "C" NOT NULL,
    stage              TEXT   NOT NULL DEFAULT 'experimental',
    status             TEXT   NOT NULL DEFAULT 'ready',
    description        TEXT   NOT NULL DEFAULT '',
    created_by         TEXT   NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    deleted_at         BIGINT,
    source_repo        TEXT,
    commit_sha         TEXT,
    training_script    TEXT,
    dataset_name       TEXT,
    dataset_version    TEXT,
    dataset_uri        TEXT,
    dataset_hash       TEXT,
    parent_version_id  BIGINT REFERENCES model_versions(id),
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
    version_id  BIGINT NOT NULL REFERENCES model_versions(id),
    key         TEXT   NOT NULL,
    value       TEXT   NOT NULL,
    PRIMARY KEY (version_id, key)
);

CREATE TABLE version_params (
    version_id  BIGINT NOT NULL REFERENCES model_versions(id),
    key         TEXT   NOT NULL,
    value       TEXT   NOT NULL,
    PRIMARY KEY (version_id, key)
);

CREATE TABLE version_metrics (
    version_id  BIGINT NOT NULL REFERENCES model_versions(id),
    key         TEXT   NOT NULL,
    value       DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (version_id, key)
);

CREATE TABLE version_metric_points (
    version_id  BIGINT NOT NULL REFERENCES model_versions(id),
    key         TEXT   NOT NULL,
    step        BIGINT NOT NULL,
    value       DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (version_id, key, step)
);
