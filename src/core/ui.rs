//! The interaction object: how code below `cli` asks a person something or tells them something.
//! `cli` provides a terminal implementation and a non-interactive one that fails with the flag
//! to use instead of waiting.

use anyhow::Result;

use super::secret::Secret;

/// One question, with the flag that answers it when there is no terminal.
#[derive(Debug, Clone)]
pub(crate) struct Question<'a> {
    pub prompt: &'a str,
    /// How to give this value without a prompt, e.g. `--provider ID`.
    pub flag: &'a str,
    pub default: Option<&'a str>,
    pub help: Option<&'a str>,
    /// On a terminal the default is editable text rather than what Enter on an empty line
    /// gives, so the answer can be erased to nothing (an optional header prefix).
    pub prefill: bool,
}

impl<'a> Question<'a> {
    pub(crate) fn new(prompt: &'a str, flag: &'a str) -> Self {
        Question {
            prompt,
            flag,
            default: None,
            help: None,
            prefill: false,
        }
    }

    pub(crate) fn prefill(mut self, prefill: bool) -> Self {
        self.prefill = prefill;
        self
    }

    pub(crate) fn default(mut self, default: Option<&'a str>) -> Self {
        self.default = default;
        self
    }

    pub(crate) fn help(mut self, help: Option<&'a str>) -> Self {
        self.help = help;
        self
    }
}

/// A wait shown to the person while it lasts (a spinner, or "3/10 done"), drawn by `cli` on
/// stderr only when that is a terminal and only once the wait passes about half a second.
/// Dropping it clears the line, so results printed afterwards stand alone. Shared by the
/// worker threads of a check run.
pub(crate) trait Progress: Send + Sync {
    /// One more of the total is done.
    fn inc(&self);
}

/// Shows nothing: for scripts, pipes and cron.
#[derive(Debug)]
pub(crate) struct NoProgress;

impl Progress for NoProgress {
    fn inc(&self) {}
}

/// Lines a person types or pastes while conn waits for something else (a redirect URL from
/// a browser on another machine), and the way to answer each one on the terminal.
pub(crate) struct Pasted {
    pub(crate) lines: std::sync::mpsc::Receiver<String>,
    /// Tells the person what became of a line ("Got it", or why it was not taken).
    pub(crate) reply: Box<dyn FnMut(&str)>,
}

impl std::fmt::Debug for Pasted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pasted")
    }
}

/// Validates an answer; `Err` holds the message shown before asking again.
pub(crate) type Validator<'a> = &'a dyn Fn(&str) -> std::result::Result<(), String>;

pub(crate) trait Ui {
    /// Whether questions can be asked (a terminal is attached).
    fn interactive(&self) -> bool;
    /// Free text, re-asked until `validate` accepts it.
    fn input(&mut self, q: &Question<'_>, validate: Validator<'_>) -> Result<String>;
    /// Hidden input for a secret.
    fn secret(&mut self, q: &Question<'_>) -> Result<Secret<String>>;
    /// Pick one of `items` (type to filter); returns its index.
    fn select(&mut self, q: &Question<'_>, items: &[String], default: usize) -> Result<usize>;
    /// Yes or no.
    fn confirm(&mut self, q: &Question<'_>, default: bool) -> Result<bool>;
    /// A message for the person, on stderr; never part of the command's result.
    fn notice(&mut self, msg: &str);
    /// Shows a URL the person must visit and, when `open`, opens it in their browser
    /// (`BROWSER`, else the platform's opener). Failing to open is not an error: the URL
    /// was shown.
    fn open_url(&mut self, url: &str, open: bool);
    /// From now on, an answer that can't be asked for (no terminal) is noted and a placeholder
    /// returned (a select's default, an empty text), so that one run can name every flag that
    /// is missing; `missing_answers` then reports them all. Call it after the choice that
    /// decides which questions follow (the provider).
    fn defer_missing(&mut self) {}
    /// Fails with every answer noted since `defer_missing` (a usage error naming each flag);
    /// Ok when none was missing. Called before anything uses an answer.
    fn missing_answers(&mut self) -> Result<()> {
        Ok(())
    }
    /// Starts a progress line for a wait: `what` ("Checking 3 connections…", "Waiting for
    /// approval"), with a count of `total` when given, else the time waited. Nothing is shown
    /// where no one watches (stderr not a terminal); see `Progress`.
    fn progress(&mut self, what: &str, total: Option<u64>) -> Box<dyn Progress> {
        let _ = (what, total);
        Box::new(NoProgress)
    }
    /// Lines the person types or pastes (e.g. a redirect URL from a browser on another
    /// machine), delivered while conn waits for something else, with a way to answer them.
    fn pasted_lines(&mut self) -> Option<Pasted>;
}
