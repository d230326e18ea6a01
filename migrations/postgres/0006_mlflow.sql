-- Provenance as MLflow clients record it: the model's source URI, the run
-- that produced it and a link to that run. Searchable by run id.
ALTER TABLE model_versions ADD COLUMN source_uri TEXT;
ALTER TABLE model_versions ADD COLUMN run_id TEXT;
ALTER TABLE model_versions ADD COLUMN run_link TEXT;
CREATE INDEX model_versions_run ON model_versions(run_id);
-- MLflow's latest_versions: the highest number per model and stage.
CREATE INDEX model_versions_model_stage_seq ON model_versions(model_id, stage, seq);
-- MLflow search compares and orders names byte by byte ("C"), so a LIKE
-- prefix is a range of this index and the ORDER BY walks it.
CREATE INDEX models_name_c ON models ((name COLLATE "C"));
