//! Shared vocabulary used by every other module: the typed words of conn (`vocab`), secrets,
//! the error type and exit codes, paths, env access, the HTTP client factory, the UI trait.

pub mod env;
pub mod error;
pub(crate) mod http;
pub(crate) mod interrupt;
pub(crate) mod paths;
pub mod secret;
pub(crate) mod time;
pub(crate) mod ui;
pub mod vocab;
