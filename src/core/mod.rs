//! Shared vocabulary used by every other module: the typed words of conn (`vocab`), secrets,
//! the error type and exit codes, paths, env access, the HTTP client factory, the UI trait.

pub(crate) mod env;
pub(crate) mod error;
pub(crate) mod http;
pub(crate) mod interrupt;
pub(crate) mod paths;
pub(crate) mod scrub;
pub(crate) mod scrub_window;
pub(crate) mod secret;
pub(crate) mod text;
pub(crate) mod time;
pub(crate) mod ui;
pub(crate) mod vocab;
