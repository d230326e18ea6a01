//! Artifact upload on the version page. Before hydration it is a plain
//! multipart form (the server streams each file and redirects back). After
//! hydration, choosing or dropping files starts one streaming PUT per file
//! (XMLHttpRequest, for upload progress), each with a progress bar and a
//! cancel button; finished uploads refresh the artifact list.

use leptos::prelude::*;
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{File, ProgressEvent, XmlHttpRequest};

use crate::{components::guard::encode_component, dto::format_bytes};

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Uploading,
    Done,
    Failed,
    Cancelled,
}

#[derive(Clone, Copy)]
struct Item {
    id: usize,
    name: StoredValue<String>,
    size: f64,
    percent: RwSignal<f64>,
    phase: RwSignal<Phase>,
    error: RwSignal<Option<String>>,
    request: StoredValue<Option<XmlHttpRequest>, LocalStorage>,
}

/// The uploads of a page. Owned by the page, not the widget, so the list
/// survives the widget being re-rendered when the artifact list refreshes.
#[derive(Clone, Copy)]
pub struct UploadQueue {
    items: RwSignal<Vec<Item>>,
    next_id: StoredValue<usize>,
    owner: StoredValue<Owner>,
}

impl UploadQueue {
    pub fn new() -> Self {
        Self {
            items: RwSignal::new(Vec::new()),
            next_id: StoredValue::new(0),
            owner: StoredValue::new(Owner::current().unwrap_or_default()),
        }
    }
}

impl Default for UploadQueue {
    fn default() -> Self {
        Self::new()
    }
}

#[component]
pub fn ArtifactUpload(
    model: String,
    version: String,
    queue: UploadQueue,
    #[prop(into)] on_uploaded: Callback<()>,
) -> impl IntoView {
    let UploadQueue {
        items,
        next_id,
        owner,
    } = queue;
    let owner = owner.get_value();
    let folder = RwSignal::new(String::new());
    let dragging = RwSignal::new(false);
    let base = format!("/api/v1/models/{model}/versions/{version}/artifacts");
    let form_action = base.clone();

    // Refresh the artifact list once a batch has settled, not after each file:
    // overlapping refreshes could leave the older answer on screen.
    let settled = Callback::new(move |()| {
        let running = items.with_untracked(|list| {
            list.iter()
                .any(|i| i.phase.get_untracked() == Phase::Uploading)
        });
        if !running {
            on_uploaded.run(());
        }
    });
    let start = {
        let base = base.clone();
        move |file: File| {
            let id = next_id.get_value();
            next_id.set_value(id + 1);
            let prefix = folder.get_untracked().trim().trim_matches('/').to_owned();
            let name = if prefix.is_empty() {
                file.name()
            } else {
                format!("{prefix}/{}", file.name())
            };
            // Owned by the queue, not by this widget: the widget is re-rendered
            // when the artifact list refreshes, and its signals with it.
            let item = owner.with(|| Item {
                id,
                name: StoredValue::new(name.clone()),
                size: file.size(),
                percent: RwSignal::new(0.0),
                phase: RwSignal::new(Phase::Uploading),
                error: RwSignal::new(None),
                request: StoredValue::new_local(None),
            });
            items.update(|list| list.push(item));
            let url = format!(
                "{base}/{}",
                name.split('/')
                    .map(encode_component)
                    .collect::<Vec<_>>()
                    .join("/")
            );
            if let Err(message) = send(&url, &file, item, settled) {
                item.phase.set(Phase::Failed);
                item.error.set(Some(message));
            }
        }
    };
    let start_all = move |files: Option<web_sys::FileList>| {
        let Some(files) = files else { return };
        for i in 0..files.length() {
            if let Some(file) = files.item(i) {
                start.clone()(file);
            }
        }
    };
    let start_all_for_input = start_all.clone();

    view! {
        <form class="upload" method="post" enctype="multipart/form-data" action=form_action
            on:submit=move |ev| ev.prevent_default()>
            <div class="dropzone" class:dragging=move || dragging.get()
                on:dragover=move |ev| { ev.prevent_default(); dragging.set(true); }
                on:dragleave=move |_| dragging.set(false)
                on:drop=move |ev: web_sys::DragEvent| {
                    ev.prevent_default();
                    dragging.set(false);
                    start_all(ev.data_transfer().and_then(|d| d.files()));
                }>
                <p><strong>"Drop files here"</strong>" or choose them:"</p>
                <input type="file" name="file" multiple aria-label="Files to upload"
                    on:change=move |ev| {
                        let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| t.dyn_into().ok());
                        if let Some(input) = input {
                            start_all_for_input(input.files());
                            input.set_value("");
                        }
                    }/>
                <label class="inline">"Folder (optional) "
                    <input type="text" name="folder" placeholder="e.g. config" maxlength="200"
                        on:input=move |ev| folder.set(event_target_value(&ev))/>
                </label>
                // Hidden once hydrated (CSS on body[data-hydrated]): files then upload on selection.
                <button type="submit" class="btn no-js-only">"Upload"</button>
            </div>
        </form>
        <ul class="uploads" aria-live="polite">
            <For each=move || items.get() key=|item| item.id let:item>
                <li class=move || match item.phase.get() {
                    Phase::Uploading => "upload-item",
                    Phase::Done => "upload-item done",
                    Phase::Failed => "upload-item failed",
                    Phase::Cancelled => "upload-item cancelled",
                }>
                    <span class="upload-name">{item.name.get_value()}</span>
                    <span class="muted">{format_bytes(item.size as i64)}</span>
                    <progress max="100" value=move || item.percent.get() aria-label=format!("upload of {}", item.name.get_value())></progress>
                    <span class="upload-state">{move || match item.phase.get() {
                        Phase::Uploading => format!("{:.0}%", item.percent.get()),
                        Phase::Done => "uploaded".into(),
                        Phase::Failed => item.error.get().unwrap_or_else(|| "failed".into()),
                        Phase::Cancelled => "cancelled".into(),
                    }}</span>
                    <Show when=move || item.phase.get() == Phase::Uploading>
                        <button type="button" class="btn btn-small" on:click=move |_| {
                            item.request.with_value(|r| if let Some(r) = r { let _ = r.abort(); });
                        }>"Cancel"</button>
                    </Show>
                </li>
            </For>
        </ul>
    }
}

/// Starts one PUT of `file` to `url`, wiring progress and completion to `item`;
/// `settled` runs when it ends, however it ends.
fn send(url: &str, file: &File, item: Item, on_uploaded: Callback<()>) -> Result<(), String> {
    let failed = |_| "the browser could not start the upload".to_owned();
    let xhr = XmlHttpRequest::new().map_err(failed)?;
    xhr.open_with_async("PUT", url, true).map_err(failed)?;
    xhr.set_request_header("Content-Type", "application/octet-stream")
        .map_err(failed)?;
    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |ev: ProgressEvent| {
        if ev.length_computable() && ev.total() > 0.0 {
            item.percent.set(ev.loaded() / ev.total() * 100.0);
        }
    });
    xhr.upload()
        .map_err(failed)?
        .set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    on_progress.forget();
    let finished = xhr.clone();
    let on_load = Closure::<dyn FnMut()>::new(move || {
        if finished.status().unwrap_or(0) == 201 {
            item.percent.set(100.0);
            item.phase.set(Phase::Done);
        } else {
            let text = finished.response_text().ok().flatten().unwrap_or_default();
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("failed (HTTP {})", finished.status().unwrap_or(0)));
            item.phase.set(Phase::Failed);
            item.error.set(Some(message));
        }
        on_uploaded.run(());
    });
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    on_load.forget();
    let on_error = Closure::<dyn FnMut()>::new(move || {
        item.phase.set(Phase::Failed);
        item.error.set(Some("network error".into()));
        on_uploaded.run(());
    });
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    let on_abort = Closure::<dyn FnMut()>::new(move || {
        item.phase.set(Phase::Cancelled);
        on_uploaded.run(());
    });
    xhr.set_onabort(Some(on_abort.as_ref().unchecked_ref()));
    on_abort.forget();
    xhr.send_with_opt_blob(Some(file)).map_err(failed)?;
    item.request.set_value(Some(xhr));
    Ok(())
}
