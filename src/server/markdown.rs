//! Model and version descriptions are Markdown, rendered on the server into
//! HTML that is safe to insert into a page: raw HTML in the source is shown
//! as text, and the result is sanitized (no scripts, no event handlers, no
//! `javascript:` or `data:` links).

use std::sync::OnceLock;

use pulldown_cmark::{html, Event, Options, Parser};

pub fn render(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    // Raw HTML becomes visible text instead of markup.
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, events);
    sanitizer().clean(&unsafe_html).to_string()
}

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.url_schemes(["http", "https", "mailto"].into_iter().collect())
            .link_rel(Some("noopener noreferrer nofollow"));
        b
    })
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn renders_markdown() {
        let html = render("# Fraud\n\n*fast* [docs](https://example.com/x)");
        assert!(html.contains("<h1>Fraud</h1>"));
        assert!(html.contains("<em>fast</em>"));
        assert!(html.contains(r#"href="https://example.com/x""#));
    }

    #[test]
    fn neutralises_scripts_handlers_and_javascript_links() {
        for evil in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "[click](JaVaScRiPt:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
            "<iframe src=\"https://evil.example\"></iframe>",
        ] {
            let html = render(evil);
            assert!(!html.contains("<script"), "{evil} → {html}");
            assert!(!html.contains("<img"), "{evil} → {html}");
            assert!(!html.contains("<iframe"), "{evil} → {html}");
            // No live link to a script or data URL (escaped source text may mention them).
            let lower = html.to_ascii_lowercase();
            assert!(!lower.contains("<a href=\"javascript:"), "{evil} → {html}");
            assert!(!lower.contains("<a href=\"data:"), "{evil} → {html}");
        }
        // Raw HTML is shown as text.
        assert!(render("<script>x</script>").contains("&lt;script&gt;"));
    }
}
