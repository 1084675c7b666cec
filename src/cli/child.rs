//! Runs `conn exec`'s command. Credentials go in its environment, never its argv. conn waits
//! for it, passes on SIGINT, SIGTERM and SIGHUP sent to conn, and ends as the command did: its
//! exit code, or killed by the same signal (so a shell sees a Ctrl-C death as one).

use std::ffi::OsString;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use crate::core::secret::Secret;

/// Where signals go: `None` before the command runs (a signal cancels conn), then its pid.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    child: Arc<Mutex<Option<u32>>>,
}

impl Signals {
    /// Takes over SIGINT, SIGTERM and SIGHUP for the whole process. Must be called before any
    /// other thread starts (HTTP clients start threads): the signals are blocked in this
    /// thread, so in every thread started after it, and handled on a thread of their own.
    pub fn install() -> Result<Self> {
        let s = Signals::default();
        #[cfg(unix)]
        unix::install(s.child.clone())?;
        Ok(s)
    }
}

/// Runs `command` with `vars` added to conn's environment and returns the exit code to end
/// with; returns only if the command was not killed by a signal conn can die of too.
pub fn run(
    command: &[OsString],
    vars: &[(String, Secret<String>)],
    signals: &Signals,
) -> Result<u8> {
    let (program, args) = command.split_first().context("no command given after --")?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    for (k, v) in vars {
        cmd.env(k, v.expose());
    }
    let shown = program.to_string_lossy();
    // Held across spawn so a signal arriving meanwhile waits for the pid instead of ending
    // conn and orphaning the command.
    let mut slot = signals.child.lock().unwrap_or_else(|e| e.into_inner());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        // The shell's codes for these, so scripts can tell them from the command's own.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("conn: {shown}: command not found");
            return Ok(127);
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!("conn: {shown}: permission denied");
            return Ok(126);
        }
        Err(e) => return Err(e).with_context(|| format!("could not run {shown}")),
    };
    *slot = Some(child.id());
    drop(slot);
    crate::debug!("started {shown} (pid {})", child.id());
    let status = child
        .wait()
        .with_context(|| format!("could not wait for {shown}"))?;
    if let Some(code) = status.code() {
        return Ok(u8::try_from(code & 0xff).unwrap_or(1));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            crate::debug!("{shown} was killed by signal {sig}");
            unix::die_by(sig);
            return Ok(128u8.saturating_add(u8::try_from(sig).unwrap_or(0)));
        }
    }
    Ok(1)
}

#[cfg(unix)]
mod unix {
    use std::sync::{Arc, Mutex};

    use anyhow::{Context, Result};
    use nix::sys::signal::{SigSet, Signal, kill};
    use nix::unistd::Pid;

    const PASSED_ON: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

    fn passed_on() -> SigSet {
        let mut set = SigSet::empty();
        for s in PASSED_ON {
            set.add(s);
        }
        set
    }

    pub fn install(child: Arc<Mutex<Option<u32>>>) -> Result<()> {
        let set = passed_on();
        set.thread_block()
            .context("could not take over the signals to pass on")?;
        let mut next = receiver(set)?;
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                while let Some((sig, from_terminal)) = next() {
                    let pid = *child.lock().unwrap_or_else(|e| e.into_inner());
                    match pid {
                        // The terminal signals its whole foreground process group, the command
                        // included: passing it on would deliver it twice (and a second Ctrl-C
                        // means "force quit" to many programs).
                        Some(_) if from_terminal => {}
                        Some(pid) => {
                            let _ = kill(Pid::from_raw(pid as i32), sig);
                        }
                        None => {
                            if crate::core::interrupt::may_exit_now() {
                                eprintln!("\nconn: interrupted before the command started");
                                std::process::exit(128 + sig as i32);
                            }
                        }
                    }
                }
            })
            .context("could not start the signal thread")?;
        Ok(())
    }

    type Next = Box<dyn FnMut() -> Option<(Signal, bool)> + Send>;

    /// Linux tells who sent a signal: the kernel (the terminal) or a process.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn receiver(set: SigSet) -> Result<Next> {
        use nix::sys::signalfd::{SfdFlags, SignalFd};
        // SI_KERNEL in <asm-generic/siginfo.h>.
        const SI_KERNEL: i32 = 0x80;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC)
            .context("could not open a signalfd")?;
        Ok(Box::new(move || {
            loop {
                match fd.read_signal() {
                    Ok(Some(info)) => {
                        let sig = Signal::try_from(info.ssi_signo as i32).ok()?;
                        return Some((sig, info.ssi_code == SI_KERNEL));
                    }
                    Ok(None) | Err(nix::errno::Errno::EINTR) => continue,
                    Err(_) => return None,
                }
            }
        }))
    }

    /// Elsewhere the sender is unknown: everything is passed on.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn receiver(set: SigSet) -> Result<Next> {
        Ok(Box::new(move || set.wait().ok().map(|s| (s, false))))
    }

    /// Ends conn by the signal that killed the command, where that is one conn can die of in
    /// the same way; otherwise returns and the caller exits 128+N as a shell would.
    pub fn die_by(sig: i32) {
        let Ok(sig) = Signal::try_from(sig) else {
            return;
        };
        if sig == Signal::SIGKILL {
            let _ = kill(Pid::this(), sig);
        }
        if !PASSED_ON.contains(&sig) {
            return;
        }
        // Raised for this thread only, so the signal thread can't take it; it is blocked
        // here, so it waits until unblocked, and then its default action ends conn.
        let _ = nix::sys::pthread::pthread_kill(nix::sys::pthread::pthread_self(), sig);
        let mut one = SigSet::empty();
        one.add(sig);
        let _ = one.thread_unblock();
    }
}
