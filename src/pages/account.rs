use leptos::{either::EitherOf3, prelude::*};
use leptos_meta::Title;

use crate::{
    actions::account::{list_my_tokens, ChangePassword, CreateToken, RevokeToken},
    components::{
        forms::{FormError, FormSuccess},
        guard::RequirePermission,
    },
    domain::Permission,
    dto::{format_time, TokenView},
};

type TokensResource = Resource<Result<Vec<TokenView>, crate::error::AppError>>;

#[component]
pub fn AccountPage() -> impl IntoView {
    // Made outside the guard, which may render its children twice on the
    // server: a resource made inside would be made twice (see `guard`).
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens: TokensResource = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_my_tokens(),
    );
    view! {
        <Title text="Account · Model Registry"/>
        <RequirePermission permission=Permission::Read>
            <h1>"Account"</h1>
            <Tokens tokens create revoke/>
            <PasswordForm/>
        </RequirePermission>
    }
}

#[component]
fn PasswordForm() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    view! {
        <section class="panel">
            <h2>"Change password"</h2>
            <FormError result=change.value().into()/>
            <FormSuccess result=change.value().into() text="Password changed."/>
            <ActionForm action=change attr:class="stack narrow-form">
                <label>"Current password"
                    <input type="password" name="current_password" autocomplete="current-password" required maxlength="256"/>
                </label>
                <label>"New password (at least 10 characters)"
                    <input type="password" name="new_password" autocomplete="new-password" required minlength="10" maxlength="256"/>
                </label>
                <label>"Repeat new password"
                    <input type="password" name="confirm_password" autocomplete="new-password" required minlength="10" maxlength="256"/>
                </label>
                <button type="submit" class="btn btn-primary">"Change password"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn Tokens(
    tokens: TokensResource,
    create: ServerAction<CreateToken>,
    revoke: ServerAction<RevokeToken>,
) -> impl IntoView {
    let secret = move || create.value().get().and_then(Result::ok).map(|c| c.secret);
    view! {
        <section class="panel">
            <h2>"API tokens"</h2>
            <p class="muted">"Tokens authenticate CI/CD jobs as you: "<code>"Authorization: Bearer <token>"</code>". A token can do what its scope allows, and never more than your role: "<strong>"read"</strong>" (the catalog and lookups), "<strong>"deploy"</strong>" (read, plus deployment reports), "<strong>"write"</strong>" (change the catalog, take part in approvals), "<strong>"admin"</strong>" (administration too, but never a password reset)."</p>
            <FormError result=create.value().into()/>
            <Show when=move || secret().is_some()>
                <div class="alert alert-success" role="status">
                    <p>"Copy this token now. It will not be shown again."</p>
                    <code class="secret" data-testid="new-token">{secret}</code>
                </div>
            </Show>
            <ActionForm action=create attr:class="row-form">
                <label>"Name" <input type="text" name="name" required maxlength="100" placeholder="deploy pipeline"/></label>
                <label>"Scope"
                    <select name="scope">
                        <option value="read" selected>"read"</option>
                        <option value="deploy">"deploy"</option>
                        <option value="write">"write"</option>
                        <option value="admin">"admin"</option>
                    </select>
                </label>
                <label>"Expires in (days, empty = never)" <input type="number" name="expires_in_days" min="1" max="3650"/></label>
                <button type="submit" class="btn btn-primary">"Create token"</button>
            </ActionForm>
            <FormError result=revoke.value().into()/>
            <Suspense fallback=|| view! { <p class="muted">"Loading tokens…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) if list.is_empty() => EitherOf3::A(view! { <p class="empty">"You have no tokens."</p> }),
                        Ok(list) => EitherOf3::B(view! { <TokenTable tokens=list revoke/> }),
                        Err(e) => EitherOf3::C(view! { <p class="alert alert-error">{e.to_string()}</p> }),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn TokenTable(tokens: Vec<TokenView>, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    view! {
        <table class="table">
            <thead><tr><th>"Name"</th><th>"Token"</th><th>"Scope"</th><th>"Created"</th><th>"Expires"</th><th>"Last used"</th><th>"State"</th><th></th></tr></thead>
            <tbody>
                {tokens.into_iter().map(|t| {
                    let revoked = t.revoked_at.is_some();
                    view! {
                        <tr>
                            <td>{t.name.clone()}</td>
                            <td><code>{format!("{}…", t.prefix)}</code></td>
                            <td><span class="badge">{t.scope.as_str()}</span></td>
                            <td>{format_time(t.created_at)}</td>
                            <td>{t.expires_at.map(format_time).unwrap_or_else(|| "never".into())}</td>
                            <td>{t.last_used_at.map(format_time).unwrap_or_else(|| "never".into())}</td>
                            <td>{if revoked { "revoked" } else { "active" }}</td>
                            <td>
                                <Show when=move || !revoked>
                                    <ActionForm action=revoke attr:class="inline-form">
                                        <input type="hidden" name="id" value=t.id/>
                                        <button type="submit" class="btn btn-danger btn-small">"Revoke"</button>
                                    </ActionForm>
                                </Show>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
