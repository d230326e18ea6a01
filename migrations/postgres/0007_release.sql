-- What was approved is what ships: each version's content digest, requests
-- that move aliases as well as stages, the digest every request and sign-off
-- was given on, and evaluations measured after a version was frozen.

-- SHA-256 over the version's canonical content (files, lineage, parameters,
-- training metrics); kept current in the same transaction as each change.
ALTER TABLE model_versions ADD COLUMN content_digest TEXT;
-- Versions still without a digest (from before this release), filled in at
-- start-up; once done the index is empty and the check costs nothing.
CREATE INDEX model_versions_no_digest ON model_versions(id) WHERE content_digest IS NULL;

-- kind: 'stage' (from_stage -> to_stage), 'alias.set' (point `alias` at
-- version_id) or 'alias.remove' (remove `alias`, which points at version_id).
-- For alias requests from_stage = to_stage = the version's stage when opened,
-- so a stage change meanwhile makes the request moot, as for stage requests.
ALTER TABLE transition_requests ADD COLUMN kind TEXT NOT NULL DEFAULT 'stage';
ALTER TABLE transition_requests ADD COLUMN alias TEXT;
-- The version the alias named when the request was opened (NULL: none).
ALTER TABLE transition_requests ADD COLUMN alias_previous TEXT;
ALTER TABLE transition_requests ADD COLUMN content_digest TEXT;
DROP INDEX transition_requests_one_open;
CREATE UNIQUE INDEX transition_requests_one_open ON transition_requests(version_id)
    WHERE state = 'pending' AND kind = 'stage';
CREATE UNIQUE INDEX transition_requests_one_open_alias ON transition_requests(model_id, alias)
    WHERE state = 'pending' AND kind <> 'stage';
CREATE INDEX transition_requests_version ON transition_requests(version_id, state);

ALTER TABLE request_reviews ADD COLUMN content_digest TEXT;

-- Results measured later (a Staging evaluation, a shadow run): never part of
-- the content, each tied to the digest it was measured on.
CREATE TABLE version_evaluations (
    id              BIGSERIAL PRIMARY KEY,
    version_id      BIGINT  NOT NULL REFERENCES model_versions(id),
    name            TEXT    NOT NULL,
    dataset         TEXT,
    -- A JSON object of metric -> value, checked by the domain on the way in.
    metrics         TEXT    NOT NULL,
    notes           TEXT    NOT NULL DEFAULT '',
    content_digest  TEXT    NOT NULL,
    created_by      TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX version_evaluations_version ON version_evaluations(version_id, id);
