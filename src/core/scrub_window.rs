//! Scrubbing a stream in bounded memory: a `Read` adapter that passes a body through one
//! `scrub` function (bytes in, bytes with secrets replaced out) a window at a time, holding
//! back the last `keep` bytes of each window until more arrive, so a secret split across
//! reads is still found whole. Memory stays at about `keep` + two chunks, whatever the size of
//! the stream.

use std::io::{self, Read};

/// How much is read from the inner stream at a time, in bytes.
const CHUNK: usize = 64 * 1024;

/// The scrubbing function: the bytes of a window with every secret replaced.
pub(crate) type ScrubFn = Box<dyn Fn(&[u8]) -> Vec<u8> + Send>;

/// Reads `inner` scrubbed. `keep` must be at least the longest byte sequence `scrub` can
/// replace (the longest encoded form of the longest secret), so no match spans more than
/// the bytes held back.
pub(crate) struct ScrubWindow<R> {
    inner: R,
    scrub: ScrubFn,
    keep: usize,
    chunk: usize,
    /// Scrubbed bytes ready to hand out, from `at`.
    ready: Vec<u8>,
    at: usize,
    /// Bytes not handed out yet: may still be the start of a secret.
    held: Vec<u8>,
    done: bool,
}

impl<R> std::fmt::Debug for ScrubWindow<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrubWindow")
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

impl<R: Read> ScrubWindow<R> {
    pub(crate) fn new(inner: R, keep: usize, scrub: ScrubFn) -> Self {
        Self::with_chunk(inner, keep, scrub, CHUNK)
    }

    fn with_chunk(inner: R, keep: usize, scrub: ScrubFn, chunk: usize) -> Self {
        ScrubWindow {
            inner,
            scrub,
            keep,
            chunk: chunk.max(1),
            ready: Vec::new(),
            at: 0,
            held: Vec::new(),
            done: false,
        }
    }

    /// Reads until a window is full (or the stream ends) and scrubs it; everything but the
    /// last `keep` bytes becomes ready.
    fn fill(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; self.chunk];
        while self.held.len() < self.keep + self.chunk {
            let n = match self.inner.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.done = true;
                break;
            }
            self.held.extend_from_slice(&buf[..n]);
        }
        let scrubbed = (self.scrub)(&self.held);
        let cut = if self.done {
            scrubbed.len()
        } else {
            scrubbed.len().saturating_sub(self.keep)
        };
        self.ready.clear();
        self.ready.extend_from_slice(&scrubbed[..cut]);
        self.held.clear();
        self.held.extend_from_slice(&scrubbed[cut..]);
        self.at = 0;
        Ok(())
    }
}

impl<R: Read> Read for ScrubWindow<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at >= self.ready.len() {
            if self.done && self.held.is_empty() {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = out.len().min(self.ready.len() - self.at);
        out[..n].copy_from_slice(&self.ready[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replace(secret: &'static [u8]) -> ScrubFn {
        Box::new(move |b: &[u8]| {
            let mut out = Vec::with_capacity(b.len());
            let mut i = 0;
            while i < b.len() {
                if b[i..].starts_with(secret) {
                    out.extend_from_slice(b"(redacted)");
                    i += secret.len();
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            out
        })
    }

    #[test]
    fn a_secret_split_across_reads_is_still_replaced_at_every_offset() {
        let secret = b"s3cr3t-key";
        for chunk in [1, 3, 7, 16] {
            for offset in 0..20 {
                let mut body = vec![b'.'; offset];
                body.extend_from_slice(secret);
                body.extend_from_slice(b"..");
                body.extend_from_slice(secret);
                let mut r =
                    ScrubWindow::with_chunk(&body[..], secret.len(), replace(secret), chunk);
                let mut out = Vec::new();
                r.read_to_end(&mut out).unwrap();
                let want = format!("{}(redacted)..(redacted)", ".".repeat(offset));
                assert_eq!(String::from_utf8(out).unwrap(), want, "chunk {chunk}");
            }
        }
    }

    #[test]
    fn bytes_pass_unchanged_and_memory_stays_bounded() {
        let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut r = ScrubWindow::with_chunk(&body[..], 32, replace(b"never-here"), 1000);
        let mut out = Vec::new();
        let mut buf = [0u8; 777];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            assert!(r.held.len() + r.ready.len() <= 32 + 2 * 1000);
        }
        assert_eq!(out, body);
    }
}
