//! One module per page.

pub mod account;
pub mod admin_policy;
pub mod admin_users;
pub mod admin_webhooks;
pub mod approvals;
pub mod attribution;
pub mod audit;
pub mod catalog;
pub mod compare;
pub mod home;
pub mod login;
pub mod model;
pub mod new_model;
pub mod not_found;
pub mod report;
pub mod version;
