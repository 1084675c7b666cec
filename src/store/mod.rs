//! Persistence: connection metadata (TOML, no secrets), recipe bindings, and the secret stores.

pub mod bindings;
pub mod fsio;
pub mod metadata;
pub mod secrets;
pub mod vault;
