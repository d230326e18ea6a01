-- MLflow tracking, only as much as logging and registering a model needs:
-- experiments, runs (params, tags, metric points, the models they output),
-- MLflow 3 logged models, and the files both hold until a version is
-- registered from them. A registered version keeps its own copy of the
-- numbers and its own artifact rows; these tables are the staging area.

CREATE TABLE mlflow_experiments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
-- MLflow's default experiment, which clients use when none is set.
INSERT INTO mlflow_experiments (id, name, created_by, created_at) VALUES (0, 'Default', 'system', 0);

CREATE TABLE mlflow_runs (
    run_id         TEXT    PRIMARY KEY,
    experiment_id  INTEGER NOT NULL REFERENCES mlflow_experiments(id),
    name           TEXT    NOT NULL,
    -- The authenticated caller, never the client's claim (that is the
    -- `mlflow.user` tag).
    created_by     TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    start_time     INTEGER NOT NULL,
    end_time       INTEGER
);

CREATE TABLE mlflow_run_params (
    run_id  TEXT NOT NULL REFERENCES mlflow_runs(run_id),
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE mlflow_run_tags (
    run_id  TEXT NOT NULL REFERENCES mlflow_runs(run_id),
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

-- A point logged twice (MLflow 3 re-logs a run's metrics for its model)
-- is kept once.
CREATE TABLE mlflow_run_metrics (
    run_id     TEXT    NOT NULL REFERENCES mlflow_runs(run_id),
    key        TEXT    NOT NULL,
    value      REAL    NOT NULL,
    timestamp  INTEGER NOT NULL,
    step       INTEGER NOT NULL,
    PRIMARY KEY (run_id, key, step, timestamp, value)
);

CREATE TABLE mlflow_logged_models (
    model_id       TEXT    PRIMARY KEY,
    experiment_id  INTEGER NOT NULL REFERENCES mlflow_experiments(id),
    name           TEXT    NOT NULL,
    source_run_id  TEXT    REFERENCES mlflow_runs(run_id),
    model_type     TEXT,
    status         TEXT    NOT NULL,
    created_by     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX mlflow_logged_models_name ON mlflow_logged_models(experiment_id, name);

CREATE TABLE mlflow_logged_model_entries (
    model_id  TEXT NOT NULL REFERENCES mlflow_logged_models(model_id),
    -- 'param' or 'tag'.
    kind      TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (model_id, kind, key)
);

CREATE TABLE mlflow_run_outputs (
    run_id    TEXT    NOT NULL REFERENCES mlflow_runs(run_id),
    model_id  TEXT    NOT NULL REFERENCES mlflow_logged_models(model_id),
    step      INTEGER NOT NULL,
    PRIMARY KEY (run_id, model_id)
);

-- Files of a run or logged model. A version registered from them records
-- the same storage keys (objects are never overwritten), so an object is
-- removed only when no row of either table refers to it any more.
CREATE TABLE tracking_files (
    owner_kind   TEXT    NOT NULL,
    owner_id     TEXT    NOT NULL,
    path         TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    storage_key  TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, path)
);
CREATE INDEX tracking_files_key ON tracking_files(storage_key);
CREATE INDEX artifacts_storage_key ON artifacts(storage_key);
