//! End-to-end tests of the `conn` binary in a sealed environment.
// The harness reads its own environment (PATH, the D-Bus session) to seal conn's; its helpers
// are `pub` for the test modules of this one binary.
#![allow(clippy::disallowed_methods, unreachable_pub)]

#[path = "../support/mod.rs"]
mod support;

mod check_answers;
mod check_scale;
mod check_status;
mod completions;
mod connections;
mod contracts;
mod environments;
mod exec;
mod field;
mod file_store;
mod generic_oauth2;
mod hardening;
mod journal;
mod keychain;
mod layers;
mod look;
mod man;
mod metadata_cache;
mod mutation;
mod oauth1;
mod oauth2;
mod oauth2_fakes;
mod oauth2_quirks;
mod oidc_refresh;
mod providers;
mod readme;
mod readme_example;
mod recipe;
mod request;
mod robustness;
mod rotation;
mod scrub;
mod secrecy;
mod secret_input;
mod state;
mod tables;
mod team;
mod tls_proxy;
mod ux;
mod wizard;
