use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::error::AppError;

/// Shows the error of the last submission: from the action after hydration,
/// or from `?error=` when the form was posted before hydration.
#[component]
pub fn FormError<T>(result: Signal<Option<Result<T, AppError>>>) -> impl IntoView
where
    T: Send + Sync + 'static,
{
    let query = use_query_map();
    let message = move || {
        let from_action = result.with(|r| match r {
            Some(Err(e)) => Some(e.to_string()),
            _ => None,
        });
        from_action.or_else(|| query.with(|q| q.get("error")))
    };
    view! {
        <Show when=move || message().is_some()>
            <p class="alert alert-error" role="alert">{message}</p>
        </Show>
    }
}

/// A short confirmation after a successful submission (hydrated only).
#[component]
pub fn FormSuccess<T>(
    result: Signal<Option<Result<T, AppError>>>,
    text: &'static str,
) -> impl IntoView
where
    T: Send + Sync + 'static,
{
    let ok = move || result.with(|r| matches!(r, Some(Ok(_))));
    view! {
        <Show when=ok>
            <p class="alert alert-success" role="status">{text}</p>
        </Show>
    }
}
