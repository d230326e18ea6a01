//! Pages whose capability is being built: they say so plainly.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{components::guard::RequirePermission, domain::Permission};

#[component]
pub fn CatalogPage() -> impl IntoView {
    view! {
        <Title text="Catalog · Model Registry"/>
        <RequirePermission permission=Permission::Read>
            <section class="panel">
                <h1>"Catalog"</h1>
                <p class="empty">"No models are registered yet. The catalog (models, semver versions, lineage, search) is the next capability being built."</p>
            </section>
        </RequirePermission>
    }
}

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    view! {
        <Title text="Approvals · Model Registry"/>
        <RequirePermission permission=Permission::Read>
            <section class="panel">
                <h1>"Approvals"</h1>
                <p class="empty">"No promotion requests are pending."</p>
            </section>
        </RequirePermission>
    }
}
