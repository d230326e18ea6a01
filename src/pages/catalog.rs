//! `/models`: the catalog search. The query lives in the URL, so a search
//! can be shared, and the form is a plain GET that works without JavaScript.

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::{use_location, use_query_map},
};

use crate::{
    actions::catalog::search_models,
    components::{
        badges::{StageBadge, Tags},
        guard::{encode_component, RequirePermission},
    },
    domain::{CatalogQuery, Permission, Stage},
    dto::{format_time, SearchPage},
};

type ResultsResource = Resource<Result<SearchPage, crate::error::AppError>>;

#[component]
pub fn CatalogPage() -> impl IntoView {
    // Made outside the guard, which may render its children twice on the
    // server: a resource made inside would be made twice (see `guard`).
    let location = use_location();
    let results: ResultsResource = Resource::new(move || location.search.get(), search_models);
    view! {
        <Title text="Catalog · Model Registry"/>
        <RequirePermission permission=Permission::Read>
            <Catalog results/>
        </RequirePermission>
    }
}

#[component]
fn Catalog(results: ResultsResource) -> impl IntoView {
    let query = use_query_map();
    let field = move |k: &'static str| move || query.with(|q| q.get(k)).unwrap_or_default();
    view! {
        <div class="page-head">
            <h1>"Catalog"</h1>
            <A href="/models/new" attr:class="btn btn-primary">"Register a model"</A>
        </div>
        <section class="panel">
            <Form method="GET" action="/models" attr:class="search-form" attr:role="search">
                <label class="grow">"Search"
                    <input type="search" name="q" maxlength="256" placeholder="name, description, tag or team" value=field("q")/>
                </label>
                <label>"Stage"
                    <select name="stage">
                        <option value="">"any"</option>
                        {Stage::ALL.into_iter().map(|s| view! {
                            <option value=s.as_str() selected=move || field("stage")() == s.as_str()>{s.title()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Team" <input type="text" name="team" maxlength="64" value=field("team")/></label>
                <label>"Tag" <input type="text" name="tag" placeholder="key=value" value=field("tag")/></label>
                <label>"Framework" <input type="text" name="framework" maxlength="64" value=field("framework")/></label>
                <label>"Trained on dataset (hash)" <input type="text" name="dataset" maxlength="200" value=field("dataset")/></label>
                <label class="check">
                    <input type="checkbox" name="has_production" value="true" checked=move || field("has_production")() == "true"/>
                    "Has a Production version"
                </label>
                <label>"Sort"
                    <select name="sort">
                        <option value="relevance" selected=move || field("sort")().is_empty()>"relevance"</option>
                        <option value="name" selected=move || field("sort")() == "name">"name"</option>
                        <option value="updated" selected=move || field("sort")() == "updated">"last updated"</option>
                    </select>
                </label>
                <button type="submit" class="btn btn-primary">"Search"</button>
            </Form>
        </section>
        <Suspense fallback=|| view! { <p class="muted">"Searching…"</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    Ok(page) => Either::Left(view! { <Results page/> }),
                    Err(e) => Either::Right(view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }),
                }
            })}
        </Suspense>
    }
}

fn page_link(query: &CatalogQuery, page: u32) -> String {
    let mut url = String::from("/models?");
    for (k, v) in query.to_pairs() {
        url += &format!("{k}={}&", encode_component(&v));
    }
    url + &format!("page={page}")
}

#[component]
fn Results(page: SearchPage) -> impl IntoView {
    let prev = (page.query.page > 1).then(|| page_link(&page.query, page.query.page - 1));
    let next = page
        .has_next
        .then(|| page_link(&page.query, page.query.page + 1));
    let empty = page.models.is_empty();
    let current = page.query.page;
    view! {
        <Show when=move || empty>
            <p class="empty">"No models match this search."</p>
        </Show>
        <ul class="model-list">
            {page.models.into_iter().map(|m| {
                let href = format!("/models/{}", m.name);
                view! {
                    <li class="model-item">
                        <div class="model-item-head">
                            <A href=href attr:class="model-name">{m.name.clone()}</A>
                            {m.latest_version.clone().map(|v| view! { <span class="muted">"v"{v}</span> })}
                            {m.stages.iter().copied().filter(|s| *s != Stage::Experimental).map(|s| view! { <StageBadge stage=s/> }).collect_view()}
                        </div>
                        <p class="model-summary">{m.summary.clone()}</p>
                        <div class="model-meta">
                            {(!m.team.is_empty()).then(|| view! { <span>"team "<strong>{m.team.clone()}</strong></span> })}
                            <span>{format!("{} version{}", m.version_count, if m.version_count == 1 { "" } else { "s" })}</span>
                            <span>"updated "{format_time(m.updated_at)}</span>
                            <Tags tags=m.tags.clone()/>
                        </div>
                    </li>
                }
            }).collect_view()}
        </ul>
        <nav class="pager" aria-label="Pages">
            {prev.map(|href| view! { <A href=href>"← Previous"</A> })}
            <span>{format!("Page {current}")}</span>
            {next.map(|href| view! { <A href=href>"Next →"</A> })}
        </nav>
    }
}
