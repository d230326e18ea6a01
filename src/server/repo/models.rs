//! Registered models: rows, tags, renames and the search index.

use std::collections::BTreeMap;

use sqlx::{any::AnyRow, AnyConnection, AnyPool, FromRow, Row};

use crate::{domain::catalog::ModelAbout, server::db::Backend};

#[derive(Debug, Clone, FromRow)]
pub struct ModelRow {
    pub id: i64,
    pub name: String,
    #[sqlx(flatten)]
    pub about: ModelAbout,
    pub headline_metric: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The columns of [`ModelAbout`]: a model's editable fields.
macro_rules! about_columns {
    () => {
        "description, team"
    };
}
const ABOUT_COLUMNS: &str = about_columns!();

impl FromRow<'_, AnyRow> for ModelAbout {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            description: row.try_get("description")?,
            team: row.try_get("team")?,
        })
    }
}

const COLUMNS: &str = concat!(
    "id, name, ",
    about_columns!(),
    ", headline_metric, created_by, created_at, updated_at"
);

pub async fn insert(
    conn: &mut AnyConnection,
    name: &str,
    about: &ModelAbout,
    created_by: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "INSERT INTO models (name, {ABOUT_COLUMNS}, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id"
    ))
    .bind(name)
    .bind(&about.description)
    .bind(&about.team)
    .bind(created_by)
    .bind(now)
    .fetch_one(conn)
    .await
}

pub async fn find_by_name(pool: &AnyPool, name: &str) -> Result<Option<ModelRow>, sqlx::Error> {
    sqlx::query_as::<_, ModelRow>(&format!(
        "SELECT {COLUMNS} FROM models WHERE name = $1 AND deleted_at IS NULL"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await
}

/// A live model by name, read inside a transaction.
pub async fn find_by_name_in(
    conn: &mut AnyConnection,
    name: &str,
) -> Result<Option<ModelRow>, sqlx::Error> {
    sqlx::query_as::<_, ModelRow>(&format!(
        "SELECT {COLUMNS} FROM models WHERE name = $1 AND deleted_at IS NULL"
    ))
    .bind(name)
    .fetch_optional(conn)
    .await
}

/// The same inside a write transaction; on Postgres the row is locked, so
/// concurrent writers to one model queue up.
pub async fn lock_by_name(
    conn: &mut AnyConnection,
    backend: Backend,
    name: &str,
) -> Result<Option<ModelRow>, sqlx::Error> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    sqlx::query_as::<_, ModelRow>(&format!(
        "SELECT {COLUMNS} FROM models WHERE name = $1 AND deleted_at IS NULL{lock}"
    ))
    .bind(name)
    .fetch_optional(conn)
    .await
}

pub async fn find_by_id(pool: &AnyPool, id: i64) -> Result<Option<ModelRow>, sqlx::Error> {
    sqlx::query_as::<_, ModelRow>(&format!("SELECT {COLUMNS} FROM models WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The current name of a model that was once called `old_name`.
pub async fn renamed_to(pool: &AnyPool, old_name: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT m.name FROM model_renames r JOIN models m ON m.id = r.model_id \
         WHERE r.old_name = $1 AND m.deleted_at IS NULL",
    )
    .bind(old_name)
    .fetch_optional(pool)
    .await
}

/// Writes a model's editable fields and its headline metric.
pub async fn update(
    conn: &mut AnyConnection,
    id: i64,
    about: &ModelAbout,
    headline_metric: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE models SET description = $1, team = $2, headline_metric = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(&about.description)
    .bind(&about.team)
    .bind(headline_metric)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn rename(
    conn: &mut AnyConnection,
    id: i64,
    old: &str,
    new: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE models SET name = $1, updated_at = $2 WHERE id = $3")
        .bind(new)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    // The new name is live again if it was someone's old name.
    sqlx::query("DELETE FROM model_renames WHERE old_name = $1")
        .bind(new)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO model_renames (old_name, model_id, renamed_at) VALUES ($1, $2, $3) \
         ON CONFLICT (old_name) DO UPDATE SET model_id = excluded.model_id, renamed_at = excluded.renamed_at",
    )
    .bind(old)
    .bind(id)
    .bind(now)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn touch(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE models SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

/// Hands out the next sequence number (1, 2, 3 …; never reused).
/// A model about to get a new version: its row, the version number it
/// takes, and its highest version so far by semver precedence (deleted ones
/// included, so a bump never reuses one).
#[derive(Debug, FromRow)]
pub struct NextVersion {
    #[sqlx(flatten)]
    pub model: ModelRow,
    pub seq: i64,
    pub highest: Option<String>,
}

/// Takes the next version number of a live model, inside the write
/// transaction. The UPDATE locks the row on Postgres, so concurrent
/// registrations on one model queue here ("next patch" never collides).
/// On SQLite (one writer) the highest version comes in the same statement;
/// on Postgres it must be a second statement: a statement that waited for
/// the row lock still reads with the snapshot it started with, without the
/// version the previous holder just committed.
pub async fn take_next_version(
    conn: &mut AnyConnection,
    backend: Backend,
    name: &str,
    now: i64,
) -> Result<Option<NextVersion>, sqlx::Error> {
    let highest = "(SELECT v.version FROM model_versions v WHERE v.model_id = models.id \
                   ORDER BY v.sort_key DESC LIMIT 1)";
    let highest = match backend {
        Backend::Sqlite => highest,
        Backend::Postgres => "CAST(NULL AS TEXT)",
    };
    let next = sqlx::query_as::<_, NextVersion>(&format!(
        "UPDATE models SET last_seq = last_seq + 1, updated_at = $1 \
         WHERE name = $2 AND deleted_at IS NULL \
         RETURNING {COLUMNS}, last_seq AS seq, {highest} AS highest"
    ))
    .bind(now)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    match next {
        Some(mut next) if backend == Backend::Postgres => {
            next.highest = super::versions::highest_version(conn, next.model.id).await?;
            Ok(Some(next))
        }
        next => Ok(next),
    }
}

/// Takes a given number (an import keeps MLflow's): later numbers continue
/// above the highest taken. A number already used fails on insert.
pub async fn claim_seq(
    conn: &mut AnyConnection,
    id: i64,
    seq: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "UPDATE models SET last_seq = CASE WHEN last_seq < $1 THEN $1 ELSE last_seq END, \
         updated_at = $2 WHERE id = $3",
    )
    .bind(seq)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(seq)
}

pub async fn tags(pool: &AnyPool, model_id: i64) -> Result<BTreeMap<String, String>, sqlx::Error> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT key, value FROM model_tags WHERE model_id = $1")
            .bind(model_id)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}

pub async fn replace_tags(
    conn: &mut AnyConnection,
    model_id: i64,
    tags: &BTreeMap<String, String>,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM model_tags WHERE model_id = $1")
        .bind(model_id)
        .execute(&mut *conn)
        .await?;
    for (k, v) in tags {
        sqlx::query("INSERT INTO model_tags (model_id, key, value) VALUES ($1, $2, $3)")
            .bind(model_id)
            .bind(k)
            .bind(v)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Rewrites the model's entry in the search index from its current row and tags.
pub async fn reindex(
    conn: &mut AnyConnection,
    backend: Backend,
    model_id: i64,
) -> Result<(), sqlx::Error> {
    let (name, description, team): (String, String, String) =
        sqlx::query_as("SELECT name, description, team FROM models WHERE id = $1")
            .bind(model_id)
            .fetch_one(&mut *conn)
            .await?;
    let tags: Vec<(String, String)> =
        sqlx::query_as("SELECT key, value FROM model_tags WHERE model_id = $1")
            .bind(model_id)
            .fetch_all(&mut *conn)
            .await?;
    let tags_text = tags
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(" ");
    // "fraud-detector_v2" is also searchable as "fraud", "detector", "v2".
    let name_words = format!("{name} {}", name.replace(['-', '_', '.'], " "));
    match backend {
        Backend::Sqlite => {
            sqlx::query("DELETE FROM models_fts WHERE rowid = $1")
                .bind(model_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("INSERT INTO models_fts (rowid, name, description, team, tags) VALUES ($1, $2, $3, $4, $5)")
                .bind(model_id)
                .bind(name_words)
                .bind(description)
                .bind(team)
                .bind(tags_text)
                .execute(conn)
                .await
                .map(drop)
        }
        Backend::Postgres => sqlx::query(
            "UPDATE models SET search = setweight(to_tsvector('simple', $1), 'A') \
             || setweight(to_tsvector('simple', $2), 'B') \
             || setweight(to_tsvector('simple', $3), 'C') WHERE id = $4",
        )
        .bind(name_words)
        .bind(format!("{team} {tags_text}"))
        .bind(description)
        .bind(model_id)
        .execute(conn)
        .await
        .map(drop),
    }
}

/// Soft-deletes a model and its versions. Its name is freed (the row keeps
/// a tombstone name no valid model name can take) and its aliases go.
pub async fn soft_delete(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE model_versions SET deleted_at = $1 WHERE model_id = $2 AND deleted_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM model_aliases WHERE model_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM model_renames WHERE model_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE models SET deleted_at = $1, updated_at = $1, name = name || '~deleted~' || CAST(id AS TEXT) \
         WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(conn)
    .await
    .map(drop)
}

/// What a model's page shows besides its row: tags, the metric keys its
/// versions use, the metric chosen for the chart and each live version
/// with its value of that metric, newest first.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ModelParts {
    pub tags: BTreeMap<String, String>,
    pub metric_keys: Vec<String>,
    pub headline_key: Option<String>,
    pub versions: Vec<VersionLine>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct VersionLine {
    pub version: String,
    pub seq: i64,
    pub stage: crate::domain::Stage,
    pub status: crate::domain::catalog::VersionStatus,
    pub created_at: i64,
    pub created_by: String,
    /// Sent as text with every digit (`%.17g`, Postgres' shortest exact
    /// form): a JSON number from SQLite keeps only 15.
    #[serde(deserialize_with = "exact_number")]
    pub headline: Option<f64>,
}

fn exact_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let text: Option<String> = serde::Deserialize::deserialize(d)?;
    text.map(|t| t.parse().map_err(serde::de::Error::custom))
        .transpose()
}

/// `ModelParts` in one statement and one row (see `json.rs`). The chart
/// metric is `wanted` when a version has it, else the model's headline
/// metric, else the first key.
pub async fn parts(
    pool: &AnyPool,
    backend: Backend,
    model: &ModelRow,
    wanted: Option<&str>,
) -> Result<ModelParts, sqlx::Error> {
    use super::{
        json,
        sql::{Sql, Value},
    };
    let b = backend;
    let mut sql = Sql::new("");
    let id = sql.param(Value::Int(model.id));
    let wanted = sql.param(Value::Text(wanted.unwrap_or_default().to_owned()));
    let fallback = sql.param(Value::Text(
        model.headline_metric.clone().unwrap_or_default(),
    ));
    let live_metrics = format!(
        "version_metrics vm JOIN model_versions lv ON lv.id = vm.version_id \
         WHERE lv.model_id = {id} AND lv.deleted_at IS NULL"
    );
    let key = format!(
        "COALESCE((SELECT MIN(vm.key) FROM {live_metrics} AND vm.key = {wanted}), \
         NULLIF({fallback}, ''), (SELECT MIN(vm.key) FROM {live_metrics}))"
    );
    let digits = match b {
        Backend::Sqlite => "printf('%.17g', hv.value)",
        Backend::Postgres => "hv.value::text",
    };
    let version = json::object(
        b,
        &[
            ("version", "v.version"),
            ("seq", "v.seq"),
            ("stage", "v.stage"),
            ("status", "v.status"),
            ("created_at", "v.created_at"),
            ("created_by", "v.created_by"),
            (
                "headline",
                &format!(
                    "(SELECT {digits} FROM version_metrics hv, k WHERE hv.version_id = v.id AND hv.key = k.key)"
                ),
            ),
        ],
    );
    let tags = match b {
        Backend::Sqlite => format!(
            "(SELECT json_group_object(t.key, t.value) FROM model_tags t WHERE t.model_id = {id})"
        ),
        Backend::Postgres => format!(
            "(SELECT COALESCE(json_object_agg(t.key, t.value), '{{}}'::json) FROM model_tags t WHERE t.model_id = {id})"
        ),
    };
    let keys = json::list(
        b,
        "mk.key",
        &format!("(SELECT DISTINCT vm.key FROM {live_metrics}) mk"),
        "mk.key",
    );
    let versions = json::list(
        b,
        &version,
        &format!("model_versions v WHERE v.model_id = {id} AND v.deleted_at IS NULL"),
        "v.sort_key DESC",
    );
    let whole = json::object(
        b,
        &[
            ("tags", &tags),
            ("metric_keys", &keys),
            ("headline_key", "(SELECT key FROM k)"),
            ("versions", &versions),
        ],
    );
    sql.push(&format!(
        "WITH k AS (SELECT {key} AS key) SELECT {whole}{}",
        json::text_cast(b)
    ));
    json::fetch(pool, sql).await
}
