//! Data the server sends to pages: plain serializable views, shared by the
//! server build and the wasm build.

use serde::{Deserialize, Serialize};

mod catalog;
mod deployments;
mod report;
mod webhooks;
mod workflow;

pub use catalog::*;
pub use deployments::*;
pub use report::*;
pub use webhooks::*;
pub use workflow::*;

use crate::domain::{Permission, Role, TokenScope};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    pub username: String,
    pub role: Role,
}

impl UserInfo {
    pub fn can(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRowView {
    pub username: String,
    pub role: Role,
    pub active: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scope: TokenScope,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedTokenView {
    pub token: TokenView,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEventView {
    pub id: i64,
    pub at: i64,
    pub actor: Option<String>,
    pub via_token: bool,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub details: String,
    pub client_addr: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    pub page: u32,
    pub has_next: bool,
}

/// `2026-11-27 14:03 UTC`. Times are formatted the same way on the server
/// and in the browser, so hydration sees identical text.
pub fn format_time(unix_ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_minutes() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(
            super::format_time(1_795_000_000_000),
            "2026-11-18 11:06 UTC"
        );
    }
}
