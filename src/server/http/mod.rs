//! The HTTP surface: the Leptos app (pages and server functions), the JSON
//! REST API under `/api/v1`, health probes, and the middleware around them.

pub mod api;
pub mod artifact_api;
pub mod audit_api;
pub mod catalog_api;
pub mod errors;
pub mod extract;
pub mod openapi;
pub mod release_api;
pub mod report_html;
pub mod router;
pub mod webhook_api;
pub mod workflow_api;

use std::net::SocketAddr;

use axum::{extract::ConnectInfo, http::request::Parts};

use super::repo::audit::Origin;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The client address and request id of a request, for logs and the audit trail.
pub fn client_origin(parts: &Parts, trust_proxy: bool) -> Origin {
    let forwarded = trust_proxy
        .then(|| {
            parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(|v| v.trim().to_owned())
                .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
        })
        .flatten();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    Origin {
        client_addr: forwarded.or(peer),
        request_id: parts
            .headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}
