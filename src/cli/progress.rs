//! The progress line of a wait (a check run, a browser sign-in, device polling), drawn on stderr
//! with indicatif when stderr is a terminal that can redraw a line, never in pipes, cron or CI.
//! It appears only once the wait passes `DELAY`, so quick commands never flash, and is
//! cleared when dropped, before the results are printed.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::core::secret::Secret;
use crate::core::text::one_line;
use crate::core::ui::{NoProgress, Pasted, Progress, Question, Ui, Validator};

/// How long a wait goes unshown: shorter ones would only flicker.
const DELAY: Duration = Duration::from_millis(500);
/// How often the spinner turns.
const TICK: Duration = Duration::from_millis(120);

/// A progress line on stderr; see the module's doc.
struct Line {
    bar: ProgressBar,
    /// Dropped to tell the revealing thread that the wait is over.
    stop: Option<mpsc::Sender<()>>,
    reveal: Option<JoinHandle<()>>,
}

impl Line {
    fn start(what: &str, total: Option<u64>) -> Line {
        let (bar, template) = match total {
            Some(n) => (
                ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::hidden()),
                "{spinner} {msg} {pos}/{len} done",
            ),
            None => (
                ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()),
                "{spinner} {msg} ({elapsed})",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(one_line(what).into_owned());
        let (tx, rx) = mpsc::channel::<()>();
        let shown = bar.clone();
        let reveal = std::thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(DELAY) {
                shown.set_draw_target(ProgressDrawTarget::stderr());
                shown.enable_steady_tick(TICK);
            }
        });
        Line {
            bar,
            stop: Some(tx),
            reveal: Some(reveal),
        }
    }
}

impl Progress for Line {
    fn inc(&self) {
        self.bar.inc(1);
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.reveal.take() {
            let _ = t.join();
        }
        self.bar.finish_and_clear();
    }
}

/// The command's `Ui` with progress lines: every question goes to `inner`; `progress` draws
/// on stderr when `shown` (stderr a terminal that can redraw).
pub(super) struct WithProgress<'a> {
    pub(super) inner: &'a mut dyn Ui,
    pub(super) shown: bool,
}

impl Ui for WithProgress<'_> {
    fn interactive(&self) -> bool {
        self.inner.interactive()
    }

    fn input(&mut self, q: &Question<'_>, validate: Validator<'_>) -> Result<String> {
        self.inner.input(q, validate)
    }

    fn secret(&mut self, q: &Question<'_>) -> Result<Secret<String>> {
        self.inner.secret(q)
    }

    fn select(&mut self, q: &Question<'_>, items: &[String], default: usize) -> Result<usize> {
        self.inner.select(q, items, default)
    }

    fn confirm(&mut self, q: &Question<'_>, default: bool) -> Result<bool> {
        self.inner.confirm(q, default)
    }

    fn notice(&mut self, msg: &str) {
        self.inner.notice(msg)
    }

    fn open_url(&mut self, url: &str, open: bool) {
        self.inner.open_url(url, open)
    }

    fn defer_missing(&mut self) {
        self.inner.defer_missing()
    }

    fn missing_answers(&mut self) -> Result<()> {
        self.inner.missing_answers()
    }

    fn progress(&mut self, what: &str, total: Option<u64>) -> Box<dyn Progress> {
        if self.shown {
            Box::new(Line::start(what, total))
        } else {
            Box::new(NoProgress)
        }
    }

    fn pasted_lines(&mut self) -> Option<Pasted> {
        self.inner.pasted_lines()
    }
}
