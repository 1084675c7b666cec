//! Plain line prompts for terminals that can't move the cursor (`TERM=dumb`, as in an Emacs
//! shell, or no `TERM`): every question is one line ending in `: `, answered with a line; a
//! choice prints a numbered list and takes a number or part of a name. No escape sequences.

use std::io::{BufRead, Write};

use anyhow::{Context, Result};

use crate::core::error::cancelled;
use crate::core::secret::Secret;
use crate::core::text::{multi_line, one_line};
use crate::core::ui::{Pasted, Question, Ui, Validator};

#[derive(Debug)]
pub(super) struct PlainUi {
    pub(super) browser: Option<String>,
}

/// Writes `prompt` on stderr and reads one line from stdin; end of input is a cancel.
fn ask(prompt: &str) -> Result<String> {
    eprint!("{}", one_line(prompt));
    std::io::stderr().flush()?;
    let mut line = String::new();
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("could not read from the terminal")?;
    if n == 0 {
        return Err(cancelled());
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

impl PlainUi {
    fn show_help(q: &Question<'_>) {
        if let Some(h) = q.help {
            eprintln!("  {}", multi_line(h));
        }
    }
}

impl Ui for PlainUi {
    fn interactive(&self) -> bool {
        true
    }

    fn input(&mut self, q: &Question<'_>, validate: Validator<'_>) -> Result<String> {
        Self::show_help(q);
        let shown = match q.default {
            // No editable text here: a blank answer (a space) is the way to none.
            Some(d) if !d.is_empty() && q.prefill => {
                format!("{} [{d:?}; a space for none]: ", q.prompt)
            }
            Some(d) if !d.is_empty() => format!("{} [{d}]: ", q.prompt),
            _ => format!("{}: ", q.prompt),
        };
        loop {
            let mut v = ask(&shown)?;
            if v.is_empty()
                && let Some(d) = q.default
            {
                v = d.to_string();
            }
            match validate(&v) {
                Ok(()) => return Ok(v),
                Err(e) => eprintln!("  {}", one_line(&e.to_string())),
            }
        }
    }

    fn secret(&mut self, q: &Question<'_>) -> Result<Secret<String>> {
        Self::show_help(q);
        eprint!("{} (hidden): ", one_line(q.prompt));
        std::io::stderr().flush()?;
        // Echo off through termios; no cursor movement.
        console::Term::stderr()
            .read_secure_line()
            .map(Secret::new)
            .context("could not read from the terminal")
    }

    fn select(&mut self, q: &Question<'_>, items: &[String], default: usize) -> Result<usize> {
        Self::show_help(q);
        let prompt = q
            .prompt
            .split(" (type to filter)")
            .next()
            .unwrap_or(q.prompt);
        let mut shown: Vec<usize> = (0..items.len()).collect();
        loop {
            for (n, &i) in shown.iter().enumerate() {
                eprintln!("  {:>3}) {}", n + 1, one_line(&items[i]));
            }
            let hint = match items.get(default) {
                Some(d) if shown.len() == items.len() => format!(" [{d}]"),
                _ => String::new(),
            };
            let answer = ask(&format!("{prompt} (number, or part of a name){hint}: "))?;
            let answer = answer.trim();
            if answer.is_empty() && shown.len() == items.len() && default < items.len() {
                return Ok(default);
            }
            if let Ok(n) = answer.parse::<usize>()
                && (1..=shown.len()).contains(&n)
            {
                return Ok(shown[n - 1]);
            }
            let needle = answer.to_lowercase();
            let matching: Vec<usize> = (0..items.len())
                .filter(|&i| items[i].to_lowercase().contains(&needle))
                .collect();
            match matching.len() {
                1 => return Ok(matching[0]),
                0 => eprintln!("  nothing matches {answer:?}"),
                _ => shown = matching,
            }
        }
    }

    fn confirm(&mut self, q: &Question<'_>, default: bool) -> Result<bool> {
        let choices = if default { "[Y/n]" } else { "[y/N]" };
        loop {
            let a = ask(&format!("{} {choices}: ", q.prompt))?;
            match a.trim().to_lowercase().as_str() {
                "" => return Ok(default),
                "y" | "yes" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => eprintln!("  answer y or n"),
            }
        }
    }

    fn notice(&mut self, msg: &str) {
        eprintln!("{}", multi_line(msg));
    }

    fn open_url(&mut self, url: &str, open: bool) {
        super::prompter::show_and_open(self.browser.as_deref(), url, open, &mut |m| {
            eprintln!("{m}")
        });
    }

    fn pasted_lines(&mut self) -> Option<Pasted> {
        Some(Pasted {
            lines: super::prompter::stdin_lines(),
            reply: Box::new(|m| eprintln!("{}", multi_line(m))),
        })
    }
}
