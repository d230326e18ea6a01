//! The compliance report as a standalone, printable HTML page: the same
//! `ReportDocument` component the web page shows, rendered on the server.

use leptos::prelude::*;

use crate::{components::report::ReportDocument, dto::ComplianceReport, server::state::AppState};

/// Escapes text for an HTML text node or attribute.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn render(state: &AppState, report: ComplianceReport) -> String {
    let title = escape(&format!("Compliance report: {}", report.model.name));
    let css = format!("/pkg/{}.css", state.leptos_options.output_name);
    let owner = Owner::new();
    let body = owner.with(|| view! { <ReportDocument report/> }.to_html());
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>{title}</title><link rel=\"stylesheet\" href=\"{css}\"/></head>\
         <body class=\"report-page\"><main class=\"container\">{body}</main></body></html>\n"
    )
}
