//! Reusable view pieces.

pub mod artifacts;
pub mod badges;
pub mod chart;
pub mod forms;
pub mod guard;
pub mod nav;
pub mod report;
pub mod upload;
pub mod workflow;

use leptos::prelude::*;

use crate::{dto::UserInfo, error::AppError};

/// The signed-in user, loaded once per navigation by the layout.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<UserInfo>, AppError>>);

/// Text for a `<textarea>`'s children. Leptos renders textarea children
/// without HTML escaping on the server (tachys marks `<textarea>` as a
/// raw-text element), so user text containing `</textarea>` could break out
/// of it. On the server we escape; in the browser text nodes are created
/// through the DOM and need no escaping.
pub fn textarea_text(text: &str) -> String {
    #[cfg(feature = "ssr")]
    {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }
    #[cfg(not(feature = "ssr"))]
    {
        text.to_owned()
    }
}
