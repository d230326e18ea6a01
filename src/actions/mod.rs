//! Server functions: the UI's actions and queries. Each is a public HTTP
//! endpoint under `/fn/`, so each resolves and authorizes its caller on the
//! server, calls one service, and maps the error (`context::respond`).

pub mod account;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod reports;
pub mod webhooks;
pub mod workflow;

/// Only local paths are allowed as a post-sign-in destination (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(safe_next(Some("/models?q=x")), "/models?q=x");
        for bad in [
            None,
            Some(""),
            Some("//evil.example"),
            Some("https://evil.example"),
            Some("/\\evil"),
        ] {
            assert_eq!(safe_next(bad), "/");
        }
    }
}
