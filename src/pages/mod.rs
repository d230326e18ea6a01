//! One module per page.

pub mod account;
pub mod admin_users;
pub mod audit;
pub mod home;
pub mod login;
pub mod not_found;
pub mod placeholders;
