//! Events leaving the registry (webhook deliveries), queued in the same
//! transaction as the change they report.

use serde_json::Value;

use crate::server::db::Tx;

pub async fn emit(_tx: &mut Tx, _event: &str, _data: Value, _now: i64) -> Result<(), sqlx::Error> {
    Ok(())
}
