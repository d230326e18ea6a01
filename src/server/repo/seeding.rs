//! The SQL of the synthetic-catalog seeder (`server::seed`): where to start
//! numbering, building the search index for a range of models in one
//! statement, and putting the database in shape after a bulk load.

use sqlx::{AnyConnection, AnyPool};

use crate::server::db::Backend;

/// The next free model and version ids (the seeder writes explicit ids).
pub async fn next_ids(pool: &AnyPool) -> Result<(i64, i64), sqlx::Error> {
    let model: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM models")
        .fetch_one(pool)
        .await?;
    let version: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM model_versions")
        .fetch_one(pool)
        .await?;
    Ok((model + 1, version + 1))
}

/// Builds search entries for models `first..=last` in one statement.
pub async fn index_range(
    conn: &mut AnyConnection,
    backend: Backend,
    first: i64,
    last: i64,
) -> Result<(), sqlx::Error> {
    let sql = match backend {
        Backend::Sqlite => {
            "INSERT INTO models_fts (rowid, name, description, team, tags) \
             SELECT m.id, m.name || ' ' || replace(replace(replace(m.name, '-', ' '), '_', ' '), '.', ' '), \
             m.description, m.team, \
             COALESCE((SELECT group_concat(t.key || ' ' || t.value, ' ') FROM model_tags t WHERE t.model_id = m.id), '') \
             FROM models m WHERE m.id BETWEEN $1 AND $2"
        }
        Backend::Postgres => {
            "UPDATE models m SET search = \
             setweight(to_tsvector('simple', m.name || ' ' || translate(m.name, '-_.', '   ')), 'A') \
             || setweight(to_tsvector('simple', m.team || ' ' || COALESCE((SELECT string_agg(t.key || ' ' || t.value, ' ') \
                FROM model_tags t WHERE t.model_id = m.id), '')), 'B') \
             || setweight(to_tsvector('simple', m.description), 'C') \
             WHERE m.id BETWEEN $1 AND $2"
        }
    };
    sqlx::query(sql)
        .bind(first)
        .bind(last)
        .execute(conn)
        .await
        .map(drop)
}

/// Explicit ids do not advance Postgres's serial sequences: move them past
/// the loaded rows.
pub async fn advance_sequences(
    conn: &mut AnyConnection,
    backend: Backend,
) -> Result<(), sqlx::Error> {
    if backend == Backend::Postgres {
        for table in ["models", "model_versions"] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            ))
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Fresh planner statistics: without them Postgres scans the freshly
/// loaded metric table for every model page until autovacuum catches up.
/// On Postgres also VACUUM: it sets the visibility map (so index-only
/// scans stay index-only) and the rows' hint bits, which the first readers
/// of a bulk load would otherwise write, one page at a time.
pub async fn analyze(pool: &AnyPool, backend: Backend) -> Result<(), sqlx::Error> {
    let statement = match backend {
        Backend::Sqlite => "ANALYZE",
        Backend::Postgres => "VACUUM (ANALYZE)",
    };
    sqlx::query(statement).execute(pool).await.map(drop)
}
