//! A tiny SQL builder that numbers placeholders `$1, $2, …` (understood by
//! both SQLite and Postgres) and keeps every value a bound parameter.
//! (`sqlx::QueryBuilder<Any>` emits `?`, which Postgres rejects.)

use sqlx::{any::AnyArguments, Any, Arguments};

use crate::server::db::Backend;

#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    Int(i64),
    Float(f64),
}

#[derive(Default)]
pub struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(start: &str) -> Self {
        Self {
            text: start.to_owned(),
            values: Vec::new(),
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a placeholder for `value` and returns it (`$3`), for reuse.
    pub fn bind(&mut self, value: Value) -> String {
        let placeholder = self.param(value);
        self.text.push_str(&placeholder);
        placeholder
    }

    /// Binds `value` and returns its placeholder without appending it, for
    /// text put together before it is pushed.
    pub fn param(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// Appends `(v1, v2, …)`, every value bound. Callers split long lists
    /// with `chunks(MAX_IN_LIST)`: one statement per chunk keeps SQLite's
    /// preparation linear and Postgres under its 65,535-parameter limit.
    pub fn push_in(&mut self, values: impl IntoIterator<Item = Value>) -> &mut Self {
        self.text.push('(');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(v);
        }
        self.text.push(')');
        self
    }

    /// Binds `values` and returns their `(…)` list without appending it,
    /// for a statement that uses the same list more than once.
    pub fn bind_list(&mut self, values: impl IntoIterator<Item = Value>) -> String {
        let placeholders: Vec<String> = values
            .into_iter()
            .map(|v| {
                self.values.push(v);
                format!("${}", self.values.len())
            })
            .collect();
        format!("({})", placeholders.join(", "))
    }

    /// The statement with `before` and `after` around it, for a query over
    /// its rows; its placeholders keep their numbers.
    pub fn enclose(mut self, before: &str, after: &str) -> Self {
        self.text = format!("{before}{}{after}", self.text);
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn arguments<'q>(&self) -> Result<AnyArguments<'q>, sqlx::Error> {
        let mut args = AnyArguments::default();
        for v in &self.values {
            let added = match v {
                Value::Text(s) => args.add(s.clone()),
                Value::Int(i) => args.add(*i),
                Value::Float(f) => args.add(*f),
            };
            added.map_err(sqlx::Error::Encode)?;
        }
        Ok(args)
    }

    pub fn query_as<'q, T>(
        &'q self,
    ) -> Result<sqlx::query::QueryAs<'q, Any, T, AnyArguments<'q>>, sqlx::Error>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        Ok(sqlx::query_as_with(&self.text, self.arguments()?))
    }
}

/// The database's plan for `sql`, a line per step: SQLite's
/// `EXPLAIN QUERY PLAN`, Postgres's `EXPLAIN (ANALYZE)` (which runs it, so
/// only for reads). For benchmarks and operators reading a slow query.
pub async fn explain(
    pool: &sqlx::AnyPool,
    backend: crate::server::db::Backend,
    sql: &Sql,
) -> Result<Vec<String>, sqlx::Error> {
    use crate::server::db::Backend;
    use sqlx::Row;
    let text = match backend {
        Backend::Sqlite => format!("EXPLAIN QUERY PLAN {}", sql.text),
        Backend::Postgres => format!("EXPLAIN (ANALYZE, COSTS OFF) {}", sql.text),
    };
    let rows = sqlx::query_with(&text, sql.arguments()?)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| match backend {
            // (id, parent, notused, detail)
            Backend::Sqlite => row.try_get::<String, _>(3),
            Backend::Postgres => row.try_get::<String, _>(0),
        })
        .collect()
}

/// The statement's rows as a subquery the planner must finish before the
/// outer query sorts and pages them (an `OFFSET 0` is a planning fence on
/// both databases). For a selective tag: otherwise a planner that expects
/// the tagged models to be spread evenly may walk the sort order instead
/// and visit most of the catalog when they sit together in it.
pub fn fenced(backend: crate::server::db::Backend, inner: Sql) -> Sql {
    use crate::server::db::Backend;
    let fence = match backend {
        Backend::Sqlite => "LIMIT -1 OFFSET 0",
        Backend::Postgres => "OFFSET 0",
    };
    inner.enclose("SELECT * FROM (", &format!(" {fence}) m"))
}

/// The longest `IN (…)` list one statement binds (see `Sql::push_in`).
pub const MAX_IN_LIST: usize = 500;

/// Inserts many rows with multi-row `VALUES` statements (chunked well below
/// both databases' parameter limits): one round trip per chunk, not per row.
pub async fn insert_rows(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<(), sqlx::Error> {
    // SQLite resolves numbered parameters in O(n) each when preparing, so huge
    // statements go quadratic: ~2000 parameters per statement is the sweet spot.
    const MAX_PARAMS: usize = 2_000;
    let per_chunk = (MAX_PARAMS / columns.len().max(1)).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut sql = Sql::new(&format!(
            "INSERT INTO {table} ({}) VALUES ",
            columns.join(", ")
        ));
        push_rows(&mut sql, rows.by_ref().take(per_chunk));
        sqlx::query_with(sql.text(), sql.arguments()?)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Appends `(…), (…)` with every value bound, for an `INSERT … VALUES`.
fn push_rows(sql: &mut Sql, rows: impl IntoIterator<Item = Vec<Value>>) {
    for (i, row) in rows.into_iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        for (j, value) in row.into_iter().enumerate() {
            if j > 0 {
                sql.push(", ");
            }
            sql.bind(value);
        }
        sql.push(")");
    }
}

/// Rows for one table, for [`insert_into_tables`].
pub struct TableRows<'a> {
    pub table: &'a str,
    pub columns: &'a [&'a str],
    pub rows: Vec<Vec<Value>>,
}

/// Inserts rows into several tables in one round trip: on SQLite one
/// execution of several statements (numbered parameters are shared across
/// them), on Postgres one statement whose inserts run as data-modifying
/// `WITH` parts. Inside a write transaction every round trip is time other
/// writers wait. Falls back to `insert_rows` per table when the rows need
/// more parameters than one statement should bind.
pub async fn insert_into_tables(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    tables: Vec<TableRows<'_>>,
) -> Result<(), sqlx::Error> {
    const MAX_PARAMS: usize = 2_000;
    let tables: Vec<TableRows> = tables.into_iter().filter(|t| !t.rows.is_empty()).collect();
    let params: usize = tables.iter().map(|t| t.rows.len() * t.columns.len()).sum();
    if tables.len() < 2 || params > MAX_PARAMS {
        for t in tables {
            insert_rows(conn, t.table, t.columns, t.rows).await?;
        }
        return Ok(());
    }
    let last = tables.len() - 1;
    let mut sql = Sql::new(if backend == Backend::Postgres {
        "WITH "
    } else {
        ""
    });
    for (n, t) in tables.into_iter().enumerate() {
        if backend == Backend::Postgres && n < last {
            sql.push(&format!("inserted_{n} AS ("));
        }
        sql.push(&format!(
            "INSERT INTO {} ({}) VALUES ",
            t.table,
            t.columns.join(", ")
        ));
        push_rows(&mut sql, t.rows);
        sql.push(match backend {
            _ if n == last => "",
            Backend::Sqlite => "; ",
            Backend::Postgres if n + 1 < last => "), ",
            Backend::Postgres => ") ",
        });
    }
    sqlx::query_with(sql.text(), sql.arguments()?)
        .execute(conn)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_in_order() {
        let mut sql = Sql::new("SELECT 1 WHERE a = ");
        let p = sql.bind(Value::Int(1));
        sql.push(" AND b = ");
        sql.bind(Value::Text("x".into()));
        sql.push(" AND c = ").push(&p);
        assert_eq!(sql.text(), "SELECT 1 WHERE a = $1 AND b = $2 AND c = $1");
    }
}
