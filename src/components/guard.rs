use leptos::{either::EitherOf3, prelude::*};
use leptos_router::{components::Redirect, hooks::use_location};

use super::CurrentUser;
use crate::domain::Permission;
use crate::error::set_status;

/// Renders its children only for a signed-in user with `permission`.
/// Anonymous visitors are redirected to sign in; others get a 403 page.
/// This is for the UI only: every server function checks again.
///
/// On the server this may render its children twice (once per resolution of
/// the user resource). A page must therefore make its resources *outside*
/// the guard and pass them in: a resource made inside is made twice, and the
/// browser hydrates with the first one's data, which can disagree with the
/// HTML (an intermittent "expected a marker node" panic).
#[component]
pub fn RequirePermission(permission: Permission, children: ChildrenFn) -> impl IntoView {
    let CurrentUser(user) = expect_context::<CurrentUser>();
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let children = children.clone();
                let here = format!("{}{}", location.pathname.get_untracked(), location.search.get_untracked());
                Suspend::new(async move {
                    match user.await {
                        Ok(Some(u)) if u.can(permission) => EitherOf3::A(children()),
                        Ok(Some(_)) => {
                            set_status(403);
                            EitherOf3::B(view! {
                                <section class="panel">
                                    <h1>"Not allowed"</h1>
                                    <p>"Your role does not give access to this page. Ask an administrator if you need it."</p>
                                </section>
                            })
                        }
                        _ => {
                            let target = format!("/login?next={}", encode_component(&here));
                            EitherOf3::C(view! { <Redirect path=target/> })
                        }
                    }
                })
            }}
        </Suspense>
    }
}

/// Percent-encodes a URL component (for `next=`).
pub fn encode_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
