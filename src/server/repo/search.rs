//! Catalog search on the database's own index: FTS5 on SQLite, a tsvector
//! with GIN on Postgres. Every filter is an indexed EXISTS; every value is a
//! bound parameter.

use std::collections::{BTreeMap, HashMap};

use sqlx::{AnyPool, FromRow};

use super::sql::{Sql, Value};
use crate::{
    domain::{CatalogQuery, Sort, Stage},
    server::db::Backend,
};

#[derive(Debug, Clone, FromRow)]
pub struct Hit {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub team: String,
    pub updated_at: i64,
}

/// One page of models matching `query`, plus whether another page follows.
pub async fn search(
    pool: &AnyPool,
    backend: Backend,
    query: &CatalogQuery,
) -> Result<(Vec<Hit>, bool), sqlx::Error> {
    let per_page = i64::from(query.per_page);
    let mut hits = statement(backend, query)
        .query_as::<Hit>()?
        .fetch_all(pool)
        .await?;
    let more = hits.len() as i64 > per_page;
    hits.truncate(query.per_page as usize);
    Ok((hits, more))
}

/// The statement `search` runs (one row past the page tells whether another
/// follows); public so the benchmark can print its plan.
pub fn statement(backend: Backend, query: &CatalogQuery) -> Sql {
    let terms = query.terms();
    let text = !terms.is_empty();
    let mut sql = Sql::new("SELECT m.id, m.name, m.description, m.team, m.updated_at FROM ");
    let mut rank = String::new();
    let mut exact_name = String::new();
    if text {
        match backend {
            Backend::Sqlite => {
                // "fraud"* "det"*: every word, each as a prefix (AND).
                let fts: Vec<String> = terms.iter().map(|t| format!("\"{t}\"*")).collect();
                sql.push(
                    "models_fts JOIN models m ON m.id = models_fts.rowid WHERE models_fts MATCH ",
                );
                sql.bind(Value::Text(fts.join(" ")));
                // bm25 is lower-is-better; weights: name, description, team, tags.
                rank = "bm25(models_fts, 10.0, 1.0, 2.0, 4.0)".into();
            }
            Backend::Postgres => {
                let tsquery: Vec<String> = terms.iter().map(|t| format!("{t}:*")).collect();
                sql.push("models m WHERE m.search @@ to_tsquery('simple', ");
                let p = sql.bind(Value::Text(tsquery.join(" & ")));
                sql.push(")");
                rank = format!("-ts_rank(m.search, to_tsquery('simple', {p}))");
            }
        }
        sql.push(" AND ");
        exact_name = terms.join("-");
    } else {
        sql.push("models m WHERE ");
    }
    sql.push("m.deleted_at IS NULL");
    if let Some(team) = &query.team {
        sql.push(" AND m.team = ");
        sql.bind(Value::Text(team.clone()));
    }
    if let Some(stage) = query.stage {
        sql.push(" AND EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.id AND v.deleted_at IS NULL AND v.stage = ");
        sql.bind(Value::Text(stage.as_str().into()));
        sql.push(")");
    }
    if query.has_production {
        sql.push(" AND EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.id AND v.deleted_at IS NULL AND v.stage = 'production')");
    }
    if let Some(framework) = &query.framework {
        sql.push(" AND EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.id AND v.deleted_at IS NULL AND v.framework = ");
        sql.bind(Value::Text(framework.clone()));
        sql.push(")");
    }
    if let Some(hash) = &query.dataset {
        // Trained on it directly, or through any chain of parent versions.
        sql.push(
            " AND m.id IN (WITH RECURSIVE trained(id) AS (SELECT id FROM model_versions WHERE dataset_hash = ",
        );
        sql.bind(Value::Text(hash.clone()));
        sql.push(
            " UNION SELECT c.id FROM model_versions c JOIN trained t ON c.parent_version_id = t.id) \
             SELECT v.model_id FROM model_versions v WHERE v.deleted_at IS NULL \
             AND v.id IN (SELECT id FROM trained))",
        );
    }
    if let Some((k, v)) = &query.tag {
        sql.push(" AND EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = m.id AND t.key = ");
        sql.bind(Value::Text(k.clone()));
        sql.push(" AND t.value = ");
        sql.bind(Value::Text(v.clone()));
        sql.push(")");
    }
    sql.push(" ORDER BY ");
    match (query.sort, text) {
        (Sort::Relevance, true) => {
            // An exact name match first, then names starting with the query, then rank.
            sql.push("CASE WHEN m.name = ");
            sql.bind(Value::Text(exact_name.clone()));
            sql.push(" THEN 0 WHEN m.name LIKE ");
            sql.bind(Value::Text(format!(
                "{}%",
                exact_name.replace(['%', '_'], "")
            )));
            sql.push(&format!(" THEN 1 ELSE 2 END, {rank}, m.name"));
        }
        (Sort::Name, _) => {
            sql.push("m.name");
        }
        (Sort::Updated, _) | (Sort::Relevance, false) => {
            sql.push("m.updated_at DESC, m.name");
        }
    }
    let per_page = i64::from(query.per_page);
    sql.push(" LIMIT ");
    sql.bind(Value::Int(per_page + 1));
    sql.push(" OFFSET ");
    sql.bind(Value::Int(
        i64::from(query.page.saturating_sub(1)) * per_page,
    ));
    sql
}

/// Per model: tags, the stages its live versions are in, and its highest
/// version — for a page of hits, in three queries.
#[derive(Debug, Default, Clone)]
pub struct HitDetails {
    pub tags: BTreeMap<String, String>,
    pub stages: Vec<Stage>,
    pub latest: Option<String>,
    pub versions: i64,
}

/// One statement and one row for the whole page: each part comes back as a
/// JSON array (see `Sql::json_rows`), because sqlx-sqlite hands every row
/// across a thread on its own, and a page of 100 models has ~600 detail rows.
pub async fn details(
    pool: &AnyPool,
    backend: Backend,
    ids: &[i64],
) -> Result<HashMap<i64, HitDetails>, sqlx::Error> {
    let mut out: HashMap<i64, HitDetails> =
        ids.iter().map(|id| (*id, HitDetails::default())).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    // A page of results: far below `MAX_IN_LIST`; bound once, used three times.
    let mut sql = Sql::new("SELECT ");
    let list = sql.bind_list(ids.iter().map(|id| Value::Int(*id)));
    let tags = json_rows(
        backend,
        "model_id, key, value",
        &format!("SELECT model_id, key, value FROM model_tags WHERE model_id IN {list}"),
    );
    let stages = json_rows(
        backend,
        "model_id, stage, n",
        &format!(
            "SELECT model_id, stage, COUNT(*) AS n FROM model_versions \
             WHERE deleted_at IS NULL AND model_id IN {list} GROUP BY model_id, stage"
        ),
    );
    let latest = json_rows(
        backend,
        "model_id, version",
        &format!(
            "SELECT v.model_id, v.version FROM model_versions v \
             WHERE v.deleted_at IS NULL AND v.model_id IN {list} AND v.sort_key = \
             (SELECT MAX(w.sort_key) FROM model_versions w WHERE w.model_id = v.model_id AND w.deleted_at IS NULL)"
        ),
    );
    sql.push(&format!("{tags}, {stages}, {latest}"));
    let (tags, stages, latest): (String, String, String) = sql.query_as()?.fetch_one(pool).await?;
    for (id, k, v) in decode::<(i64, String, String)>(&tags)? {
        if let Some(d) = out.get_mut(&id) {
            d.tags.insert(k, v);
        }
    }
    for (id, stage, count) in decode::<(i64, String, i64)>(&stages)? {
        let stage: Stage = stage
            .parse()
            .map_err(|_| sqlx::Error::Decode(format!("unknown stage {stage:?}").into()))?;
        if let Some(d) = out.get_mut(&id) {
            d.stages.push(stage);
            d.versions += count;
        }
    }
    for (id, version) in decode::<(i64, String)>(&latest)? {
        if let Some(d) = out.get_mut(&id) {
            d.latest = Some(version);
        }
    }
    Ok(out)
}

/// `(SELECT <a JSON array of [columns] per row of inner>)`, `'[]'` when
/// empty, as text on both databases.
fn json_rows(backend: Backend, columns: &str, inner: &str) -> String {
    match backend {
        Backend::Sqlite => format!(
            "(SELECT COALESCE(json_group_array(json_array({columns})), '[]') FROM ({inner}) q)"
        ),
        Backend::Postgres => format!(
            "(SELECT COALESCE(json_agg(json_build_array({columns}))::text, '[]') FROM ({inner}) q)"
        ),
    }
}

fn decode<T: serde::de::DeserializeOwned>(json: &str) -> Result<Vec<T>, sqlx::Error> {
    serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}
