//! The `conn` binary: parse, run, exit with the code `run` returns.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(conn::cli::run(conn::cli::parse()))
}
