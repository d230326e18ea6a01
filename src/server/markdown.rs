//! Model and version descriptions are Markdown, rendered on the server into
//! HTML that is safe to insert into a page: raw HTML in the source is shown
//! as text, and the result is sanitized (no scripts, no event handlers, no
//! `javascript:` or `data:` links).

use std::sync::OnceLock;

use pulldown_cmark::{html, Event, Options, Parser, Tag, TagEnd};

pub fn render(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    // Raw HTML becomes visible text instead of markup. Images load only from
    // our own origin: one from another host would tell it who looked at the
    // page, so it becomes a link a reader may follow deliberately.
    let mut linked_image = false;
    let events = Parser::new_ext(markdown, options).map(move |event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) if !same_origin_path(&dest_url) => {
            linked_image = true;
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            })
        }
        Event::End(TagEnd::Image) if linked_image => {
            linked_image = false;
            Event::End(TagEnd::Link)
        }
        other => other,
    });
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, events);
    sanitizer().clean(&unsafe_html).to_string()
}

/// `/pkg/x.png` or `docs/x.png`, not `//host/x` or `https://host/x`.
fn same_origin_path(url: &str) -> bool {
    let url = url.trim();
    !url.starts_with("//") && !url.starts_with('\\') && !url.contains(':')
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

    #[test]
    fn images_from_other_hosts_become_links() {
        for remote in [
            "![chart](https://tracker.example/p.png)",
            "![chart](//tracker.example/p.png)",
            "![chart](http:tracker.example/p.png)",
        ] {
            let html = render(remote);
            assert!(!html.contains("<img"), "{remote} → {html}");
            assert!(html.contains("<a href="), "{remote} → {html}");
            assert!(html.contains("chart"), "{remote} → {html}");
        }
        let local = render("![chart](/static/p.png) and ![rel](img/p.png)");
        assert_eq!(local.matches("<img").count(), 2, "{local}");
    }
}
