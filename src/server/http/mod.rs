//! The HTTP surface: the Leptos app (pages and server functions), the JSON
//! REST API under `/api/v1`, health probes, and the middleware around them.

pub mod alias_api;
pub mod api;
pub mod artifact_api;
pub mod audit_api;
pub mod catalog_api;
pub mod client_addr;
pub mod deploy_api;
pub mod desc;
pub mod errors;
pub mod extract;
pub mod layers;
pub mod openapi;
pub mod ops;
pub mod params;
pub mod release_api;
pub mod report_html;
pub mod router;
pub mod serve;
pub mod webhook_api;
pub mod workflow_api;

use std::net::SocketAddr;

use axum::{extract::ConnectInfo, http::request::Parts};

use super::repo::audit::Origin;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The client address and request id of a request, for logs, throttling
/// and the audit trail. `X-Forwarded-For` counts only from a trusted proxy.
pub fn client_origin(parts: &Parts, trusted: &client_addr::TrustedProxies) -> Origin {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let client = peer.map(|peer| {
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        trusted.client(peer, &forwarded).to_string()
    });
    Origin {
        client_addr: client,
        request_id: parts
            .headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}
