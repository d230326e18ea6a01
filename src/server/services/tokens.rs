//! API tokens for CI/CD: created by their owner, secret shown once.

use serde_json::json;

use super::{commit, Ctx};
use crate::{
    domain::{Permission, TokenScope},
    error::{AppError, Missing},
    server::{auth::token, db::now_ms, repo::tokens},
};

pub const TOKEN_NAME_MAX_LEN: usize = 100;
pub const TOKEN_MAX_DAYS: i64 = 3650;

/// A validated token name: 1–100 printable characters.
pub fn parse_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "is required"));
    }
    if name.chars().count() > TOKEN_NAME_MAX_LEN {
        return Err(AppError::invalid(
            "name",
            format!("must be at most {TOKEN_NAME_MAX_LEN} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// `None`/empty: `read`, the least a token can do; otherwise one of
/// `read`, `deploy`, `write`, `admin`.
pub fn parse_scope(raw: Option<&str>) -> Result<TokenScope, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(TokenScope::Read),
        Some(s) => Ok(s.parse()?),
    }
}

/// `None`/empty: never expires; otherwise 1–3650 days.
pub fn parse_expiry_days(raw: Option<&str>) -> Result<Option<i64>, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=TOKEN_MAX_DAYS).contains(d))
            .map(Some)
            .ok_or_else(|| {
                AppError::invalid(
                    "expires_in_days",
                    format!("must be a whole number of days from 1 to {TOKEN_MAX_DAYS}"),
                )
            }),
    }
}

pub async fn create(
    cx: &Ctx,
    name: String,
    scope: TokenScope,
    expires_in_days: Option<i64>,
) -> Result<(tokens::TokenRow, String), AppError> {
    cx.require(Permission::Read)?;
    // Tokens are minted from a signed-in session, never from another token.
    cx.by.require_password_sign_in("minting a token")?;
    if scope == TokenScope::Admin {
        cx.require(Permission::Administer)?;
    }
    let generated = token::generate();
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let row = tokens::insert(
        &mut tx,
        tokens::NewToken {
            user_id: cx.by.user_id,
            name: &name,
            token_hash: &generated.hash,
            prefix: &generated.display_prefix,
            scope,
            created_at: now,
            expires_at: expires_in_days.map(|d| now + d * 86_400_000),
        },
    )
    .await?;
    let details = json!({ "name": name, "scope": scope, "expires_at": row.expires_at });
    cx.audit(
        &mut tx,
        "token.create",
        ("token", &row.id.to_string()),
        details,
    )
    .await?;
    commit(tx).await?;
    Ok((row, generated.secret))
}

pub async fn list_own(cx: &Ctx) -> Result<Vec<tokens::TokenRow>, AppError> {
    cx.require(Permission::Read)?;
    tokens::list_for_user(cx.state.db.pool(), cx.by.user_id)
        .await
        .map_err(AppError::from)
}

/// Owners revoke their own tokens; admins revoke anyone's.
pub async fn revoke(cx: &Ctx, id: i64) -> Result<(), AppError> {
    cx.require(Permission::Read)?;
    let mut tx = cx.begin().await?;
    let row = tokens::find(&mut tx, id)
        .await?
        .filter(|t| t.user_id == cx.by.user_id || cx.by.can(Permission::Administer))
        .ok_or(AppError::NotFound(Missing::Token(id)))?;
    if row.revoked_at.is_some() {
        return Ok(());
    }
    tokens::revoke(&mut tx, id, now_ms()).await?;
    let details = json!({ "name": row.name, "owner_user_id": row.user_id });
    cx.audit(&mut tx, "token.revoke", ("token", &id.to_string()), details)
        .await?;
    commit(tx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_expiry_are_parsed_at_the_edge() {
        assert_eq!(parse_name("  ci deploy ").unwrap(), "ci deploy");
        for bad in ["", "  ", "a\nb", &"x".repeat(101)] {
            assert_eq!(parse_name(bad).unwrap_err().field(), Some("name"));
        }
        assert_eq!(parse_expiry_days(None).unwrap(), None);
        assert_eq!(parse_expiry_days(Some(" ")).unwrap(), None);
        assert_eq!(parse_expiry_days(Some("30")).unwrap(), Some(30));
        for bad in ["0", "-1", "3651", "1.5", "ten"] {
            assert_eq!(
                parse_expiry_days(Some(bad)).unwrap_err().field(),
                Some("expires_in_days")
            );
        }
    }
}
