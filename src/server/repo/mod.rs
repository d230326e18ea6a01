//! One repository module per aggregate. Each takes an executor, so callers
//! choose between the pool (reads) and a transaction (writes + audit).

pub mod aliases;
pub mod artifacts;
pub mod audit;
pub mod backup;
pub mod content;
pub mod deployments;
pub mod evaluations;
mod json;
pub mod mlflow;
pub mod models;
pub mod pending_uploads;
pub mod search;
pub mod seeding;
pub mod sessions;
pub mod sql;
mod stored;
pub mod tags;
pub mod throttle;
pub mod timeline;
pub mod tokens;
pub mod tracking;
pub mod tracking_files;
pub mod users;
pub mod versions;
pub mod webhooks;
pub mod workflow;
