//! The `conn` binary: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = conn::cli::parse();
    match conn::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("conn: error: {err:#}");
            ExitCode::from(conn::core::error::exit_code_for(&err))
        }
    }
}
