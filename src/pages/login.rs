use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{actions::auth::Login, components::forms::FormError};

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_else(|| "/".into());
    view! {
        <Title text="Sign in · Model Registry"/>
        <section class="panel narrow">
            <h1>"Sign in"</h1>
            <FormError result=login.value().into()/>
            <ActionForm action=login attr:class="stack">
                <input type="hidden" name="next" value=next/>
                <label>
                    "Username"
                    <input type="text" name="username" autocomplete="username" required maxlength="64" autofocus/>
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required maxlength="256"/>
                </label>
                <button type="submit" class="btn btn-primary" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
        </section>
    }
}
