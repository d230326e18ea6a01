//! Reading the audit trail (auditors and admins).

use crate::{
    domain::Permission,
    error::AppError,
    server::{
        auth::{principal::db_error, Principal},
        repo::audit::{self, ChainReport, EventFilter, EventRow},
        state::AppState,
    },
};

pub const PAGE_SIZE: i64 = 50;

pub async fn list(
    state: &AppState,
    by: &Principal,
    filter: &EventFilter,
    page: u32,
) -> Result<Vec<EventRow>, AppError> {
    by.require(Permission::ReadAudit)?;
    let offset = i64::from(page.saturating_sub(1)) * PAGE_SIZE;
    // One extra row tells the caller whether a next page exists.
    audit::list(state.db.pool(), filter, PAGE_SIZE + 1, offset)
        .await
        .map_err(db_error)
}

pub async fn verify(state: &AppState, by: &Principal) -> Result<ChainReport, AppError> {
    by.require(Permission::ReadAudit)?;
    audit::verify_chain(state.db.pool()).await.map_err(db_error)
}
