use leptos::{either::Either, prelude::*};
use leptos_meta::Title;

use crate::{
    actions::admin::{list_users, CreateUser, ResetPassword, SetActive, SetRole},
    components::{
        forms::{FormError, FormSuccess},
        guard::RequirePermission,
    },
    domain::{Permission, Role},
    dto::{format_time, UserRowView},
};

#[derive(Clone, Copy)]
struct UserActions {
    set_role: ServerAction<SetRole>,
    reset: ServerAction<ResetPassword>,
    set_active: ServerAction<SetActive>,
}

type UsersResource = Resource<Result<Vec<UserRowView>, crate::error::AppError>>;

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    // Made outside the guard, which may render its children twice on the
    // server: a resource made inside would be made twice (see `guard`).
    let create = ServerAction::<CreateUser>::new();
    let actions = UserActions {
        set_role: ServerAction::new(),
        reset: ServerAction::new(),
        set_active: ServerAction::new(),
    };
    let users: UsersResource = Resource::new(
        move || {
            (
                create.version().get(),
                actions.set_role.version().get(),
                actions.set_active.version().get(),
            )
        },
        |_| list_users(),
    );
    view! {
        <Title text="Users · Model Registry"/>
        <RequirePermission permission=Permission::Administer>
            <UsersAdmin users create actions/>
        </RequirePermission>
    }
}

#[component]
fn UsersAdmin(
    users: UsersResource,
    create: ServerAction<CreateUser>,
    actions: UserActions,
) -> impl IntoView {
    view! {
        <h1>"Users"</h1>
        <section class="panel">
            <h2>"Create a user"</h2>
            <FormError result=create.value().into()/>
            <FormSuccess result=create.value().into() text="User created."/>
            <ActionForm action=create attr:class="row-form">
                <label>"Username" <input type="text" name="username" required maxlength="64" autocomplete="off"/></label>
                <label>"Initial password" <input type="password" name="password" required minlength="10" maxlength="256" autocomplete="new-password"/></label>
                <label>"Role" <RoleSelect selected=Role::Viewer/></label>
                <button type="submit" class="btn btn-primary">"Create"</button>
            </ActionForm>
        </section>
        <section class="panel">
            <h2>"All users"</h2>
            <FormError result=actions.set_role.value().into()/>
            <FormError result=actions.set_active.value().into()/>
            <FormError result=actions.reset.value().into()/>
            <FormSuccess result=actions.reset.value().into() text="Password reset; the user's sessions were ended."/>
            <Suspense fallback=|| view! { <p class="muted">"Loading users…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(list) => Either::Left(view! { <UserTable users=list actions/> }),
                        Err(e) => Either::Right(view! { <p class="alert alert-error">{e.to_string()}</p> }),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn RoleSelect(selected: Role) -> impl IntoView {
    view! {
        <select name="role">
            {Role::ALL.into_iter().map(|r| view! {
                <option value=r.as_str() selected=r == selected>{r.as_str()}</option>
            }).collect_view()}
        </select>
    }
}

#[component]
fn UserTable(users: Vec<UserRowView>, actions: UserActions) -> impl IntoView {
    view! {
        <table class="table">
            <thead><tr><th>"User"</th><th>"Role"</th><th>"Status"</th><th>"Created"</th><th>"Reset password"</th><th></th></tr></thead>
            <tbody>
                {users.into_iter().map(|u| {
                    let next_active = if u.active { "false" } else { "true" };
                    let toggle_label = if u.active { "Deactivate" } else { "Reactivate" };
                    let (name1, name2, name3) = (u.username.clone(), u.username.clone(), u.username.clone());
                    view! {
                        <tr class:inactive=!u.active data-user=u.username.clone()>
                            <td><strong>{u.username.clone()}</strong></td>
                            <td>
                                <ActionForm action=actions.set_role attr:class="inline-form">
                                    <input type="hidden" name="username" value=name1/>
                                    <RoleSelect selected=u.role/>
                                    <button type="submit" class="btn btn-small">"Change"</button>
                                </ActionForm>
                            </td>
                            <td>{if u.active { "active" } else { "deactivated" }}</td>
                            <td>{format_time(u.created_at)}</td>
                            <td>
                                <ActionForm action=actions.reset attr:class="inline-form">
                                    <input type="hidden" name="username" value=name2/>
                                    <input type="password" name="new_password" required minlength="10" maxlength="256" placeholder="new password" autocomplete="new-password" aria-label="New password"/>
                                    <button type="submit" class="btn btn-small">"Reset"</button>
                                </ActionForm>
                            </td>
                            <td>
                                <ActionForm action=actions.set_active attr:class="inline-form">
                                    <input type="hidden" name="username" value=name3/>
                                    <input type="hidden" name="active" value=next_active/>
                                    <button type="submit" class="btn btn-small btn-danger">{toggle_label}</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
