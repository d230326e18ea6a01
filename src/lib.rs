//! An auditable ML model registry: Leptos (SSR + hydration) on axum.

pub mod actions;
pub mod app;
pub mod charts;
pub mod components;
pub mod domain;
pub mod dto;
pub mod error;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // A marker for end-to-end tests (and curious humans): hydration is done.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
