//! Admin pages for webhooks: the endpoint list with a create form, and one
//! endpoint's delivery log. Every form posts to a server function, so the
//! pages work before hydration too.

use leptos::{
    either::{Either, EitherOf3},
    prelude::*,
};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::{
    actions::webhooks::{
        get_webhook, list_deliveries, list_webhooks, CreateWebhook, DeleteWebhook, ResendDelivery,
        SetWebhookActive,
    },
    components::{
        forms::{FormError, FormSuccess},
        guard::RequirePermission,
    },
    domain::DeliveryState,
    domain::{Permission, WebhookEvent},
    dto::{format_time, DeliveryView, WebhookView},
};

type Loaded<T> = Resource<Result<T, crate::error::AppError>>;

#[component]
pub fn AdminWebhooksPage() -> impl IntoView {
    // Made outside the guard, which may render its children twice on the
    // server: a resource made inside would be made twice (see `guard`).
    let create = ServerAction::<CreateWebhook>::new();
    let hooks: Loaded<Vec<WebhookView>> =
        Resource::new(move || create.version().get(), |_| list_webhooks());
    view! {
        <Title text="Webhooks · Model Registry"/>
        <RequirePermission permission=Permission::Administer>
            <WebhooksAdmin hooks create/>
        </RequirePermission>
    }
}

#[component]
fn WebhooksAdmin(
    hooks: Loaded<Vec<WebhookView>>,
    create: ServerAction<CreateWebhook>,
) -> impl IntoView {
    let secret = move || create.value().get().and_then(Result::ok).map(|c| c.secret);
    view! {
        <div class="crumbs"><A href="/admin/users">"Admin"</A>" / Webhooks"</div>
        <h1>"Webhooks"</h1>
        <section class="panel">
            <h2>"Add an endpoint"</h2>
            <p class="muted">"Each event is POSTed as JSON, signed with the endpoint's secret ("<code>"X-Registry-Signature"</code>"). See the README for how receivers verify it."</p>
            <FormError result=create.value().into()/>
            <Show when=move || secret().is_some()>
                <div class="alert alert-success" role="status">
                    <p>"Endpoint added. Copy its signing secret now: it will not be shown again."</p>
                    <code class="secret" data-testid="new-webhook-secret">{secret}</code>
                </div>
            </Show>
            <ActionForm action=create attr:class="stack">
                <label>"URL" <input type="url" name="url" required maxlength="2048" placeholder="https://ci.example.com/hooks/registry"/></label>
                <fieldset class="checks">
                    <legend>"Events"</legend>
                    {WebhookEvent::ALL.into_iter().map(|e| view! {
                        <label class="inline"><input type="checkbox" name="events[]" value=e.as_str()/><code>{e.as_str()}</code></label>
                    }).collect_view()}
                </fieldset>
                <label>"Secret (empty: generate one)" <input type="text" name="secret" minlength="16" maxlength="256" autocomplete="off"/></label>
                <label>"Description" <input type="text" name="description" maxlength="500"/></label>
                <div><button type="submit" class="btn btn-primary">"Add endpoint"</button></div>
            </ActionForm>
        </section>
        <section class="panel">
            <h2>"Endpoints"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading endpoints…"</p> }>
                {move || Suspend::new(async move {
                    match hooks.await {
                        Ok(list) if list.is_empty() => EitherOf3::A(view! { <p class="empty">"No endpoints yet."</p> }),
                        Ok(list) => EitherOf3::B(view! { <WebhookTable hooks=list/> }),
                        Err(e) => EitherOf3::C(view! { <p class="alert alert-error">{e.to_string()}</p> }),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn WebhookTable(hooks: Vec<WebhookView>) -> impl IntoView {
    view! {
        <table class="table">
            <thead><tr><th>"URL"</th><th>"Events"</th><th>"State"</th><th>"Description"</th><th>"Created"</th></tr></thead>
            <tbody>
                {hooks.into_iter().map(|h| view! {
                    <tr class:inactive=!h.active>
                        <td><A href=format!("/admin/webhooks/{}", h.id)>{h.url.clone()}</A></td>
                        <td>{h.events.join(", ")}</td>
                        <td>{if h.active { "active" } else { "disabled" }}</td>
                        <td>{h.description.clone()}</td>
                        <td class="nowrap">{format_time(h.created_at)}" by "{h.created_by.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn AdminWebhookPage() -> impl IntoView {
    // Made outside the guard (see `AdminWebhooksPage`).
    let params = use_params_map();
    let actions = DetailActions {
        toggle: ServerAction::new(),
        delete: ServerAction::new(),
        resend: ServerAction::new(),
    };
    // A non-numeric id becomes 0, which no webhook has: the page says "not found".
    let id = move || params.with(|p| p.get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0));
    let hook: Loaded<WebhookView> = Resource::new(
        move || (id(), actions.toggle.version().get()),
        |(id, _)| get_webhook(id),
    );
    let log: Loaded<Vec<DeliveryView>> = Resource::new(
        move || (id(), actions.resend.version().get()),
        |(id, _)| list_deliveries(id),
    );
    view! {
        <Title text="Webhook · Model Registry"/>
        <RequirePermission permission=Permission::Administer>
            <WebhookDetail hook log actions/>
        </RequirePermission>
    }
}

#[derive(Clone, Copy)]
struct DetailActions {
    toggle: ServerAction<SetWebhookActive>,
    delete: ServerAction<DeleteWebhook>,
    resend: ServerAction<ResendDelivery>,
}

#[component]
fn WebhookDetail(
    hook: Loaded<WebhookView>,
    log: Loaded<Vec<DeliveryView>>,
    actions: DetailActions,
) -> impl IntoView {
    view! {
        <div class="crumbs"><A href="/admin/webhooks">"Webhooks"</A>" / endpoint"</div>
        <FormError result=actions.toggle.value().into()/>
        <FormError result=actions.delete.value().into()/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match hook.await {
                    Ok(h) => Either::Left(view! { <WebhookSummary h actions/> }),
                    Err(e) => Either::Right(view! {
                        <section class="panel"><h1>"Webhook"</h1><p class="alert alert-error" role="alert">{e.to_string()}</p></section>
                    }),
                }
            })}
        </Suspense>
        <section class="panel">
            <h2>"Deliveries"</h2>
            <FormError result=actions.resend.value().into()/>
            <FormSuccess result=actions.resend.value().into() text="Queued again as a new delivery."/>
            <Suspense fallback=|| view! { <p class="muted">"Loading deliveries…"</p> }>
                {move || Suspend::new(async move {
                    match log.await {
                        Ok(list) if list.is_empty() => EitherOf3::A(view! { <p class="empty">"Nothing delivered yet."</p> }),
                        Ok(list) => EitherOf3::B(view! { <DeliveryTable deliveries=list resend=actions.resend/> }),
                        Err(e) => EitherOf3::C(view! { <p class="alert alert-error">{e.to_string()}</p> }),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn WebhookSummary(h: WebhookView, actions: DetailActions) -> impl IntoView {
    let next_active = if h.active { "false" } else { "true" };
    let toggle_label = if h.active { "Disable" } else { "Enable" };
    view! {
        <section class="panel">
            <div class="page-head">
                <h1>"Webhook"</h1>
                <ActionForm action=actions.toggle attr:class="inline-form">
                    <input type="hidden" name="id" value=h.id/>
                    <input type="hidden" name="active" value=next_active/>
                    <button type="submit" class="btn">{toggle_label}</button>
                </ActionForm>
                <ActionForm action=actions.delete attr:class="inline-form">
                    <input type="hidden" name="id" value=h.id/>
                    <button type="submit" class="btn btn-danger">"Delete"</button>
                </ActionForm>
            </div>
            <dl class="kv">
                <dt>"URL"</dt><dd><code>{h.url.clone()}</code></dd>
                <dt>"Events"</dt><dd>{h.events.join(", ")}</dd>
                <dt>"State"</dt><dd>{if h.active { "active" } else { "disabled: no new deliveries; queued ones wait until it is enabled" }}</dd>
                <dt>"Description"</dt><dd>{h.description.clone()}</dd>
                <dt>"Created"</dt><dd>{format_time(h.created_at)}" by "{h.created_by.clone()}</dd>
            </dl>
        </section>
    }
}

#[component]
fn DeliveryTable(
    deliveries: Vec<DeliveryView>,
    resend: ServerAction<ResendDelivery>,
) -> impl IntoView {
    view! {
        <table class="table">
            <thead><tr><th>"Time"</th><th>"Event"</th><th>"State"</th><th class="num">"Attempts"</th><th>"Last status"</th><th>"Last error"</th><th></th></tr></thead>
            <tbody>
                {deliveries.into_iter().map(|d| {
                    let badge = match d.state {
                        DeliveryState::Delivered => "badge stage-production",
                        DeliveryState::Failed => "badge warn",
                        DeliveryState::Pending => "badge stage-staging",
                    };
                    let next = (d.state == DeliveryState::Pending)
                        .then(|| format!("next attempt {}", format_time(d.next_attempt_at)));
                    view! {
                        <tr data-delivery=d.delivery_uuid.clone()>
                            <td class="nowrap">{format_time(d.created_at)}</td>
                            <td><code>{d.event_type.clone()}</code></td>
                            <td><span class=badge title=next>{d.state.as_str()}</span></td>
                            <td class="num">{d.attempts}</td>
                            <td>{d.last_status.map(|s| s.to_string()).unwrap_or_else(|| "-".into())}</td>
                            <td class="small">{d.last_error.clone().unwrap_or_default()}</td>
                            <td>
                                <ActionForm action=resend attr:class="inline-form">
                                    <input type="hidden" name="id" value=d.webhook_id/>
                                    <input type="hidden" name="delivery_id" value=d.id/>
                                    <button type="submit" class="btn btn-small">"Resend"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
