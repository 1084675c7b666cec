//! Text from outside (servers' messages, identities, provider files, hand-edited config) made
//! safe to show on a terminal: control characters are written as visible escapes, so no
//! string can move the cursor, set the title, clear the screen, reorder text (bidi overrides)
//! or forge a line of conn's own output. `cli` applies this to everything it writes.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as is: C0 controls (ESC, BEL, CR, ...), DEL, C1
/// controls (8-bit CSI/OSC), the bidirectional embeddings, overrides and isolates, and the
/// line/paragraph separators. LF and TAB are decided by the caller.
pub(crate) fn is_hostile(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        // `\xNN` for C0 controls; `\uNNNN` (a valid JSON escape too, so JSON output stays
        // JSON) for DEL, C1 and the bidi and separator characters, all in the BMP.
        c if (c as u32) < 0x20 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
    }
}

fn escape(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| !keep(c) && (is_hostile(c) || c == '\n' || c == '\t'))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !keep(c) && (is_hostile(c) || c == '\n' || c == '\t') {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` for a place that holds one line (a table cell, a name, an error message): every
/// control character, LF and TAB included, written as a visible escape (`\n`, `\x1b`,
/// `\u202e`).
pub(crate) fn one_line(s: &str) -> Cow<'_, str> {
    escape(s, |_| false)
}

/// `s` for a place that may span lines (a notice, a report): like [`one_line`] but LF and TAB
/// pass.
pub(crate) fn multi_line(s: &str) -> Cow<'_, str> {
    escape(s, |c| c == '\n' || c == '\t')
}

/// Refuses CR, LF and NUL in a value that goes into an HTTP header, a URL or a file name,
/// where they would end the header (injecting another), split the request or cut the name.
/// `field` names the value in the message, e.g. `--set prefix`.
pub(crate) fn check_single_line(field: &str, value: &str) -> Result<(), String> {
    match value.chars().find(|c| matches!(c, '\r' | '\n' | '\0')) {
        None => Ok(()),
        Some(c) => Err(format!(
            "{field} contains {}; a value that goes into a header, URL or file name may not hold CR, LF or NUL",
            match c {
                '\r' => "a carriage return (CR)",
                '\n' => "a line feed (LF)",
                _ => "a NUL character",
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_terminal_sequences_visibly() {
        assert_eq!(
            one_line("a\u{1b}]0;pwned\u{7}b\r\nconn: ok\u{202e}"),
            "a\\x1b]0;pwned\\x07b\\r\\nconn: ok\\u202e"
        );
        assert_eq!(multi_line("a\nb\u{1b}[2J"), "a\nb\\x1b[2J");
        assert!(matches!(one_line("plain ünïcode"), Cow::Borrowed(_)));
    }

    #[test]
    fn refuses_line_breaks_naming_the_field() {
        let e = check_single_line("--set prefix", "Bearer\r\nX: 1").unwrap_err();
        assert!(e.contains("--set prefix") && e.contains("CR"), "{e}");
        assert!(check_single_line("x", "a\0").is_err());
        assert!(check_single_line("x", "Bearer ").is_ok());
    }

    proptest! {
        #[test]
        fn nothing_hostile_survives(s in any::<String>()) {
            let one = one_line(&s);
            prop_assert!(!one.chars().any(|c| is_hostile(c) || c == '\n' || c == '\t'));
            let multi = multi_line(&s);
            prop_assert!(!multi.chars().any(is_hostile));
            // Text without controls is left alone.
            if !s.chars().any(|c| is_hostile(c) || c == '\n' || c == '\t') {
                prop_assert_eq!(one.as_ref(), s.as_str());
            }
        }
    }
}
