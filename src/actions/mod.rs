//! Server functions: the UI's actions and queries. Each is a public HTTP
//! endpoint under `/fn/`, so each resolves and authorizes its caller on the
//! server, calls one service, and maps the error (`context::respond`).

pub mod account;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod deployments;
pub mod reports;
pub mod webhooks;
pub mod workflow;

/// A boolean as a form's hidden input sends it: exactly `true` or `false`.
/// (Decoding the wire format, like a JSON boolean: the service still decides.)
#[cfg(feature = "ssr")]
pub(crate) fn form_bool(field: &str, raw: &str) -> Result<bool, crate::error::AppError> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(crate::error::AppError::invalid(
            field,
            "must be true or false",
        )),
    }
}

/// Only local paths are allowed as a post-sign-in destination (no open
/// redirect). Browsers drop tabs and newlines from URLs and read `\\` as
/// `/`, so `/\t/evil.example` would become `//evil.example`: anything but
/// visible ASCII is refused outright, and so are `//` and `/\\` starts.
pub fn safe_next(next: Option<&str>) -> String {
    const MAX_LEN: usize = 2048;
    match next {
        Some(n)
            if n.len() <= MAX_LEN
                && n.starts_with('/')
                && !n.starts_with("//")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(safe_next(Some("/models?q=x")), "/models?q=x");
        assert_eq!(safe_next(Some("/models/a%20b")), "/models/a%20b");
        for bad in [
            None,
            Some(""),
            Some("//evil.example"),
            Some("https://evil.example"),
            Some("/\\evil"),
            Some("/\t/evil.example"),
            Some("/\n"),
            Some("/\r\n/evil"),
            Some("/ /evil"),
            Some("/models\u{0}"),
            Some("/é"),
        ] {
            assert_eq!(safe_next(bad), "/");
        }
    }
}
