//! `-v` diagnostics on stderr. Never given secrets: `Secret<T>` has no `Display`.

use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(0);

pub fn set_verbosity(level: u8) {
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn verbosity() -> u8 {
    LEVEL.load(Ordering::Relaxed)
}

/// Prints a diagnostic line to stderr when `-v` was given.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::core::log::verbosity() > 0 {
            eprintln!("conn: debug: {}", format_args!($($arg)*));
        }
    };
}
