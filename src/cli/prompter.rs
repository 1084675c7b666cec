//! The two `Ui`s: dialoguer prompts on a terminal, and a scripted one that never waits and
//! names the flag that would have answered.

use std::fmt;
use std::io::IsTerminal;

use anyhow::Result;
use dialoguer::console::{Term, measure_text_width, truncate_str};
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};

use crate::core::error::{Exit, cancelled, usage};
use crate::core::secret::Secret;
use crate::core::text::{multi_line, one_line};
use crate::core::ui::{Pasted, Question, Ui, Validator};

/// Prompts on the terminal itself (`/dev/tty` on Unix), not on stdout or stderr: stdout stays
/// clean for `--json`, and `conn new 2>log` still asks on the screen.
pub(super) struct TerminalUi {
    theme: Box<dyn Theme>,
    browser: Option<String>,
    term: Term,
}

impl std::fmt::Debug for TerminalUi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TerminalUi")
    }
}

impl TerminalUi {
    /// The prompts of a person at a terminal: `None` when stdin is not a terminal (a script,
    /// a pipe) or there is no terminal to draw on (cron, CI).
    pub(super) fn open(color: bool, browser: Option<String>) -> Option<Self> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        let term = terminal()?;
        let theme: Box<dyn Theme> = if color {
            Box::new(ColorfulTheme::default())
        } else {
            Box::new(SimpleTheme)
        };
        Some(TerminalUi {
            theme,
            browser,
            term,
        })
    }

    fn say(&self, msg: &str) {
        let _ = self.term.write_line(msg);
    }

    fn show_help(&self, q: &Question<'_>) {
        if let Some(h) = q.help {
            self.say(&format!("  {}", multi_line(h)));
        }
    }
}

/// The controlling terminal, opened for reading and writing, whatever stdout and stderr are.
#[cfg(unix)]
fn terminal() -> Option<Term> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let read = tty.try_clone().ok()?;
    let term = Term::read_write_pair(read, tty);
    term.is_term().then_some(term)
}

/// Elsewhere, stderr when it is a terminal.
#[cfg(not(unix))]
fn terminal() -> Option<Term> {
    std::io::stderr().is_terminal().then(Term::stderr)
}

/// Ctrl-C: outside a save, show the cursor again (selects hide it), say that nothing was saved,
/// and exit 130. During a save (see `core::interrupt`) the save finishes first.
pub(super) fn handle_interrupts(terminal: bool) {
    let _ = ctrlc::set_handler(move || {
        if !crate::core::interrupt::may_exit_now() {
            return;
        }
        if terminal {
            eprint!("\x1b[?25h");
        }
        eprintln!("\nconn: cancelled; nothing was saved");
        std::process::exit(i32::from(Exit::Cancelled.code()));
    });
}

/// `text` cut to fit in `width` columns (display columns, not chars) with room for
/// dialoguer's marker ("❯ "), ending in "…" when cut.
fn fit(text: &str, width: usize) -> String {
    let room = width.saturating_sub(4).max(10);
    truncate_str(text, room, "…").into_owned()
}

/// Columns of a prompt kept when `fit_line` cuts it, so it still says what was asked.
const MIN_PROMPT: usize = 12;

/// A line that `render` draws around `prompt`, kept within `width` columns (ANSI styles not
/// counted): the prompt is cut first, down to `MIN_PROMPT` columns (what follows it, a search
/// term or an answer, is what the person needs to see), and when even that is not enough, the
/// line's end. One column stays free: some terminals wrap as soon as the last one is written.
fn fit_line(
    prompt: &str,
    width: usize,
    render: impl Fn(&str) -> Result<String, fmt::Error>,
) -> Result<String, fmt::Error> {
    let room = width.saturating_sub(1);
    let line = render(prompt)?;
    let over = measure_text_width(&line).saturating_sub(room);
    if over == 0 {
        return Ok(line);
    }
    let shown = measure_text_width(prompt);
    let keep = shown.saturating_sub(over).max(shown.min(MIN_PROMPT));
    let line = render(&truncate_str(prompt, keep, "…"))?;
    Ok(truncate_str(&line, room, "…").into_owned())
}

/// The theme of a FuzzySelect in a terminal `width` columns wide. dialoguer clears as many
/// rows as it wrote lines, so a line wider than the terminal, which wraps, would leave its
/// first rows on screen at each redraw (the search line grows as the person types). Items are
/// cut by `fit`; this keeps the search line and the reported answer within the width, drawn
/// as `inner` draws them.
struct FittedTheme<'t> {
    inner: &'t dyn Theme,
    width: usize,
}

impl Theme for FittedTheme<'_> {
    fn format_fuzzy_select_prompt(
        &self,
        f: &mut dyn fmt::Write,
        prompt: &str,
        search_term: &str,
        bytes_pos: usize,
    ) -> fmt::Result {
        f.write_str(&fit_line(prompt, self.width, |p| {
            let mut s = String::new();
            self.inner
                .format_fuzzy_select_prompt(&mut s, p, search_term, bytes_pos)?;
            Ok(s)
        })?)
    }

    /// The answer FuzzySelect reports once chosen ("prompt: item").
    fn format_input_prompt_selection(
        &self,
        f: &mut dyn fmt::Write,
        prompt: &str,
        sel: &str,
    ) -> fmt::Result {
        f.write_str(&fit_line(prompt, self.width, |p| {
            let mut s = String::new();
            self.inner.format_input_prompt_selection(&mut s, p, sel)?;
            Ok(s)
        })?)
    }

    fn format_fuzzy_select_prompt_item(
        &self,
        f: &mut dyn fmt::Write,
        text: &str,
        active: bool,
        highlight_matches: bool,
        matcher: &fuzzy_matcher::skim::SkimMatcherV2,
        search_term: &str,
    ) -> fmt::Result {
        self.inner.format_fuzzy_select_prompt_item(
            f,
            text,
            active,
            highlight_matches,
            matcher,
            search_term,
        )
    }
}

/// Ctrl-C and Esc end the wizard with nothing saved.
fn map_err(e: dialoguer::Error) -> anyhow::Error {
    let dialoguer::Error::IO(io) = e;
    if io.kind() == std::io::ErrorKind::Interrupted {
        cancelled()
    } else {
        anyhow::Error::new(io).context("could not read from the terminal")
    }
}

impl Ui for TerminalUi {
    fn interactive(&self) -> bool {
        true
    }

    fn input(&mut self, q: &Question<'_>, validate: Validator<'_>) -> Result<String> {
        self.show_help(q);
        let mut input = dialoguer::Input::<String>::with_theme(self.theme.as_ref())
            .with_prompt(one_line(q.prompt))
            .allow_empty(true)
            .validate_with(|v: &String| validate(v));
        match q.default {
            Some(d) if q.prefill => input = input.with_initial_text(d),
            Some(d) => input = input.default(d.to_string()).show_default(!d.is_empty()),
            None => {}
        }
        input.interact_text_on(&self.term).map_err(map_err)
    }

    fn secret(&mut self, q: &Question<'_>) -> Result<Secret<String>> {
        self.show_help(q);
        dialoguer::Password::with_theme(self.theme.as_ref())
            .with_prompt(format!("{} (hidden)", one_line(q.prompt)))
            .interact_on(&self.term)
            .map(Secret::new)
            .map_err(map_err)
    }

    fn select(&mut self, q: &Question<'_>, items: &[String], default: usize) -> Result<usize> {
        self.show_help(q);
        // A row wider than the terminal wraps, and dialoguer, counting rows, would leave the
        // wrapped part of old rows on screen when it redraws (seen at 40 columns).
        let width = usize::from(self.term.size().1);
        let fitted: Vec<String> = items.iter().map(|i| fit(&one_line(i), width)).collect();
        let theme = FittedTheme {
            inner: self.theme.as_ref(),
            width,
        };
        dialoguer::FuzzySelect::with_theme(&theme)
            .with_prompt(one_line(q.prompt))
            .items(&fitted)
            .default(default)
            .interact_on_opt(&self.term)
            .map_err(map_err)?
            .ok_or_else(cancelled)
    }

    fn confirm(&mut self, q: &Question<'_>, default: bool) -> Result<bool> {
        dialoguer::Confirm::with_theme(self.theme.as_ref())
            .with_prompt(one_line(q.prompt))
            .default(default)
            .interact_on_opt(&self.term)
            .map_err(map_err)?
            .ok_or_else(cancelled)
    }

    fn notice(&mut self, msg: &str) {
        self.say(&multi_line(msg));
    }

    fn open_url(&mut self, url: &str, open: bool) {
        let term = self.term.clone();
        show_and_open(self.browser.as_deref(), url, open, &mut |m| {
            let _ = term.write_line(m);
        });
    }

    fn pasted_lines(&mut self) -> Option<Pasted> {
        let term = self.term.clone();
        Some(Pasted {
            lines: stdin_lines(),
            reply: Box::new(move |m| {
                let _ = term.write_line(&multi_line(m));
            }),
        })
    }
}

pub(super) fn show_and_open(
    browser: Option<&str>,
    url: &str,
    open: bool,
    say: &mut dyn FnMut(&str),
) {
    say(&format!(
        "Open this URL to sign in:\n\n  {}\n",
        one_line(url)
    ));
    if open {
        if let Err(e) = open_in_browser(browser, url) {
            say(&format!(
                "(could not start a browser: {}; open the URL by hand)",
                one_line(&e.to_string())
            ));
        }
    } else {
        say(
            "After signing in, paste the URL your browser was sent to here, or let it reach this machine.",
        );
    }
}

/// For scripts and cron: defaults are taken, anything else is a usage error naming the flag.
#[derive(Debug, Default)]
pub(super) struct ScriptUi {
    pub browser: Option<String>,
    /// Collecting missing answers instead of failing at the first (`defer_missing`).
    pub deferring: bool,
    /// The questions that could not be asked, each as its error message, in order.
    pub missing: Vec<(String, String)>,
}

impl ScriptUi {
    /// Notes a missing answer while deferring; otherwise it is the error.
    fn note(&mut self, q: &Question<'_>) -> Result<()> {
        if !self.deferring {
            return Err(missing(q));
        }
        let flag = q.flag.to_string();
        if !self.missing.iter().any(|(f, _)| f == &flag) {
            self.missing.push((flag, format!("{:#}", missing(q))));
        }
        Ok(())
    }
}

impl Ui for ScriptUi {
    fn interactive(&self) -> bool {
        false
    }

    fn input(&mut self, q: &Question<'_>, validate: Validator<'_>) -> Result<String> {
        match q.default {
            Some(d) if validate(d).is_ok() => Ok(d.to_string()),
            _ => self.note(q).map(|()| String::new()),
        }
    }

    fn secret(&mut self, q: &Question<'_>) -> Result<Secret<String>> {
        self.note(q).map(|()| Secret::new(String::new()))
    }

    fn select(&mut self, q: &Question<'_>, _items: &[String], default: usize) -> Result<usize> {
        self.note(q).map(|()| default)
    }

    fn defer_missing(&mut self) {
        self.deferring = true;
    }

    fn missing_answers(&mut self) -> Result<()> {
        self.deferring = false;
        match std::mem::take(&mut self.missing).as_slice() {
            [] => Ok(()),
            [(_, one)] => Err(usage(one.clone())),
            all => Err(usage(format!(
                "{} answers are needed and there is no terminal to ask on; pass all of: {}",
                all.len(),
                all.iter()
                    .map(|(f, _)| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn confirm(&mut self, _q: &Question<'_>, default: bool) -> Result<bool> {
        Ok(default)
    }

    fn notice(&mut self, msg: &str) {
        eprintln!("{}", multi_line(msg));
    }

    fn open_url(&mut self, url: &str, open: bool) {
        show_and_open(self.browser.as_deref(), url, open, &mut |m| {
            eprintln!("{m}")
        });
    }

    fn pasted_lines(&mut self) -> Option<Pasted> {
        Some(Pasted {
            lines: stdin_lines(),
            reply: Box::new(|m| eprintln!("{}", multi_line(m))),
        })
    }
}

fn missing(q: &Question<'_>) -> anyhow::Error {
    usage(format!(
        "{} is needed and there is no terminal to ask on; pass {}",
        q.prompt
            .split(" (type to filter)")
            .next()
            .unwrap_or(q.prompt),
        q.flag
    ))
}

/// Opens `url` with `BROWSER` (a command, as in other tools; `%s` marks where the URL goes)
/// or the platform's opener. The URL is the authorization request, which holds no secret.
pub(super) fn open_in_browser(browser: Option<&str>, url: &str) -> std::io::Result<()> {
    use std::process::{Command, Stdio};
    let mut cmd = match browser {
        Some(b) => {
            let parts: Vec<&str> = b.split_whitespace().collect();
            let (prog, rest) = parts
                .split_first()
                .ok_or_else(|| std::io::Error::other("BROWSER is empty"))?;
            let mut c = Command::new(prog);
            let mut placed = false;
            for a in rest {
                if a.contains("%s") {
                    c.arg(a.replace("%s", url));
                    placed = true;
                } else {
                    c.arg(a);
                }
            }
            if !placed {
                c.arg(url);
            }
            c
        }
        None if cfg!(target_os = "macos") => {
            let mut c = Command::new("open");
            c.arg(url);
            c
        }
        None if cfg!(windows) => {
            let mut c = Command::new("explorer");
            c.arg(url);
            c
        }
        None => {
            let mut c = Command::new("xdg-open");
            c.arg(url);
            c
        }
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Don't wait: a browser may run until the person closes it. A reaper thread avoids zombies.
    let mut child = cmd.spawn()?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

/// Reads lines from stdin on a thread, for a redirect URL pasted back by hand.
pub(super) fn stdin_lines() -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
