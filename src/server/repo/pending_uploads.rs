//! The journal of multipart uploads in flight (see `storage` and the sweeper).

use sqlx::AnyConnection;

pub async fn insert(
    conn: &mut AnyConnection,
    store_key: &str,
    upload_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO pending_uploads (store_key, upload_id, started_at) VALUES ($1, $2, $3) \
         ON CONFLICT (store_key, upload_id) DO NOTHING",
    )
    .bind(store_key)
    .bind(upload_id)
    .bind(now)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn delete(
    conn: &mut AnyConnection,
    store_key: &str,
    upload_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM pending_uploads WHERE store_key = $1 AND upload_id = $2")
        .bind(store_key)
        .bind(upload_id)
        .execute(conn)
        .await
        .map(drop)
}

/// Uploads started before `before`, oldest first, a batch at a time.
pub async fn started_before(
    conn: &mut AnyConnection,
    before: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT store_key, upload_id FROM pending_uploads WHERE started_at < $1 \
         ORDER BY started_at LIMIT 500",
    )
    .bind(before)
    .fetch_all(conn)
    .await
}

/// Whether `upload_id` is an upload of `store_key` still in flight.
pub async fn exists(
    conn: &mut AnyConnection,
    store_key: &str,
    upload_id: &str,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pending_uploads WHERE store_key = $1 AND upload_id = $2",
    )
    .bind(store_key)
    .bind(upload_id)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}
