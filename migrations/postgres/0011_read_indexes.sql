-- A tag filter that few models match is read from the tag index first
-- (see `repo::tags::models_tagged`): the index now holds the model id too,
-- so that read never visits the table.
DROP INDEX model_tags_kv;
CREATE INDEX model_tags_kv ON model_tags(key, value, model_id);

-- The newest live version of a model in each stage is one seek per stage
-- (searches show it for every model of a page), and a model's live
-- versions per stage are counted from the index alone.
CREATE INDEX model_versions_live_stage ON model_versions(model_id, stage, seq)
    WHERE deleted_at IS NULL;
