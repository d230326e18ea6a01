//! The OpenAPI document at /api/v1/openapi.json: public, OpenAPI 3.x, and
//! in step with the routes and the behaviour it describes.

mod common;

use common::{Auth, Backend, TestDb, TestServer, ADMIN_PASSWORD};
use reqwest::StatusCode;
use serde_json::Value;

/// Every API route and its methods. Adding a route without documenting it
/// (or documenting one that does not exist) fails here.
const ROUTES: &[(&str, &[&str])] = &[
    ("/api/v1/me", &["get"]),
    ("/api/v1/tokens", &["get", "post"]),
    ("/api/v1/tokens/{id}", &["delete"]),
    ("/api/v1/users", &["get", "post"]),
    ("/api/v1/users/{username}", &["patch"]),
    ("/api/v1/models", &["get", "post"]),
    ("/api/v1/models/{name}", &["get", "patch"]),
    ("/api/v1/models/{name}/versions", &["get", "post"]),
    (
        "/api/v1/models/{name}/versions/{version}",
        &["get", "patch", "delete"],
    ),
    (
        "/api/v1/models/{name}/versions/{version}/metrics",
        &["post"],
    ),
    (
        "/api/v1/models/{name}/versions/{version}/registration",
        &["post"],
    ),
    (
        "/api/v1/models/{name}/versions/{version}/artifacts",
        &["get", "post"],
    ),
    (
        "/api/v1/models/{name}/versions/{version}/artifacts/{path}",
        &["get", "put", "delete"],
    ),
    ("/api/v1/models/{name}/stages/{stage}", &["get"]),
    ("/api/v1/models/{name}/aliases", &["get"]),
    (
        "/api/v1/models/{name}/aliases/{alias}",
        &["get", "put", "delete"],
    ),
    (
        "/api/v1/models/{name}/versions/{version}/requests",
        &["post"],
    ),
    ("/api/v1/models/{name}/requests/{id}", &["get"]),
    ("/api/v1/models/{name}/requests/{id}/approve", &["post"]),
    ("/api/v1/models/{name}/requests/{id}/reject", &["post"]),
    ("/api/v1/models/{name}/requests/{id}/cancel", &["post"]),
    ("/api/v1/requests", &["get"]),
    ("/api/v1/policy", &["get", "put"]),
    ("/api/v1/models/{name}/policy", &["put"]),
    ("/api/v1/webhooks", &["get", "post"]),
    ("/api/v1/audit", &["get"]),
    ("/api/v1/audit/verify", &["get"]),
    ("/api/v1/audit/export", &["get"]),
    ("/api/v1/models/{name}/stages", &["get"]),
    ("/api/v1/models/{name}/report", &["get"]),
    ("/api/v1/webhooks/{id}", &["get", "patch", "delete"]),
    ("/api/v1/webhooks/{id}/deliveries", &["get"]),
    (
        "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend",
        &["post"],
    ),
    ("/api/v1/models/{name}/versions/{version}/content", &["get"]),
    (
        "/api/v1/models/{name}/versions/{version}/evaluations",
        &["get", "post"],
    ),
    ("/api/v1/audit/verify/full", &["post"]),
    ("/api/v1/audit/verify/jobs/{id}", &["get"]),
    ("/api/v1/openapi.json", &["get"]),
    ("/api/v1/environments", &["get", "post"]),
    ("/api/v1/environments/{env}/deployments", &["get", "post"]),
    ("/api/v1/environments/{env}/serving", &["get"]),
    ("/api/v1/attribution", &["get"]),
    ("/api/v1/impact", &["get"]),
    (
        "/api/v1/models/{name}/versions/{version}/receipts",
        &["post"],
    ),
    ("/api/v1/receipts/{id}", &["get"]),
    ("/api/v1/receipts/verify", &["post"]),
    ("/api/v1/keys", &["get"]),
    ("/api/v1/audit/checkpoints", &["get", "post"]),
    ("/api/v1/audit/checkpoints/verify", &["get"]),
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_public_and_covers_every_route() {
    let db = TestDb::new(Backend::Sqlite).await;
    let s = TestServer::start(db.config()).await;

    // No credentials: the document describes the API and exposes no data.
    let (status, doc) = s.get_json("/api/v1/openapi.json", Auth::None).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "{version}");

    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in ROUTES {
        let item = paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} is not documented"));
        let mut documented: Vec<&str> = METHODS
            .into_iter()
            .filter(|m| item.get(*m).is_some())
            .collect();
        let mut expected = methods.to_vec();
        documented.sort_unstable();
        expected.sort_unstable();
        assert_eq!(documented, expected, "methods of {path}");
    }
    assert_eq!(
        paths.len(),
        ROUTES.len(),
        "documented paths that are not routes: {:?}",
        paths.keys().collect::<Vec<_>>()
    );

    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "VersionDetail",
        "ModelDetail",
        "SearchPage",
        "ErrorBody",
        "Stage",
        "Role",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    // Every $ref points at a schema that exists.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in &refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(schemas.contains_key(name), "dangling $ref {r}");
    }
    // The error schema is the wire shape of every error.
    let error = &schemas["ErrorBody"];
    assert_eq!(
        error["properties"]["error"]["$ref"],
        "#/components/schemas/ErrorDetail"
    );
    let detail = &schemas["ErrorDetail"]["properties"];
    let required = &schemas["ErrorDetail"]["required"];
    for field in ["code", "message", "field"] {
        assert!(detail.get(field).is_some(), "ErrorDetail.{field}");
        assert!(
            required.as_array().unwrap().contains(&Value::from(field)),
            "ErrorDetail.{field} is always sent"
        );
    }
    assert!(detail["code"]["enum"]
        .as_array()
        .unwrap()
        .contains(&Value::from("not_found")));

    // Security: both schemes defined; every operation but this document's
    // requires one of them, and names only defined schemes.
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["basic"]["scheme"], "basic");
    for (path, methods) in ROUTES {
        for method in *methods {
            let op = &paths[*path][*method];
            let security = op["security"].as_array().expect("security");
            let names: Vec<&String> = security
                .iter()
                .flat_map(|r| r.as_object().unwrap().keys())
                .collect();
            // Public: the document itself and the published verification keys.
            if *path == "/api/v1/openapi.json" || *path == "/api/v1/keys" {
                assert!(names.is_empty(), "{names:?}");
                continue;
            }
            assert!(!names.is_empty(), "{method} {path} has no security");
            for name in names {
                assert!(schemes.contains_key(name), "{method} {path}: {name}");
            }
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("401"),
                "{method} {path} does not document 401"
            );
            assert_eq!(
                responses["401"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path}"
            );
        }
    }

    // The documented search parameters and their bounds match what the
    // server accepts.
    let search = &paths["/api/v1/models"]["get"];
    let params: Vec<&Value> = search["parameters"].as_array().unwrap().iter().collect();
    let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "q",
            "stage",
            "team",
            "tag",
            "framework",
            "dataset",
            "has_production",
            "sort",
            "page",
            "per_page"
        ]
    );
    let admin = Auth::Basic("admin", ADMIN_PASSWORD);
    for name in ["page", "per_page"] {
        let param = params.iter().find(|p| p["name"] == name).unwrap();
        let max = param["schema"]["maximum"].as_u64().expect("maximum");
        let min = param["schema"]["minimum"].as_u64().expect("minimum");
        for (value, ok) in [(min, true), (max, true), (min - 1, false), (max + 1, false)] {
            let (status, body) = s
                .get_json(&format!("/api/v1/models?{name}={value}"), admin)
                .await;
            let expected = if ok {
                StatusCode::OK
            } else {
                StatusCode::BAD_REQUEST
            };
            assert_eq!(status, expected, "{name}={value}: {body}");
        }
    }

    s.stop().await;
    db.drop_db().await;
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
