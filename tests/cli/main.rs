//! End-to-end tests of the `conn` binary in a sealed environment.

#[path = "../support/mod.rs"]
mod support;

mod check_status;
mod completions;
mod connections;
mod keychain;
mod oauth2;
mod providers;
mod robustness;
mod secrecy;
mod wizard;
