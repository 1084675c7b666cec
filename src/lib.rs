//! conn: named, authenticated connections to web APIs.
//!
//! Imports flow one way: `cli → commands → {auth, store, catalog, check, recipe} → core`;
//! `recipe` imports only `catalog` and `core`.

pub mod auth;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod commands;
pub mod core;
pub mod recipe;
pub mod store;

pub use cli::run;
