//! Runs `conn exec`'s command, with credentials in its environment and never on its argv.
//!
//! On Unix conn replaces itself with the command (execvp), once the credentials are fresh and
//! every lock is released. The command keeps conn's process id, so every signal sent to
//! `conn exec` (SIGINT, SIGTERM, SIGHUP, any) reaches it as sent, once, and whoever waits for
//! conn gets the command's exit status, a death by signal included. Forwarding from a parent
//! process would deliver a terminal's Ctrl-C twice (the terminal signals the whole foreground
//! process group) and could not pass on SIGKILL. Elsewhere conn runs the command, ignores
//! Ctrl-C while it runs (the console delivers it to the command too), and exits with its code.

use std::ffi::OsString;

use anyhow::{Context, Result};

use crate::core::secret::Secret;

/// Runs `command` with `vars` added to conn's environment. On Unix it returns only when the
/// command could not be started: 127 when it was not found, 126 when it may not be run, as
/// shells do.
pub(super) fn run(command: &[OsString], vars: &[(String, Secret<String>)]) -> Result<u8> {
    let (program, args) = command.split_first().context("no command given after --")?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    for (k, v) in vars {
        cmd.env(k, v.expose());
    }
    let shown = program.to_string_lossy();
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        log::debug!("running {shown} in conn's place");
        let err = cmd.exec();
        not_started(&shown, err)
    }
    #[cfg(not(unix))]
    {
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return not_started(&shown, e),
        };
        let status = crate::core::interrupt::critical(|| child.wait())
            .with_context(|| format!("could not wait for {shown}"))?;
        Ok(status
            .code()
            .and_then(|c| u8::try_from(c & 0xff).ok())
            .unwrap_or(1))
    }
}

fn not_started(shown: &str, err: std::io::Error) -> Result<u8> {
    match err.kind() {
        std::io::ErrorKind::NotFound => {
            eprintln!(
                "conn: {}: command not found",
                crate::core::text::one_line(shown)
            );
            Ok(127)
        }
        std::io::ErrorKind::PermissionDenied => {
            eprintln!(
                "conn: {}: permission denied",
                crate::core::text::one_line(shown)
            );
            Ok(126)
        }
        _ => Err(err).with_context(|| format!("could not run {shown}")),
    }
}
