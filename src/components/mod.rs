//! Reusable view pieces.

pub mod forms;
pub mod guard;
pub mod nav;

use leptos::prelude::*;

use crate::{dto::UserInfo, error::AppError};

/// The signed-in user, loaded once per navigation by the layout.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<UserInfo>, AppError>>);

/// Sets the HTTP status of the server-rendered page (no-op in the browser).
pub fn set_status(code: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(options), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        axum::http::StatusCode::from_u16(code),
    ) {
        options.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}
