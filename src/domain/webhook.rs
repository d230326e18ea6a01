//! Webhooks: the event types a receiver can subscribe to, endpoint URLs
//! parsed from admin input, and which network addresses the server may
//! deliver to (so a webhook cannot be aimed at a cloud metadata service).

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    str::FromStr,
};

use serde::{Deserialize, Serialize};

use super::FieldError;

pub const WEBHOOK_URL_MAX_LEN: usize = 2048;

/// Something that happened in the registry that receivers can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WebhookEvent {
    #[serde(rename = "version.registered")]
    VersionRegistered,
    #[serde(rename = "transition.requested")]
    TransitionRequested,
    #[serde(rename = "transition.approved")]
    TransitionApproved,
    #[serde(rename = "transition.rejected")]
    TransitionRejected,
    #[serde(rename = "stage.changed")]
    StageChanged,
    #[serde(rename = "alias.moved")]
    AliasMoved,
    #[serde(rename = "version.evaluated")]
    VersionEvaluated,
    #[serde(rename = "deployment.reported")]
    DeploymentReported,
    /// A version reported serving where its stage does not allow it.
    #[serde(rename = "deployment.violation")]
    DeploymentViolation,
    /// A signed audit checkpoint was published.
    #[serde(rename = "audit.checkpoint")]
    AuditCheckpoint,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 10] = [
        WebhookEvent::VersionRegistered,
        WebhookEvent::TransitionRequested,
        WebhookEvent::TransitionApproved,
        WebhookEvent::TransitionRejected,
        WebhookEvent::StageChanged,
        WebhookEvent::AliasMoved,
        WebhookEvent::VersionEvaluated,
        WebhookEvent::DeploymentReported,
        WebhookEvent::DeploymentViolation,
        WebhookEvent::AuditCheckpoint,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::VersionRegistered => "version.registered",
            WebhookEvent::TransitionRequested => "transition.requested",
            WebhookEvent::TransitionApproved => "transition.approved",
            WebhookEvent::TransitionRejected => "transition.rejected",
            WebhookEvent::StageChanged => "stage.changed",
            WebhookEvent::AliasMoved => "alias.moved",
            WebhookEvent::VersionEvaluated => "version.evaluated",
            WebhookEvent::DeploymentReported => "deployment.reported",
            WebhookEvent::DeploymentViolation => "deployment.violation",
            WebhookEvent::AuditCheckpoint => "audit.checkpoint",
        }
    }

    /// A non-empty subscription list: each name known, duplicates dropped,
    /// in the canonical order of `ALL`.
    pub fn parse_set<S: AsRef<str>>(raw: &[S]) -> Result<Vec<WebhookEvent>, FieldError> {
        let mut events = raw
            .iter()
            .map(|s| s.as_ref().parse::<WebhookEvent>())
            .collect::<Result<Vec<_>, _>>()?;
        events.sort_unstable();
        events.dedup();
        if events.is_empty() {
            return Err(FieldError::new(
                "events",
                "choose at least one event to subscribe to",
            ));
        }
        Ok(events)
    }

    /// The stored form: comma-separated names.
    pub fn join(events: &[WebhookEvent]) -> String {
        events
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads the stored form back, skipping names this build does not know.
    pub fn split(stored: &str) -> Vec<WebhookEvent> {
        stored.split(',').filter_map(|s| s.parse().ok()).collect()
    }
}

impl fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WebhookEvent {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        WebhookEvent::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = WebhookEvent::ALL.iter().map(|e| e.as_str()).collect();
                FieldError::new(
                    "events",
                    format!("unknown event {s:?}; known: {}", known.join(", ")),
                )
            })
    }
}

/// An endpoint URL an admin may register: http(s), a host, no credentials
/// in it, and not an address or name of a cloud metadata service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

/// Hostnames that resolve to a metadata service inside clouds.
const METADATA_HOSTS: [&str; 2] = ["metadata.google.internal", "metadata"];

impl WebhookUrl {
    /// `allow_link_local` lifts the address refusals (for deployments whose
    /// receivers really are link-local); the scheme rules always hold.
    pub fn parse(raw: &str, allow_link_local: bool) -> Result<Self, FieldError> {
        let bad = |message: &str| FieldError::new("url", message);
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(bad("is required"));
        }
        if raw.chars().count() > WEBHOOK_URL_MAX_LEN {
            return Err(bad(&format!(
                "must be at most {WEBHOOK_URL_MAX_LEN} characters"
            )));
        }
        let url = url::Url::parse(raw).map_err(|e| bad(&format!("is not a valid URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("must start with http:// or https://"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "must not contain a user name or password; receivers verify the signature instead",
            ));
        }
        // The WHATWG parser has already normalised odd IPv4 forms
        // (`0xA9FEA9FE`, `2852039166`) to dotted quads, so these checks see them.
        match url.host() {
            None => return Err(bad("must name a host")),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name.is_empty() {
                    return Err(bad("must name a host"));
                }
                if !allow_link_local && METADATA_HOSTS.contains(&name.as_str()) {
                    return Err(bad("must not point at a cloud metadata service"));
                }
            }
            Some(url::Host::Ipv4(ip)) => {
                if !address_allowed(IpAddr::V4(ip), allow_link_local) {
                    return Err(bad(
                        "must not point at a link-local, metadata or unspecified address",
                    ));
                }
            }
            Some(url::Host::Ipv6(ip)) => {
                if !address_allowed(IpAddr::V6(ip), allow_link_local) {
                    return Err(bad(
                        "must not point at a link-local, metadata or unspecified address",
                    ));
                }
            }
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0.into()
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// May the server open a connection to `ip` for a webhook? Loopback and
/// private ranges are allowed (receivers often live there); link-local,
/// metadata and unspecified addresses are not, unless `allow_link_local`.
/// Checked on every resolved address, so DNS cannot smuggle one in.
pub fn address_allowed(ip: IpAddr, allow_link_local: bool) -> bool {
    if allow_link_local {
        return true;
    }
    match ip {
        IpAddr::V4(v4) => v4_allowed(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => v4_allowed(v4),
            None => v6_allowed(v6),
        },
    }
}

fn v4_allowed(ip: Ipv4Addr) -> bool {
    const ALIBABA_METADATA: Ipv4Addr = Ipv4Addr::new(100, 100, 100, 200);
    // 0.0.0.0/8 ("this network"): Linux connects 0.x.x.x to the local host.
    let this_network = ip.octets()[0] == 0;
    !(ip.is_link_local() || this_network || ip == ALIBABA_METADATA)
}

fn v6_allowed(ip: Ipv6Addr) -> bool {
    const AWS_METADATA: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
    let link_local = (ip.segments()[0] & 0xffc0) == 0xfe80;
    !(ip.is_unspecified() || link_local || ip == AWS_METADATA)
}

/// The IPv4 address an IPv6 one stands for: IPv4-mapped (`::ffff:a.b.c.d`)
/// or NAT64 (`64:ff9b::a.b.c.d`), both of which reach the IPv4 host.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return Some(Ipv4Addr::new(a, b, c, d));
    }
    None
}

/// Shortest and longest secret an admin may choose.
pub const SECRET_MIN_LEN: usize = 16;
pub const SECRET_MAX_LEN: usize = 256;
pub const WEBHOOK_DESCRIPTION_MAX_LEN: usize = 500;

/// A secret the admin chose: 16–256 visible ASCII characters (it goes into
/// receivers' config files and shells). `None`/empty: one is generated.
pub fn parse_secret(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(secret) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if !(SECRET_MIN_LEN..=SECRET_MAX_LEN).contains(&secret.len()) {
        return Err(FieldError::new(
            "secret",
            format!("must be {SECRET_MIN_LEN} to {SECRET_MAX_LEN} characters"),
        ));
    }
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FieldError::new(
            "secret",
            "must be visible ASCII characters without spaces",
        ));
    }
    Ok(Some(secret.to_owned()))
}

fn parse_description(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(text) = raw.map(str::trim) else {
        return Ok(None);
    };
    if text.chars().count() > WEBHOOK_DESCRIPTION_MAX_LEN {
        return Err(FieldError::new(
            "description",
            format!("must be at most {WEBHOOK_DESCRIPTION_MAX_LEN} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(
            "description",
            "must not contain control characters",
        ));
    }
    Ok(Some(text.to_owned()))
}

/// A new webhook endpoint, as the REST body and the admin page send it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema),
    schema(as = CreateWebhookBody)
)]
#[serde(deny_unknown_fields)]
pub struct WebhookForm {
    /// `http://` or `https://`; not link-local or a cloud metadata address.
    pub url: Option<String>,
    /// At least one of `version.registered`, `transition.requested`,
    /// `transition.approved`, `transition.rejected`, `stage.changed`, `alias.moved`,
    /// `version.evaluated`.
    pub events: Option<Vec<String>>,
    /// 16–256 visible ASCII characters; omit to have 32 random bytes (hex) generated.
    pub secret: Option<String>,
    pub description: Option<String>,
}

/// A new endpoint, checked; without a secret, one is generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: WebhookUrl,
    pub events: Vec<WebhookEvent>,
    pub secret: Option<String>,
    pub description: String,
}

impl WebhookForm {
    /// `allow_link_local` comes from the server's configuration (tests
    /// deliver to loopback receivers).
    pub fn parse(&self, allow_link_local: bool) -> Result<NewWebhook, FieldError> {
        Ok(NewWebhook {
            url: WebhookUrl::parse(self.url.as_deref().unwrap_or(""), allow_link_local)?,
            events: WebhookEvent::parse_set(self.events.as_deref().unwrap_or(&[]))?,
            secret: parse_secret(self.secret.as_deref())?,
            description: parse_description(self.description.as_deref())?.unwrap_or_default(),
        })
    }
}

/// Changes to an endpoint: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema),
    schema(as = UpdateWebhookBody)
)]
#[serde(deny_unknown_fields)]
pub struct WebhookEdit {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// A new secret (16–256 visible ASCII characters); receivers must switch too.
    pub secret: Option<String>,
    /// `false`: no new deliveries; queued ones stay pending until re-enabled.
    pub active: Option<bool>,
    pub description: Option<String>,
}

/// Changes to an endpoint, checked; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookChanges {
    pub url: Option<WebhookUrl>,
    pub events: Option<Vec<WebhookEvent>>,
    pub secret: Option<String>,
    pub active: Option<bool>,
    pub description: Option<String>,
}

impl WebhookEdit {
    pub fn parse(&self, allow_link_local: bool) -> Result<WebhookChanges, FieldError> {
        let secret = match self.secret.as_deref() {
            None => None,
            Some(raw) => Some(
                parse_secret(Some(raw))?
                    .ok_or_else(|| FieldError::new("secret", "must not be empty"))?,
            ),
        };
        Ok(WebhookChanges {
            url: self
                .url
                .as_deref()
                .map(|u| WebhookUrl::parse(u, allow_link_local))
                .transpose()?,
            events: self
                .events
                .as_deref()
                .map(WebhookEvent::parse_set)
                .transpose()?,
            secret,
            active: self.active,
            description: parse_description(self.description.as_deref())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_descriptions_name_their_fields() {
        assert_eq!(parse_secret(None).unwrap(), None);
        assert_eq!(parse_secret(Some("  ")).unwrap(), None);
        assert_eq!(
            parse_secret(Some(" 0123456789abcdef ")).unwrap().as_deref(),
            Some("0123456789abcdef")
        );
        for bad in [
            "short",
            "0123456789 abcdef",
            "0123456789abcdé€",
            &"x".repeat(257),
        ] {
            assert_eq!(
                parse_secret(Some(bad)).unwrap_err().field,
                "secret",
                "{bad}"
            );
        }
        assert_eq!(parse_description(None).unwrap(), None);
        assert_eq!(
            parse_description(Some(" ci ")).unwrap().as_deref(),
            Some("ci")
        );
        assert_eq!(
            parse_description(Some("a\u{7}")).unwrap_err().field,
            "description"
        );
    }

    #[test]
    fn forms_parse_into_endpoints_and_changes() {
        let form = WebhookForm {
            url: Some("https://hooks.example.com/x".into()),
            events: Some(vec!["version.registered".into()]),
            ..WebhookForm::default()
        };
        let hook = form.parse(false).unwrap();
        assert_eq!(hook.events, vec![WebhookEvent::VersionRegistered]);
        assert_eq!(hook.secret, None);
        assert_eq!(
            WebhookForm::default().parse(false).unwrap_err().field,
            "url"
        );
        let edit = WebhookEdit {
            secret: Some(" ".into()),
            ..WebhookEdit::default()
        };
        assert_eq!(edit.parse(false).unwrap_err().message, "must not be empty");
        assert_eq!(
            WebhookEdit::default().parse(false).unwrap(),
            WebhookChanges::default()
        );
    }

    #[test]
    fn events_round_trip_and_unknown_names_the_field() {
        for e in WebhookEvent::ALL {
            assert_eq!(e.as_str().parse::<WebhookEvent>().unwrap(), e);
            assert_eq!(e.to_string(), e.as_str());
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.as_str()));
        }
        assert_eq!(
            " stage.changed ".parse::<WebhookEvent>().unwrap(),
            WebhookEvent::StageChanged
        );
        for bad in ["", "version", "Version.Registered", "stage.changed,x"] {
            assert_eq!(bad.parse::<WebhookEvent>().unwrap_err().field, "events");
        }
    }

    #[test]
    fn event_sets_are_non_empty_deduplicated_and_stored_comma_separated() {
        let set =
            WebhookEvent::parse_set(&["alias.moved", "version.registered", "alias.moved"]).unwrap();
        assert_eq!(
            set,
            [WebhookEvent::VersionRegistered, WebhookEvent::AliasMoved]
        );
        let stored = WebhookEvent::join(&set);
        assert_eq!(stored, "version.registered,alias.moved");
        assert_eq!(WebhookEvent::split(&stored), set);
        assert_eq!(WebhookEvent::split(""), []);
        assert_eq!(
            WebhookEvent::split("gone.event,stage.changed"),
            [WebhookEvent::StageChanged]
        );
        let empty: [&str; 0] = [];
        assert_eq!(WebhookEvent::parse_set(&empty).unwrap_err().field, "events");
        assert_eq!(
            WebhookEvent::parse_set(&["nope"]).unwrap_err().field,
            "events"
        );
        assert_eq!(
            WebhookEvent::join(&WebhookEvent::ALL).split(',').count(),
            WebhookEvent::ALL.len()
        );
    }

    #[test]
    fn urls_are_http_with_a_host_and_no_credentials() {
        for ok in [
            "http://127.0.0.1:8080/hook",
            "https://hooks.example.com/x?y=1",
            "http://10.0.0.5/",
            "http://[::1]:9000/",
            "  https://example.com  ",
        ] {
            let url = WebhookUrl::parse(ok, false).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(url.as_str().starts_with("http"));
        }
        for bad in [
            "",
            "   ",
            "example.com/hook",
            "ftp://example.com/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://",
            "https://user:pw@example.com/",
            "https://user@example.com/",
            "http://exa mple.com/",
        ] {
            assert_eq!(
                WebhookUrl::parse(bad, false).unwrap_err().field,
                "url",
                "{bad}"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(WEBHOOK_URL_MAX_LEN));
        assert_eq!(WebhookUrl::parse(&long, false).unwrap_err().field, "url");
        let just_fits = format!(
            "https://example.com/{}",
            "a".repeat(WEBHOOK_URL_MAX_LEN - 20)
        );
        assert!(WebhookUrl::parse(&just_fits, false).is_ok());
    }

    #[test]
    fn urls_to_metadata_and_link_local_are_refused_unless_allowed() {
        for bad in [
            "http://169.254.169.254/latest/meta-data/",
            "http://169.254.1.1/",
            "http://0xA9FEA9FE/",
            "http://2852039166/",
            "http://0.0.0.0:8080/",
            "http://100.100.100.200/",
            "http://[fe80::1]/",
            "http://[::]/",
            "http://[fd00:ec2::254]/",
            "http://[::ffff:169.254.169.254]/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://METADATA.google.internal./",
            "http://metadata/",
        ] {
            assert_eq!(
                WebhookUrl::parse(bad, false).unwrap_err().field,
                "url",
                "{bad}"
            );
            assert!(WebhookUrl::parse(bad, true).is_ok(), "{bad}");
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_loopback_and_private_are_allowed() {
        for ok in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "8.8.8.8",
            "::1",
            "fd00::1",
            "fd00:ec2::253",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "fec0::1",
        ] {
            assert!(address_allowed(ip(ok), false), "{ok}");
        }
    }

    #[test]
    fn addresses_link_local_metadata_and_unspecified_are_refused_unless_allowed() {
        for bad in [
            "169.254.169.254",
            "169.254.0.1",
            "169.254.255.255",
            "100.100.100.200",
            "0.0.0.0",
            "0.1.2.3",
            "::",
            "fe80::1",
            "febf:ffff::1",
            "fd00:ec2::254",
            // IPv4-mapped and NAT64 forms are judged as the IPv4 address.
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::ffff:100.100.100.200",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!address_allowed(ip(bad), false), "{bad}");
            assert!(address_allowed(ip(bad), true), "{bad}");
        }
    }
}
