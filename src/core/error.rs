//! Error kinds that change the exit code, and the exit codes themselves.

use std::fmt;

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code for a failure.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for a usage error (bad or missing arguments).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when the user cancelled (Ctrl-C), as shells report a SIGINT death.
pub const EXIT_CANCELLED: u8 = 130;

/// The user asked for something the command line can't express as given: a missing value with
/// no terminal to ask on, a secret on argv, a bad `--set`. Exits 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Shorthand for returning a usage error.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// The user cancelled an interactive prompt (Ctrl-C, Esc). Nothing was saved.
#[derive(Debug)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cancelled; nothing was saved")
    }
}

impl std::error::Error for Cancelled {}

/// A command that finished and wants a specific exit code (e.g. `conn check`'s monitoring codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit(pub u8);

/// An error and all its sources, joined with ": " (what `{:#}` does for anyhow errors).
pub fn chain_text(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

/// Line and column (1-based) of a byte offset in `text`, for errors about a file.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, col)
}

/// Maps an error to the process exit code.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<UsageError>().is_some() {
        EXIT_USAGE
    } else if err.downcast_ref::<Cancelled>().is_some() {
        EXIT_CANCELLED
    } else {
        EXIT_FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
