//! Ctrl-C policy: a person may cancel while conn asks or waits, but not halfway through saving.
//! Saves run inside `critical`; an interrupt that arrives then is held until the save is done.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static CRITICAL: AtomicUsize = AtomicUsize::new(0);
static PENDING: AtomicBool = AtomicBool::new(false);

/// Runs `f` with interrupts deferred.
pub(crate) fn critical<T>(f: impl FnOnce() -> T) -> T {
    CRITICAL.fetch_add(1, Ordering::SeqCst);
    let out = f();
    CRITICAL.fetch_sub(1, Ordering::SeqCst);
    out
}

/// Called from the signal handler: true when the process may exit now; otherwise the interrupt
/// is recorded and the save finishes.
pub(crate) fn may_exit_now() -> bool {
    if CRITICAL.load(Ordering::SeqCst) == 0 {
        return true;
    }
    PENDING.store(true, Ordering::SeqCst);
    false
}

/// Whether an interrupt arrived during a save.
pub(crate) fn was_interrupted() -> bool {
    PENDING.load(Ordering::SeqCst)
}
