-- Artifacts: the files of a version (uploaded to the artifact store) or
-- links to files that live elsewhere. A path is never reused in a version:
-- deletion is soft, so (version_id, path) stays unique forever.
CREATE TABLE artifacts (
    id            BIGSERIAL PRIMARY KEY,
    version_id    BIGINT NOT NULL REFERENCES model_versions(id),
    path          TEXT   NOT NULL,
    size          BIGINT,
    sha256        TEXT,
    media_type    TEXT   NOT NULL,
    format        TEXT   NOT NULL,
    storage_key   TEXT,
    external_uri  TEXT,
    created_by    TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    deleted_at    BIGINT,
    UNIQUE (version_id, path)
);
CREATE INDEX artifacts_sha256 ON artifacts(sha256);
