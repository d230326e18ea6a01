//! The OpenAPI 3.1 document of the REST API, generated at compile time from
//! the handlers' `#[utoipa::path]` annotations and the types they exchange,
//! so it cannot drift from the code the way a hand-written file would.

use std::sync::LazyLock;

use axum::Json;
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use super::{
    alias_api, api, artifact_api, audit_api, catalog_api, deploy_api, errors::ErrorBody,
    release_api, webhook_api, workflow_api,
};

/// The names that `security(...)` in the handlers' annotations refer to.
pub const BEARER: &str = "bearer";
pub const BASIC: &str = "basic";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Model Registry API",
        description = "JSON API for machines (CI/CD). Authenticate with `Authorization: Bearer <token>` \
            (mint a token with HTTP Basic at `POST /api/v1/tokens`, or in the web UI) or with HTTP Basic. \
            A browser session cookie works too, but then state-changing requests need a same-origin \
            `Origin` header. Times are Unix milliseconds (UTC). Every error is an `ErrorBody`."
    ),
    paths(
        api::me,
        api::list_tokens,
        api::create_token,
        api::revoke_token,
        api::list_users,
        api::create_user,
        api::update_user,
        catalog_api::search_models,
        catalog_api::create_model,
        catalog_api::get_model,
        catalog_api::patch_model,
        catalog_api::list_versions,
        catalog_api::register_version,
        catalog_api::get_version,
        catalog_api::patch_version,
        catalog_api::delete_version,
        catalog_api::finish_registration,
        catalog_api::append_metrics,
        artifact_api::list,
        artifact_api::create,
        artifact_api::upload,
        artifact_api::download,
        artifact_api::delete,
        release_api::get_content,
        release_api::create_evaluation,
        release_api::list_evaluations,
        alias_api::stage_lookup,
        alias_api::alias_lookup,
        alias_api::list_aliases,
        alias_api::set_alias,
        alias_api::delete_alias,
        workflow_api::open_request,
        workflow_api::get_request,
        workflow_api::approve,
        workflow_api::reject,
        workflow_api::cancel,
        workflow_api::list_requests,
        workflow_api::get_policy,
        workflow_api::put_policy,
        workflow_api::put_model_policy,
        webhook_api::list,
        webhook_api::create,
        webhook_api::show,
        webhook_api::update,
        webhook_api::remove,
        webhook_api::deliveries,
        webhook_api::resend,
        deploy_api::list_environments,
        deploy_api::create_environment,
        deploy_api::report_deployment,
        deploy_api::environment_timeline,
        deploy_api::serving,
        deploy_api::attribution,
        deploy_api::dataset_impact,
        deploy_api::issue_receipt,
        deploy_api::get_receipt,
        deploy_api::verify_receipt,
        deploy_api::keys,
        deploy_api::list_checkpoints,
        deploy_api::publish_checkpoint,
        deploy_api::verify_checkpoints,
        audit_api::list_events,
        audit_api::verify,
        audit_api::start_full_verification,
        audit_api::verification_job,
        audit_api::export_events,
        audit_api::stages_at,
        audit_api::report,
        openapi_json,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Who is calling"),
        (name = "tokens", description = "API tokens, for machines"),
        (name = "users", description = "User accounts and roles (admins)"),
        (name = "models", description = "Registered models and catalog search"),
        (name = "versions", description = "Semver versions of a model: lineage, params, metrics"),
        (name = "artifacts", description = "A version's files: streaming upload, ranged download, links"),
        (name = "lookups", description = "For deployment pipelines: the version in a stage or behind an alias, with its files"),
        (name = "aliases", description = "Named pointers to versions (`champion`, `challenger`)"),
        (name = "requests", description = "Requests to change a stage or a protected alias, and their sign-offs"),
        (name = "policy", description = "How many sign-offs each stage and protected alias needs"),
        (name = "webhooks", description = "Signed HTTP callbacks on registry events (admins)"),
        (name = "deployments", description = "Environments, what they served when, attribution and dataset impact"),
        (name = "receipts", description = "Signed release receipts and the public keys that verify them"),
        (name = "audit", description = "The tamper-evident audit trail and compliance reports (auditors and admins)"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

/// Security schemes can't be declared in the derive; they're added here.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token, from `POST /api/v1/tokens` or the web UI",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            BASIC,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "Username and password (throttled after failures), or any username \
                         with an API token as the password",
                    ))
                    .build(),
            ),
        );
    }
}

/// Built on first request and kept: it never changes while the process runs.
static DOC: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// This OpenAPI document
///
/// Readable without credentials: it describes the API and exposes no data.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)),
    security(()),
)]
pub async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(&DOC)
}
