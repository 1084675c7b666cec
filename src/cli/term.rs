//! The output layer's guard: a writer that passes text through `core::text::multi_line`, so
//! no control sequence from outside (an identity, a server's message, a response body shown on
//! a terminal) reaches the terminal. Bytes that are not UTF-8 are shown as `\xNN`.

use std::io::{self, Write};

use crate::core::text::multi_line;

/// Wraps `inner`; every byte written is escaped as needed. A UTF-8 sequence split across two
/// writes is held until its end arrives.
pub(super) struct Escaping<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> Escaping<W> {
    pub(super) fn new(inner: W) -> Self {
        Escaping {
            inner,
            pending: Vec::new(),
        }
    }

    fn drain(&mut self, at_end: bool) -> io::Result<()> {
        let mut rest: &[u8] = &self.pending;
        let mut out = String::new();
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(&multi_line(s));
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // Checked by from_utf8 above.
                    out.push_str(&multi_line(std::str::from_utf8(good).unwrap_or_default()));
                    match e.error_len() {
                        Some(n) => {
                            for b in &bad[..n] {
                                out.push_str(&format!("\\x{b:02x}"));
                            }
                            rest = &bad[n..];
                        }
                        None if at_end => {
                            for b in bad {
                                out.push_str(&format!("\\x{b:02x}"));
                            }
                            rest = &[];
                            break;
                        }
                        None => {
                            rest = bad;
                            break;
                        }
                    }
                }
            }
        }
        let keep = rest.to_vec();
        self.inner.write_all(out.as_bytes())?;
        self.pending = keep;
        Ok(())
    }
}

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The usual case, whole UTF-8 with nothing held back: no copy (what `drain` would do).
        if self.pending.is_empty()
            && let Ok(s) = std::str::from_utf8(buf)
        {
            self.inner.write_all(multi_line(s).as_bytes())?;
            return Ok(buf.len());
        }
        self.pending.extend_from_slice(buf);
        self.drain(false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for Escaping<W> {
    fn drop(&mut self) {
        let _ = self.drain(true);
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn through(chunks: &[&[u8]]) -> String {
        let mut v = Vec::new();
        {
            let mut w = Escaping::new(&mut v);
            for c in chunks {
                w.write_all(c).unwrap();
            }
        }
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn escapes_across_split_writes() {
        let rlo = "\u{202e}".as_bytes();
        assert_eq!(
            through(&[b"a\x1b]0;t\x07\n", &rlo[..1], &rlo[1..], b"\xff"]),
            "a\\x1b]0;t\\x07\n\\u202e\\xff"
        );
    }

    proptest! {
        #[test]
        fn output_never_holds_a_control(bytes in proptest::collection::vec(any::<u8>(), 0..200), cut in 0usize..200) {
            let cut = cut.min(bytes.len());
            let s = through(&[&bytes[..cut], &bytes[cut..]]);
            prop_assert!(!s.chars().any(crate::core::text::is_hostile));
        }
    }
}
