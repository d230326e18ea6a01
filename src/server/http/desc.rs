//! Response descriptions shared by many operations of the OpenAPI
//! document, so they read the same everywhere.

pub const UNAUTHENTICATED: &str = "Missing or invalid credentials";
pub const RATE_LIMITED: &str = "Too many failed HTTP Basic sign-ins; retry later";
pub const INTERNAL: &str = "Internal error; logged on the server, never detailed here";
pub const BAD_INPUT: &str = "Invalid input; `error.field` names the field when it can";
pub const TOO_LARGE: &str = "Request body too large";
pub const NOT_CONTRIBUTOR: &str =
    "The caller's role cannot change the catalog (contributor, approver or admin needed)";
pub const NOT_ADMIN: &str = "The caller is not an admin";
pub const NOT_AUDITOR: &str = "The caller is neither an auditor nor an admin";
pub const MODEL_NAME: &str = "The model; an old name of a renamed model redirects";
pub const MOVED: &str = "The model was renamed: follow `Location`";
pub const VERSION: &str = "A semantic version, e.g. `1.2.0`";
