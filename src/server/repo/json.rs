//! JSON assembled by the database, for reads that return a page of objects
//! with their parts (tags, aliases, versions) in one row.
//!
//! Why: sqlx-sqlite runs each connection on its own thread and hands every
//! row of a result across to the async task on its own, so a page of 100
//! models with ~600 detail rows paid ~600 hand-offs (and the queries to
//! gather them). One statement that answers one JSON text costs one.
//! The JSON is decoded with serde into the same typed records (stored enums
//! still refuse values this version does not know).

use super::sql::Sql;
use crate::server::db::Backend;

/// A JSON object of `(key, SQL expression)` pairs.
pub fn object(backend: Backend, fields: &[(&str, &str)]) -> String {
    let args: Vec<String> = fields
        .iter()
        .map(|(key, expr)| format!("'{key}', {expr}"))
        .collect();
    match backend {
        Backend::Sqlite => format!("json_object({})", args.join(", ")),
        Backend::Postgres => format!("json_build_object({})", args.join(", ")),
    }
}

/// A JSON array of SQL expressions.
pub fn array(backend: Backend, items: &[&str]) -> String {
    match backend {
        Backend::Sqlite => format!("json_array({})", items.join(", ")),
        Backend::Postgres => format!("json_build_array({})", items.join(", ")),
    }
}

/// `[[key, value], …]` of the rows of `from` (aliased `alias`, with `key`
/// and `value` columns), by key: a model's or a version's tags.
pub fn key_values(backend: Backend, from: &str, alias: &str) -> String {
    list(
        backend,
        &array(
            backend,
            &[&format!("{alias}.key"), &format!("{alias}.value")],
        ),
        from,
        &format!("{alias}.key"),
    )
}

/// `(SELECT <a JSON array of item, one per row of from, in order>)`: a JSON
/// value, `[]` when no row matches, to nest in `object` or `array`.
pub fn list(backend: Backend, item: &str, from: &str, order: &str) -> String {
    let (before, after) = aggregate(backend, item, order);
    format!("{before}{from}{after}")
}

/// The statement answering `page`'s rows (named `alias`) as one JSON text:
/// an array of `item` per row, in `order` (the page's own sort, repeated:
/// an aggregate does not promise to keep the order of its input).
pub fn page(backend: Backend, page: Sql, item: &str, alias: &str, order: &str) -> Sql {
    let (before, after) = aggregate(backend, item, order);
    page.enclose(
        &format!("SELECT {before}("),
        &format!(") {alias}{after}{}", text_cast(backend)),
    )
}

/// What turns a JSON value into the text a statement answers (`fetch`
/// reads a string): nothing on SQLite, whose JSON is text already.
pub fn text_cast(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => "::text",
    }
}

/// Runs a statement answering one JSON text (`page`, or a `SELECT` of an
/// `object` with `text_cast`) and decodes it.
pub async fn fetch<T: serde::de::DeserializeOwned>(
    pool: &sqlx::AnyPool,
    statement: Sql,
) -> Result<T, sqlx::Error> {
    let (text,): (String,) = statement.query_as()?.fetch_one(pool).await?;
    decode(&text)
}

fn aggregate(backend: Backend, item: &str, order: &str) -> (String, String) {
    match backend {
        Backend::Sqlite => (
            format!("(SELECT json_group_array({item} ORDER BY {order}) FROM "),
            ")".to_owned(),
        ),
        Backend::Postgres => (
            format!("(SELECT COALESCE(json_agg({item} ORDER BY {order}), '[]'::json) FROM "),
            ")".to_owned(),
        ),
    }
}

/// Decodes a JSON answer into typed rows; a shape the code does not expect
/// is a decode error, as a bad column would be.
fn decode<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}
