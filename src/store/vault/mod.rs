//! Team stores on OpenBao / HashiCorp Vault (KV v2): the HTTP client, configuration and token
//! sources, AppRole token cache, and the team layout with the claim-before-refresh protocol.

pub(crate) mod approle;
pub(crate) mod client;
pub(crate) mod config;
pub(crate) mod diagnose;
pub(crate) mod error;
pub(crate) mod team;

pub(crate) use config::TeamSettings;
pub(crate) use team::Team;
