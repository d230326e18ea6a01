//! Operations: the metrics exposition, for admins.

use super::Ctx;
use crate::{domain::Permission, error::AppError};

pub async fn metrics(cx: &Ctx) -> Result<String, AppError> {
    cx.require(Permission::Administer)?;
    cx.state.metrics.render(&cx.state.db).await
}
