-- A tag filter that few models match is read from the tag index first
-- (see `repo::tags::models_tagged`): the index now holds the model id too,
-- so that read never visits the table.
DROP INDEX model_tags_kv;
CREATE INDEX model_tags_kv ON model_tags(key, value, model_id);
