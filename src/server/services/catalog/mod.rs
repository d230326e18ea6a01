//! The catalog: registering models and versions, editing what may be
//! edited, and reading it back as views. Each write authorizes, parses its
//! form (so a caller without the permission learns nothing from validation
//! errors), and commits its change with its audit event in one transaction.
//!
//! - `models`: create, edit, rename and delete models;
//! - `versions`: register versions, edit them, append metrics, delete;
//! - `views`: search results and the model and version pages' data.

mod models;
mod versions;
mod views;

pub use models::{create_model, delete_model, update_model};
pub use versions::{
    append_points, delete_version, finish_registration, register_version,
    register_version_with_files, update_version, StoredFile,
};
pub use views::{lineage_view, model_detail, search, version_detail};
