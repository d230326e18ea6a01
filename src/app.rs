//! The application shell and routes. The same tree renders on the server
//! and hydrates in the browser.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    hooks::use_location,
    path, SsrMode,
};

use crate::{
    actions::auth::current_user,
    components::{nav::NavBar, CurrentUser},
    pages::{
        account::AccountPage,
        admin_policy::PolicyPage,
        admin_users::AdminUsersPage,
        admin_webhooks::{AdminWebhookPage, AdminWebhooksPage},
        approvals::ApprovalsPage,
        attribution::AttributionPage,
        audit::AuditPage,
        catalog::CatalogPage,
        compare::ComparePage,
        home::HomePage,
        login::LoginPage,
        model::ModelPage,
        new_model::NewModelPage,
        not_found::NotFound,
        report::ReportPage,
        version::VersionPage,
    },
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::http::layers::set_page_csp();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/model-registry.css"/>
        <Title text="Model Registry"/>
        <Router>
            <Layout/>
        </Router>
    }
}

/// Everything inside the router: the current user (re-read on every
/// navigation, so sign-in, sign-out and expiry show at once), the navigation
/// bar and the pages.
#[component]
fn Layout() -> impl IntoView {
    let location = use_location();
    let user = Resource::new(move || location.pathname.get(), |_| current_user());
    provide_context(CurrentUser(user));
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <NavBar/>
        <main id="main" class="container">
            <Routes fallback=NotFound>
                <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/models") view=CatalogPage ssr=SsrMode::Async/>
                <Route path=path!("/models/new") view=NewModelPage ssr=SsrMode::Async/>
                <Route path=path!("/models/:name") view=ModelPage ssr=SsrMode::Async/>
                <Route path=path!("/models/:name/compare") view=ComparePage ssr=SsrMode::Async/>
                <Route path=path!("/models/:name/report") view=ReportPage ssr=SsrMode::Async/>
                <Route path=path!("/models/:name/versions/:version") view=VersionPage ssr=SsrMode::Async/>
                <Route path=path!("/approvals") view=ApprovalsPage ssr=SsrMode::Async/>
                <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async/>
                <Route path=path!("/attribution") view=AttributionPage ssr=SsrMode::Async/>
                <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/users") view=AdminUsersPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/policy") view=PolicyPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/webhooks") view=AdminWebhooksPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/webhooks/:id") view=AdminWebhookPage ssr=SsrMode::Async/>
            </Routes>
        </main>
    }
}
