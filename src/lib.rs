//! conn: named, authenticated connections to web APIs.
//!
//! Imports flow one way: `main → cli → commands → ops → {auth, store, catalog, check, recipe}
//! → core`; see docs/ARCHITECTURE.md for what each layer owns.

pub(crate) mod auth;
pub(crate) mod catalog;
pub(crate) mod check;
pub mod cli;
pub(crate) mod commands;
pub(crate) mod core;
pub(crate) mod ops;
pub(crate) mod recipe;
pub(crate) mod store;
