//! Pages whose capability is being built: they say so plainly.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{components::guard::RequirePermission, domain::Permission};

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
