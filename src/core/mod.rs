//! Shared vocabulary used by every other module: secrets, errors, paths, env, the UI trait.

pub mod env;
pub mod error;
pub mod interrupt;
pub mod log;
pub mod paths;
pub mod scrub;
pub mod secret;
pub mod testing;
pub mod time;
pub mod ui;
