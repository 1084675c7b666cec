//! Team stores on OpenBao / HashiCorp Vault (KV v2): the HTTP client, configuration and token
//! sources, AppRole token cache, and the team layout with the claim-before-refresh protocol.

pub mod approle;
pub mod client;
pub mod config;
pub mod diagnose;
pub mod error;
pub mod team;

pub use config::TeamSettings;
pub use team::Team;
