use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    actions::catalog::CreateModel,
    components::{forms::FormError, guard::RequirePermission},
    domain::Permission,
};

#[component]
pub fn NewModelPage() -> impl IntoView {
    let create = ServerAction::<CreateModel>::new();
    view! {
        <Title text="Register a model · Model Registry"/>
        <RequirePermission permission=Permission::Contribute>
            <section class="panel narrow-wide">
                <h1>"Register a model"</h1>
                <FormError result=create.value().into()/>
                <ActionForm action=create attr:class="stack">
                    <label>"Name (lowercase letters, digits, - _ .)"
                        <input type="text" name="name" required maxlength="128" pattern="[a-z0-9][a-z0-9._\\-]*" autocomplete="off"/>
                    </label>
                    <label>"Team" <input type="text" name="team" maxlength="64"/></label>
                    <label>"Description (Markdown)" <textarea name="description" rows="6"></textarea></label>
                    <button type="submit" class="btn btn-primary">"Register"</button>
                </ActionForm>
            </section>
        </RequirePermission>
    }
}
