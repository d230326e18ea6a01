use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    components::{guard::RequirePermission, CurrentUser},
    domain::Permission,
};

#[component]
pub fn HomePage() -> impl IntoView {
    let CurrentUser(user) = expect_context::<CurrentUser>();
    view! {
        <Title text="Model Registry"/>
        <RequirePermission permission=Permission::Read>
            <section class="hero">
                <h1>"Model Registry"</h1>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        user.await.ok().flatten().map(|u| view! {
                            <p class="muted">"Signed in as "<strong>{u.username}</strong>" ("{u.role.as_str()}")."</p>
                        })
                    })}
                </Suspense>
            </section>
            <div class="cards">
                <A href="/models" attr:class="card">
                    <h2>"Catalog"</h2>
                    <p>"Registered models, their versions, lineage and metrics."</p>
                </A>
                <A href="/approvals" attr:class="card">
                    <h2>"Approvals"</h2>
                    <p>"Promotions to Staging and Production waiting for sign-off."</p>
                </A>
                <A href="/account" attr:class="card">
                    <h2>"Account & API tokens"</h2>
                    <p>"Change your password; create tokens for CI/CD pipelines."</p>
                </A>
            </div>
            <section class="panel">
                <h2>"Calling the API"</h2>
                <p>"Create a token under Account, then:"</p>
                <pre><code>"curl -H \"Authorization: Bearer $REGISTRY_TOKEN\" http://<host>/api/v1/me"</code></pre>
            </section>
        </RequirePermission>
    }
}
