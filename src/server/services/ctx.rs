//! The request context every service takes: the app, who is asking, and
//! where the request came from. Edges build it once (the REST extractor,
//! `context::ctx()` for server functions, the MLflow handlers) and pass it
//! down, so a service never forgets the caller when it authorizes or audits.

use serde_json::Value;

use super::audit;
use crate::{
    domain::Permission,
    error::AppError,
    server::{
        auth::Principal,
        db::{Db, Tx},
        repo::audit::Origin,
        state::AppState,
    },
};

#[derive(Clone)]
pub struct Ctx {
    pub state: AppState,
    pub by: Principal,
    pub origin: Origin,
}

impl Ctx {
    pub fn new(state: AppState, by: Principal, origin: Origin) -> Self {
        Self { state, by, origin }
    }

    /// The caller's permission check (see [`Principal::require`]).
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        self.by.require(permission)
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    pub async fn begin(&self) -> Result<Tx, AppError> {
        Ok(self.state.db.begin().await?)
    }

    /// Appends an audit event by the caller, from the caller's origin,
    /// inside `tx`: it commits or rolls back with the change it records.
    pub async fn audit(
        &self,
        tx: &mut Tx,
        action: &str,
        target: (&str, &str),
        details: Value,
    ) -> Result<(), AppError> {
        let actor = self.by.actor();
        audit(tx, Some(&actor), &self.origin, action, target, details).await
    }
}
