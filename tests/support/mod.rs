//! The sealed test environment and its helpers, by concern: `env` (a test's own CONN_HOME and
//! the `conn` command builder), `fake_api` (local fake APIs that record what they received),
//! `oauth` (the real OAuth servers and scripted browsers), `secrets` (reading the secret store
//! from outside), `bao` (a real OpenBao dev server for the team-store tests).
#![allow(dead_code)]

pub mod bao;
mod env;
mod fake_api;
mod oauth;
mod secrets;

pub use env::*;
pub use fake_api::*;
pub use oauth::*;
