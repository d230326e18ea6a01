use leptos::{either::Either, prelude::*};
use leptos_router::components::A;

use super::CurrentUser;
use crate::{
    actions::{auth::Logout, workflow::pending_count},
    domain::Permission,
};

#[component]
pub fn NavBar() -> impl IntoView {
    let CurrentUser(user) = expect_context::<CurrentUser>();
    let logout = ServerAction::<Logout>::new();
    // Re-read on every navigation, like the user, so the badge stays current.
    let location = leptos_router::hooks::use_location();
    let pending = Resource::new(move || location.pathname.get(), |_| pending_count());
    view! {
        <header class="topbar">
            <nav class="topbar-inner" aria-label="Main">
                <A href="/" attr:class="brand">"Model Registry"</A>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        // Awaited with the user, in one suspense: no nested
                        // boundary inside the link to hydrate out of step.
                        let pending_n = pending.await.unwrap_or(0);
                        match user.await.ok().flatten() {
                            Some(u) => Either::Left(view! {
                                <ul class="nav-links">
                                    <li><A href="/models">"Catalog"</A></li>
                                    <li>
                                        <A href="/approvals">"Approvals"
                                            {(pending_n > 0).then(|| view! { <span class="count" aria-label=format!("{pending_n} pending")>{pending_n}</span> })}
                                        </A>
                                    </li>
                                    <Show when={let u = u.clone(); move || u.can(Permission::ReadAudit)}>
                                        <li><A href="/audit">"Audit"</A></li>
                                        <li><A href="/attribution">"Attribution"</A></li>
                                    </Show>
                                    <Show when={let u = u.clone(); move || u.can(Permission::Administer)}>
                                        <li><A href="/admin/users">"Admin"</A></li>
                                        <li><A href="/admin/policy">"Policy"</A></li>
                                        <li><A href="/admin/webhooks">"Webhooks"</A></li>
                                    </Show>
                                </ul>
                                <div class="nav-user">
                                    <A href="/account" attr:class="nav-username">
                                        {u.username.clone()}
                                        <span class="role-badge">{u.role.as_str()}</span>
                                    </A>
                                    <ActionForm action=logout attr:class="inline-form">
                                        <button type="submit" class="btn btn-quiet">"Sign out"</button>
                                    </ActionForm>
                                </div>
                            }),
                            None => Either::Right(view! {
                                <div class="nav-user"><A href="/login">"Sign in"</A></div>
                            }),
                        }
                    })}
                </Suspense>
            </nav>
        </header>
    }
}
