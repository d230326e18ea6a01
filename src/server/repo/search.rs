//! Catalog search on the database's own index: FTS5 on SQLite, a tsvector
//! with GIN on Postgres. Every filter is an indexed EXISTS; every value is a
//! bound parameter. A page of hits comes back with each model's tags,
//! stages and newest version in one statement and one row (see `json.rs`).

use serde::Deserialize;
use sqlx::AnyPool;

use super::{
    json,
    sql::{self, Sql, Value},
    tags,
};
use crate::{
    domain::{CatalogQuery, Sort, Stage},
    server::db::Backend,
};

#[derive(Debug, Clone, Deserialize)]
pub struct Hit {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub team: String,
    pub updated_at: i64,
}

/// A hit with its tags (by key), the stages its live versions are in with
/// how many are in each, and its highest version.
#[derive(Debug, Clone, Deserialize)]
pub struct HitWith {
    pub hit: Hit,
    pub tags: Vec<(String, String)>,
    pub stages: Vec<(Stage, i64)>,
    pub latest: Option<String>,
}

/// One page of models matching `query`, plus whether another page follows.
pub async fn search(
    pool: &AnyPool,
    backend: Backend,
    query: &CatalogQuery,
) -> Result<(Vec<HitWith>, bool), sqlx::Error> {
    let per_page = i64::from(query.per_page);
    let (hits, order) = hits(pool, backend, query).await?;
    let mut hits: Vec<HitWith> = json::fetch(pool, page(backend, hits, &order)).await?;
    let more = hits.len() as i64 > per_page;
    hits.truncate(query.per_page as usize);
    Ok((hits, more))
}

/// The hits (rows of `Hit`, plus `rank` for a text search) as one JSON text
/// of `HitWith`, in `order`.
fn page(backend: Backend, hits: Sql, order: &str) -> Sql {
    let b = backend;
    let hit = json::object(
        b,
        &[
            ("id", "m.id"),
            ("name", "m.name"),
            ("description", "m.description"),
            ("team", "m.team"),
            ("updated_at", "m.updated_at"),
        ],
    );
    let tags = json::key_values(b, "model_tags t WHERE t.model_id = m.id", "t");
    let stages = json::list(
        b,
        &json::array(b, &["s.stage", "s.n"]),
        "(SELECT v.stage, COUNT(*) AS n FROM model_versions v \
          WHERE v.model_id = m.id AND v.deleted_at IS NULL GROUP BY v.stage) s",
        "s.stage",
    );
    let latest = "(SELECT v.version FROM model_versions v \
         WHERE v.model_id = m.id AND v.deleted_at IS NULL ORDER BY v.sort_key DESC LIMIT 1)";
    let item = json::object(
        b,
        &[
            ("hit", &hit),
            ("tags", &tags),
            ("stages", &stages),
            ("latest", latest),
        ],
    );
    json::page(b, hits, &item, "m", order)
}

/// The statement `search` runs for its hits (one row past the page tells
/// whether another follows); public so the benchmark can print its plan.
pub async fn statement(
    pool: &AnyPool,
    backend: Backend,
    query: &CatalogQuery,
) -> Result<Sql, sqlx::Error> {
    Ok(hits(pool, backend, query).await?.0)
}

/// The hits statement, and its order as the page over its rows repeats it.
async fn hits(
    pool: &AnyPool,
    backend: Backend,
    query: &CatalogQuery,
) -> Result<(Sql, String), sqlx::Error> {
    let selective_tag = match &query.tag {
        Some((k, v)) => tags::selective(pool, k, v).await?,
        None => false,
    };
    let terms = query.terms();
    let text = !terms.is_empty();
    let mut sql = Sql::new("");
    let (from, rank) = match (text, backend) {
        (false, _) => ("models m WHERE ".to_owned(), String::new()),
        (true, Backend::Sqlite) => {
            // "fraud"* "det"*: every word, each as a prefix (AND).
            let fts: Vec<String> = terms.iter().map(|t| format!("\"{t}\"*")).collect();
            let m = sql.param(Value::Text(fts.join(" ")));
            (
                format!("models_fts JOIN models m ON m.id = models_fts.rowid WHERE models_fts MATCH {m} AND "),
                // bm25 is lower-is-better; weights: name, description, team, tags.
                "bm25(models_fts, 10.0, 1.0, 2.0, 4.0)".to_owned(),
            )
        }
        (true, Backend::Postgres) => {
            let tsquery: Vec<String> = terms.iter().map(|t| format!("{t}:*")).collect();
            let p = sql.param(Value::Text(tsquery.join(" & ")));
            (
                format!("models m WHERE m.search @@ to_tsquery('simple', {p}) AND "),
                format!("-ts_rank(m.search, to_tsquery('simple', {p}))"),
            )
        }
    };
    let rank_column = if text {
        format!(", {rank} AS rank")
    } else {
        String::new()
    };
    sql.push(&format!(
        "SELECT m.id, m.name, m.description, m.team, m.updated_at{rank_column} FROM {from}"
    ));
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
        // Few models carry it: read them from the tag index (see `tags::SELECTIVE_TAG`).
        sql.push(if selective_tag {
            " AND m.id IN (SELECT t.model_id FROM model_tags t WHERE t.key = "
        } else {
            " AND EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = m.id AND t.key = "
        });
        sql.bind(Value::Text(k.clone()));
        sql.push(" AND t.value = ");
        sql.bind(Value::Text(v.clone()));
        sql.push(")");
    }
    // Relevance: an exact name match first, then names starting with the
    // query, then rank.
    let relevance = (text && matches!(query.sort, Sort::Relevance)).then(|| {
        let exact_name = terms.join("-");
        let prefix = format!("{}%", exact_name.replace(['%', '_'], ""));
        (
            sql.param(Value::Text(exact_name)),
            sql.param(Value::Text(prefix)),
        )
    });
    let order = |rank: &str| match (&relevance, query.sort) {
        (Some((exact, prefix)), _) => format!(
            "CASE WHEN m.name = {exact} THEN 0 WHEN m.name LIKE {prefix} THEN 1 ELSE 2 END, \
             {rank}, m.name"
        ),
        (None, Sort::Name) => "m.name".to_owned(),
        (None, _) => "m.updated_at DESC, m.name".to_owned(),
    };
    if selective_tag && !text {
        sql = sql::fenced(backend, sql);
    }
    sql.push(&format!(" ORDER BY {}", order(&rank)));
    let per_page = i64::from(query.per_page);
    sql.push(" LIMIT ");
    sql.bind(Value::Int(per_page + 1));
    sql.push(" OFFSET ");
    sql.bind(Value::Int(
        i64::from(query.page.saturating_sub(1)) * per_page,
    ));
    Ok((sql, order("m.rank")))
}
