//! A version's release content, read back from its rows so the digest can
//! be computed (or recomputed, to check the stored one) in any transaction.

use std::collections::HashMap;

use sqlx::{AnyConnection, AnyPool};

use super::{
    sql::{Sql, Value, MAX_IN_LIST},
    versions::{VersionRow, COLUMNS},
};
use crate::domain::{catalog::Lineage, ContentArtifact, ReleaseContent};

/// Adds the content-bearing lineage fields. `run_link` is a link for people,
/// not provenance, so it stays out.
pub fn add_lineage(content: &mut ReleaseContent, l: &Lineage) {
    content
        .lineage_text("commit_sha", l.commit_sha.as_deref())
        .lineage_text("dataset_hash", l.dataset_hash.as_deref())
        .lineage_text("dataset_name", l.dataset_name.as_deref())
        .lineage_text("dataset_uri", l.dataset_uri.as_deref())
        .lineage_text("dataset_version", l.dataset_version.as_deref())
        .lineage_text("dependencies", l.dependencies.as_deref())
        .lineage_text("framework", l.framework.as_deref())
        .lineage_text("framework_version", l.framework_version.as_deref())
        .lineage_id("parent_version_id", l.parent_version_id)
        .lineage_text("run_id", l.run_id.as_deref())
        .lineage_text("source_repo", l.source_repo.as_deref())
        .lineage_text("source_uri", l.source_uri.as_deref())
        .lineage_text("training_script", l.training_script.as_deref());
}

fn id_list(sql: &mut Sql, ids: &[i64]) {
    sql.push_in(ids.iter().map(|id| Value::Int(*id)));
}

type ArtifactContentRow = (i64, String, Option<i64>, Option<String>, Option<String>);

/// The content of each of `ids` (deleted versions included: their content is
/// evidence too). Five queries per chunk of versions, whatever their size.
pub async fn load(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<HashMap<i64, ReleaseContent>, sqlx::Error> {
    let mut out: HashMap<i64, ReleaseContent> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(MAX_IN_LIST) {
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM model_versions WHERE id IN "
        ));
        id_list(&mut sql, chunk);
        for row in sql.query_as::<VersionRow>()?.fetch_all(&mut *conn).await? {
            let mut content = ReleaseContent::new();
            add_lineage(&mut content, &row.lineage());
            out.insert(row.id, content);
        }

        let mut sql = Sql::new(
            "SELECT version_id, path, size, sha256, external_uri FROM artifacts \
             WHERE deleted_at IS NULL AND version_id IN ",
        );
        id_list(&mut sql, chunk);
        for (vid, path, size, sha256, uri) in sql
            .query_as::<ArtifactContentRow>()?
            .fetch_all(&mut *conn)
            .await?
        {
            if let Some(c) = out.get_mut(&vid) {
                c.artifact(ContentArtifact {
                    path,
                    sha256,
                    size,
                    uri,
                });
            }
        }

        let mut sql =
            Sql::new("SELECT version_id, key, value FROM version_params WHERE version_id IN ");
        id_list(&mut sql, chunk);
        for (vid, key, value) in sql
            .query_as::<(i64, String, String)>()?
            .fetch_all(&mut *conn)
            .await?
        {
            if let Some(c) = out.get_mut(&vid) {
                c.param(&key, &value);
            }
        }

        let mut sql =
            Sql::new("SELECT version_id, key, value FROM version_metrics WHERE version_id IN ");
        id_list(&mut sql, chunk);
        for (vid, key, value) in sql
            .query_as::<(i64, String, f64)>()?
            .fetch_all(&mut *conn)
            .await?
        {
            if let Some(c) = out.get_mut(&vid) {
                c.metric(&key, value);
            }
        }

        let mut sql = Sql::new(
            "SELECT version_id, key, step, value FROM version_metric_points WHERE version_id IN ",
        );
        id_list(&mut sql, chunk);
        for (vid, key, step, value) in sql
            .query_as::<(i64, String, i64, f64)>()?
            .fetch_all(&mut *conn)
            .await?
        {
            if let Some(c) = out.get_mut(&vid) {
                c.point(&key, step, value);
            }
        }
    }
    Ok(out)
}

pub async fn set_digest(
    conn: &mut AnyConnection,
    version_id: i64,
    digest: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE model_versions SET content_digest = $1 WHERE id = $2")
        .bind(digest)
        .bind(version_id)
        .execute(conn)
        .await
        .map(drop)
}

/// Versions recorded before digests were kept (a database from an older
/// release), a batch at a time.
pub async fn without_digest(pool: &AnyPool, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM model_versions WHERE content_digest IS NULL ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}
