//! Authentication (who is calling) and the one authorization guard.

pub mod basic_cache;
pub mod csrf;
pub mod password;
pub mod principal;
pub mod throttle;
pub mod token;

pub use principal::Principal;
