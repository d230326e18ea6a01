use leptos::{either::Either, prelude::*};

use crate::dto::{format_bytes, format_time, ArtifactView};

/// The files of a version, with checksums; pickle-based formats carry a warning.
#[component]
pub fn ArtifactTable(artifacts: Vec<ArtifactView>) -> impl IntoView {
    if artifacts.is_empty() {
        return Either::Left(view! { <p class="empty">"No artifacts yet."</p> });
    }
    Either::Right(view! {
        <table class="table artifacts-table">
            <thead><tr><th>"Path"</th><th>"Size"</th><th>"Format"</th><th>"SHA-256"</th><th>"Added"</th></tr></thead>
            <tbody>
                {artifacts.into_iter().map(|a| {
                    let unsafe_format = a.unsafe_to_load;
                    let sha = a.sha256.clone().unwrap_or_else(|| "—".into());
                    let short = a.sha256.as_deref().map(|s| format!("{}…", &s[..s.len().min(16)])).unwrap_or_else(|| "—".into());
                    view! {
                        <tr data-path=a.path.clone()>
                            <td>
                                <a href=a.download_url.clone() download>{a.path.clone()}</a>
                                {a.external_uri.clone().map(|uri| view! { <div class="muted small">"linked: "<code>{uri}</code></div> })}
                            </td>
                            <td class="num nowrap">{a.size.map(format_bytes).unwrap_or_else(|| "—".into())}</td>
                            <td>
                                <span class="badge format">{a.format.clone()}</span>
                                <Show when=move || unsafe_format>
                                    <span class="badge warn" title="Pickle-based formats run code when loaded. Load only from sources you trust.">
                                        "⚠ unsafe to load from untrusted sources"
                                    </span>
                                </Show>
                            </td>
                            <td><code class="sha" title=sha.clone() data-sha256=sha>{short}</code></td>
                            <td class="nowrap">{format_time(a.created_at)}" · "{a.created_by.clone()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    })
}
