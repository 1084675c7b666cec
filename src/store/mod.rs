//! Persistence: connection metadata (TOML, no secrets) and the secret stores.

pub mod fsio;
pub mod metadata;
pub mod secrets;
