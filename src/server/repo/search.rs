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
    let mut hits = sql.query_as::<Hit>()?.fetch_all(pool).await?;
    let more = hits.len() as i64 > per_page;
    hits.truncate(query.per_page as usize);
    Ok((hits, more))
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

pub async fn details(pool: &AnyPool, ids: &[i64]) -> Result<HashMap<i64, HitDetails>, sqlx::Error> {
    let mut out: HashMap<i64, HitDetails> =
        ids.iter().map(|id| (*id, HitDetails::default())).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    // A page of results: far below `MAX_IN_LIST`.
    let in_list = |sql: &mut Sql| {
        sql.push_in(ids.iter().map(|id| Value::Int(*id)));
    };
    let mut sql = Sql::new("SELECT model_id, key, value FROM model_tags WHERE model_id IN ");
    in_list(&mut sql);
    for (id, k, v) in sql
        .query_as::<(i64, String, String)>()?
        .fetch_all(pool)
        .await?
    {
        if let Some(d) = out.get_mut(&id) {
            d.tags.insert(k, v);
        }
    }
    let mut sql = Sql::new(
        "SELECT model_id, stage, COUNT(*), MAX(sort_key) FROM model_versions WHERE deleted_at IS NULL AND model_id IN ",
    );
    in_list(&mut sql);
    sql.push(" GROUP BY model_id, stage");
    let mut best: HashMap<i64, String> = HashMap::new();
    for (id, stage, count, max_key) in sql
        .query_as::<(i64, Stage, i64, String)>()?
        .fetch_all(pool)
        .await?
    {
        if let Some(d) = out.get_mut(&id) {
            d.stages.push(stage);
            d.versions += count;
        }
        let entry = best.entry(id).or_default();
        if max_key > *entry {
            *entry = max_key;
        }
    }
    if !best.is_empty() {
        let mut sql =
            Sql::new("SELECT model_id, version FROM model_versions WHERE deleted_at IS NULL AND (");
        for (i, (id, key)) in best.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(model_id = ");
            sql.bind(Value::Int(*id));
            sql.push(" AND sort_key = ");
            sql.bind(Value::Text(key.clone()));
            sql.push(")");
        }
        sql.push(")");
        for (id, version) in sql.query_as::<(i64, String)>()?.fetch_all(pool).await? {
            if let Some(d) = out.get_mut(&id) {
                d.latest = Some(version);
            }
        }
    }
    Ok(out)
}
