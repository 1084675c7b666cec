//! `-v`: conn's diagnostics on stderr through the `log` facade, as `conn: debug: MESSAGE`.
//! Other crates' log records are left out; nothing logged is ever a secret (`Secret<T>` has
//! no `Display`).

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Stderr;

impl Log for Stderr {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.target().starts_with("conn")
    }

    fn log(&self, r: &Record<'_>) {
        if self.enabled(r.metadata()) {
            let level = match r.level() {
                Level::Error => "error",
                Level::Warn => "warning",
                _ => "debug",
            };
            let text = r.args().to_string();
            eprintln!("conn: {level}: {}", crate::core::text::multi_line(&text));
        }
    }

    fn flush(&self) {}
}

/// Installs the logger: debug records with `-v`, none otherwise.
pub(super) fn init(verbosity: u8) {
    static LOGGER: Stderr = Stderr;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(if verbosity > 0 {
            LevelFilter::Debug
        } else {
            LevelFilter::Off
        });
    }
}
