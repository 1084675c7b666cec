//! Persistence: connection metadata (TOML, no secrets), what conn learned (state), recipe
//! bindings, the secret stores, and team stores on OpenBao / Vault.

pub(crate) mod bindings;
pub(crate) mod bisect;
pub(crate) mod fsio;
pub(crate) mod metadata;
pub(crate) mod metadata_cache;
pub(crate) mod metadata_journal;
pub(crate) mod metadata_slice;
pub(crate) mod metadata_text;
pub(crate) mod secrets;
pub(crate) mod state;
pub(crate) mod tomldoc;
pub(crate) mod vault;
