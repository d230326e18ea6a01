use leptos::prelude::*;

use crate::domain::Stage;

#[component]
pub fn StageBadge(stage: Stage) -> impl IntoView {
    view! { <span class=format!("badge stage-{}", stage.as_str())>{stage.title()}</span> }
}

#[component]
pub fn Tags(tags: std::collections::BTreeMap<String, String>) -> impl IntoView {
    view! {
        <ul class="tags" aria-label="Tags">
            {tags.into_iter().map(|(k, v)| view! { <li class="tag"><span class="tag-key">{k}</span>"="<span>{v}</span></li> }).collect_view()}
        </ul>
    }
}
