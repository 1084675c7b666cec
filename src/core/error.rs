//! The one error type that carries its exit code, the codes themselves, and the one place
//! that maps any error to a code (`Exit::of`).

use std::fmt;

/// How a command ends, as a process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 1: a failure; the message says what to do.
    Failure,
    /// 2: a bad or missing argument, a secret on argv.
    Usage,
    /// 3: `conn check` could not run at all (monitoring UNKNOWN).
    Unknown,
    /// 130: cancelled at a prompt (Ctrl-C), as shells report a SIGINT death.
    Cancelled,
}

impl Exit {
    pub(crate) fn code(self) -> u8 {
        match self {
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Unknown => 3,
            Exit::Cancelled => 130,
        }
    }

    /// The exit code an error ends the process with: the `Error` in its chain, else 1.
    /// The only place an error becomes an exit code.
    pub(crate) fn of(err: &anyhow::Error) -> Exit {
        err.chain()
            .find_map(|e| e.downcast_ref::<Error>())
            .map_or(Exit::Failure, |e| e.exit)
    }
}

/// An error with the exit code it ends the process with. Its text is the wrapped error's,
/// sources included.
#[derive(Debug)]
pub(crate) struct Error {
    exit: Exit,
    inner: anyhow::Error,
}

impl Error {
    /// `inner` as an error that exits with `exit`.
    pub(crate) fn with_exit(inner: anyhow::Error, exit: Exit) -> anyhow::Error {
        anyhow::Error::new(Error { exit, inner })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.inner)
    }
}

impl std::error::Error for Error {}

/// A usage error (exit 2): the user asked for something the command line can't express as
/// given: a missing value with no terminal to ask on, a secret on argv, a bad `--set`.
pub(crate) fn usage(msg: impl Into<String>) -> anyhow::Error {
    Error::with_exit(anyhow::anyhow!(msg.into()), Exit::Usage)
}

/// The user cancelled an interactive prompt (Ctrl-C, Esc); nothing was saved (exit 130).
pub(crate) fn cancelled() -> anyhow::Error {
    Error::with_exit(
        anyhow::anyhow!("cancelled; nothing was saved"),
        Exit::Cancelled,
    )
}

/// An error and all its sources, joined with ": " (what `{:#}` does for anyhow errors).
pub(crate) fn chain_text(e: &dyn std::error::Error) -> String {
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
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_is_found_through_context() {
        use anyhow::Context;
        let e = Err::<(), _>(usage("bad flag"))
            .context("while parsing")
            .unwrap_err();
        assert_eq!(Exit::of(&e), Exit::Usage);
        assert_eq!(format!("{:#}", usage("bad flag")), "bad flag");
        assert_eq!(Exit::of(&anyhow::anyhow!("x")), Exit::Failure);
        assert_eq!(Exit::of(&cancelled()).code(), 130);
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
