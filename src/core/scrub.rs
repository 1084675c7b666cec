//! Scrubbing: every form a known secret can take in text that came back from a server, replaced
//! by `(redacted)` before it reaches stdout, stderr, `-v` logs or `--json`.
//!
//! APIs echo credentials back re-encoded: percent-encoded once or twice (upper- or lower-case
//! hex, `+` for a space), JSON-escaped (`\/`, `\"`, `\uXXXX` for any character, doubled
//! backslashes when JSON is nested), and any mixture of these from one character to the next.
//! Rather than list each encoder's output (which differ in what they leave unencoded), each
//! secret becomes one pattern in which every character may appear in any of those forms
//! ([`pattern`]). Forms that are not per character, the base64 of `user:password` for HTTP
//! Basic and a PLAINTEXT OAuth 1.0a signature, are secrets of their own that the caller adds
//! ([`base64_forms`]); their characters then get the same treatment.

use std::borrow::Cow;
use std::fmt;

use regex::bytes::{NoExpand, Regex, RegexBuilder};

/// What replaces a secret.
pub(crate) const REDACTED: &str = "(redacted)";

/// Secrets shorter than this (in bytes) are not scrubbed: they would match ordinary text, and
/// no real credential is that short.
pub(crate) const MIN_LEN: usize = 4;

/// Replaces every form of a set of secrets. Build one per set of secrets and reuse it.
///
/// The pattern is compiled only when a text could hold a secret: every form of a secret
/// contains its runs of ASCII letters and digits as they are and in their order (no encoder
/// changes those, see [`pattern`]), so a text without some secret's runs in order has nothing
/// to replace. Compiling was most of the CPU time of a `conn check` of many connections,
/// whose answers almost never echo a credential.
pub(crate) struct Scrubber {
    /// The secrets (at least [`MIN_LEN`] bytes, longest first, no duplicates).
    values: Vec<zeroize::Zeroizing<String>>,
    /// Each secret's runs of ASCII letters and digits, in order; `None` when one has none,
    /// so every text is searched with the pattern.
    runs: Option<Vec<Vec<Vec<u8>>>>,
    re: std::sync::OnceLock<Regex>,
}

impl fmt::Debug for Scrubber {
    // The pattern spells out the secrets: never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scrubber(redacted)")
    }
}

impl Scrubber {
    /// A scrubber for `secrets` (raw values; each is matched in every form [`pattern`]
    /// describes). Values shorter than [`MIN_LEN`] bytes are ignored.
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut values: Vec<&str> = secrets.into_iter().filter(|s| s.len() >= MIN_LEN).collect();
        // Longest first: at a given position the first alternative that matches wins, so a
        // secret that contains another (a PLAINTEXT signature contains the consumer secret)
        // is replaced whole.
        values.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        values.dedup();
        let runs = values
            .iter()
            .map(|v| {
                let runs: Vec<Vec<u8>> = alphanumeric_runs(v).map(|r| r.to_vec()).collect();
                (!runs.is_empty()).then_some(runs)
            })
            .collect();
        Scrubber {
            values: values
                .into_iter()
                .map(|v| zeroize::Zeroizing::new(v.to_string()))
                .collect(),
            runs,
            re: std::sync::OnceLock::new(),
        }
    }

    /// The compiled alternation of every secret's pattern.
    fn regex(&self) -> &Regex {
        self.re.get_or_init(|| {
            let alternation = zeroize::Zeroizing::new(
                self.values
                    .iter()
                    .map(|s| pattern(s))
                    .collect::<Vec<_>>()
                    .join("|"),
            );
            RegexBuilder::new(&alternation)
                .unicode(false)
                .size_limit(256 << 20)
                .dfa_size_limit(64 << 20)
                .build()
                // Every piece is escaped or fixed syntax; a failure is a bug in `pattern`.
                .expect("scrub patterns are valid")
        })
    }

    /// Whether `bytes` may hold a form of some secret (see the type's doc).
    fn may_hold_one(&self, bytes: &[u8]) -> bool {
        match &self.runs {
            None => true,
            Some(runs) => runs.iter().any(|r| in_order(bytes, r)),
        }
    }

    /// `bytes` with every form of every secret replaced by [`REDACTED`].
    pub(crate) fn scrub<'h>(&self, bytes: &'h [u8]) -> Cow<'h, [u8]> {
        if self.values.is_empty() || !self.may_hold_one(bytes) {
            return Cow::Borrowed(bytes);
        }
        self.regex()
            .replace_all(bytes, NoExpand(REDACTED.as_bytes()))
    }

    /// A response body scrubbed: as [`Scrubber::scrub`], and when it is JSON whose decoded
    /// strings still hold a secret (escaped in a way no pattern lists, such as `\u0041` for a
    /// letter), the decoded document, scrubbed, instead; so neither a pretty-printer nor a
    /// field read from it can bring a secret back.
    pub(crate) fn scrub_body(&self, bytes: &[u8]) -> Vec<u8> {
        let out = self.scrub(bytes).into_owned();
        if self.values.is_empty() {
            return out;
        }
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out) {
            let decoded = v.to_string();
            let scrubbed = self.scrub_str(&decoded);
            if scrubbed != decoded {
                return scrubbed.into_bytes();
            }
        }
        out
    }

    /// `text` with every form of every secret replaced by [`REDACTED`].
    pub(crate) fn scrub_str(&self, text: &str) -> String {
        // Matches begin and end on character boundaries (each piece of a pattern is a whole
        // character in some encoding), so the result is still UTF-8.
        String::from_utf8_lossy(&self.scrub(text.as_bytes())).into_owned()
    }
}

/// The runs of ASCII letters and digits in `secret`, in order.
fn alphanumeric_runs(secret: &str) -> impl Iterator<Item = &[u8]> {
    secret
        .as_bytes()
        .split(|b| !b.is_ascii_alphanumeric())
        .filter(|r| !r.is_empty())
}

/// Whether `runs` (none empty) occur in `haystack` one after another, without overlapping.
/// Taking the leftmost occurrence of each is never worse than any other.
fn in_order(haystack: &[u8], runs: &[Vec<u8>]) -> bool {
    let mut rest = haystack;
    for r in runs {
        match memchr::memmem::find(rest, r) {
            Some(at) => rest = &rest[at + r.len()..],
            None => return false,
        }
    }
    true
}

/// Backslashes of a JSON escape, also percent-encoded (`%5C`), and doubled when JSON was
/// nested in JSON.
const BACKSLASHES: &str = r"(?:\\|%(?:25){0,3}5[cC])+";

/// The regular expression (bytes, no Unicode classes) that matches `secret` in every form it can
/// take in echoed text, one character at a time:
/// - as is;
/// - percent-encoded, once to four times (`%2B`, `%252B`, ...), each byte of its UTF-8 form,
///   hex digits in either case; a space also as `+` (form encoding) and that `+` encoded again;
/// - JSON-escaped: `\uXXXX` (either case; a surrogate pair beyond the BMP) for any character,
///   `\/`, `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, with backslashes doubled by nesting or
///   percent-encoded.
///
/// Letters and digits are matched only as they are: no encoder changes them, and a
/// pattern of fixed letters keeps the search fast for long tokens.
pub(crate) fn pattern(secret: &str) -> String {
    secret.chars().map(char_pattern).collect()
}

fn char_pattern(c: char) -> String {
    if c.is_ascii_alphanumeric() {
        return c.to_string();
    }
    let mut alts: Vec<String> = vec![regex::escape(c.encode_utf8(&mut [0; 4]))];
    // Percent-encoded, each byte of the UTF-8 form, as many times over as anyone would.
    let mut pct = String::new();
    for b in c.encode_utf8(&mut [0; 4]).bytes() {
        pct.push_str("%(?:25){0,3}");
        pct.push_str(&hex_ci(&format!("{b:02X}")));
    }
    alts.push(pct);
    match c {
        ' ' => {
            alts.push(r"\+".into());
            alts.push("%(?:25){0,2}2[bB]".into());
        }
        '\\' => alts.push(BACKSLASHES.into()),
        '/' | '"' => alts.push(format!("{BACKSLASHES}{}", regex::escape(&c.to_string()))),
        '\n' => alts.push(format!("{BACKSLASHES}n")),
        '\r' => alts.push(format!("{BACKSLASHES}r")),
        '\t' => alts.push(format!("{BACKSLASHES}t")),
        '\u{8}' => alts.push(format!("{BACKSLASHES}b")),
        '\u{c}' => alts.push(format!("{BACKSLASHES}f")),
        _ => {}
    }
    // `\uXXXX`: JSON may escape any character this way (Go escapes `&`, `<`, `>`; Python's
    // json.dumps everything beyond ASCII).
    let mut units = [0u16; 2];
    let json: String = c
        .encode_utf16(&mut units)
        .iter()
        .map(|u| format!("{BACKSLASHES}u{}", hex_ci(&format!("{u:04X}"))))
        .collect();
    alts.push(json);
    format!("(?:{})", alts.join("|"))
}

/// Hex digits matching either case: `2F` → `2[fF]`.
fn hex_ci(hex: &str) -> String {
    hex.chars()
        .map(|d| {
            if d.is_ascii_alphabetic() {
                format!("[{}{}]", d.to_ascii_lowercase(), d.to_ascii_uppercase())
            } else {
                d.to_string()
            }
        })
        .collect()
}

/// The base64 forms of `value` (standard and URL-safe alphabets, padded and not): what HTTP
/// Basic sends for `user:password` (RFC 7617), and what an API may echo back in either
/// alphabet.
pub(crate) fn base64_forms(value: &str) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let v = value.as_bytes();
    let mut out = vec![
        STANDARD.encode(v),
        STANDARD_NO_PAD.encode(v),
        URL_SAFE.encode(v),
        URL_SAFE_NO_PAD.encode(v),
    ];
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Secrets full of characters that need encoding, non-ASCII included.
    const SECRETS: &[&str] = &[
        "cs4+Plain&Secret/Value%7E",
        "pw +&/%=~:\"\\ é€😀-end",
        "tok.en_~with spaces and+plus",
    ];

    // Encoders written independently of `pattern`, as APIs in the wild encode.
    fn pct(s: &str, keep: &str, lower: bool, plus: bool) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || keep.as_bytes().contains(&b) {
                out.push(b as char);
            } else if plus && b == b' ' {
                out.push('+');
            } else if lower {
                out.push_str(&format!("%{b:02x}"));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    fn json_ascii(s: &str, lower: bool) -> String {
        // Like Python's json.dumps(ensure_ascii=True), without the quotes.
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
                c => {
                    let mut b = [0u16; 2];
                    for u in c.encode_utf16(&mut b) {
                        if lower {
                            out.push_str(&format!("\\u{u:04x}"));
                        } else {
                            out.push_str(&format!("\\u{u:04X}"));
                        }
                    }
                }
            }
        }
        out
    }

    fn json_plain(s: &str) -> String {
        let q = serde_json::to_string(s).unwrap();
        q[1..q.len() - 1].to_string()
    }

    /// Every form the issue names, for one secret.
    fn forms(s: &str) -> Vec<(String, String)> {
        let mut out = vec![("raw".to_string(), s.to_string())];
        // RFC 3986 unreserved only (OAuth 1.0a), encodeURIComponent, Python quote (keeps /),
        // form encoding (+ for space, WHATWG keeps *-._).
        let encoders: &[(&str, &str, bool)] = &[
            ("rfc3986", "-._~", false),
            ("uri-component", "-_.!~*'()", false),
            ("python-quote", "-._~/", false),
            ("form", "*-._", true),
        ];
        for (name, keep, plus) in encoders {
            for lower in [false, true] {
                let once = pct(s, keep, lower, *plus);
                out.push((format!("{name} once lower={lower}"), once.clone()));
                out.push((
                    format!("{name} twice lower={lower}"),
                    pct(&once, keep, lower, *plus),
                ));
            }
        }
        out.push(("json".into(), json_plain(s)));
        out.push(("json \\/".into(), json_plain(s).replace('/', "\\/")));
        for lower in [false, true] {
            out.push((format!("json \\u lower={lower}"), json_ascii(s, lower)));
            out.push((
                format!("json \\u \\/ lower={lower}"),
                json_ascii(s, lower).replace('/', "\\/"),
            ));
        }
        // JSON inside JSON.
        out.push(("json twice".into(), json_plain(&json_plain(s))));
        out
    }

    #[test]
    fn every_form_of_every_secret_is_replaced() {
        let scrubber = Scrubber::new(SECRETS.iter().copied());
        for s in SECRETS {
            for (name, form) in forms(s) {
                let text = format!("before {form} after");
                let got = scrubber.scrub_str(&text);
                assert_eq!(
                    got, "before (redacted) after",
                    "form {name} of {s:?} ({form:?})"
                );
            }
        }
    }

    #[test]
    fn base64_of_basic_credentials_is_replaced_in_each_alphabet_and_encoding() {
        use base64::Engine;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        // Chosen so that the base64 has '+', '/' and padding.
        let pair = "me@x.test:pw?>>~~é";
        let std = STANDARD.encode(pair);
        let url = URL_SAFE_NO_PAD.encode(pair);
        assert!(std.contains('+') || std.contains('/'), "{std}");
        assert!(std.ends_with('='), "{std}");
        let forms = base64_forms(pair);
        let scrubber = Scrubber::new(forms.iter().map(String::as_str));
        for echoed in [
            std.clone(),
            url.clone(),
            std.trim_end_matches('=').to_string(),
            pct(&std, "-._~", false, false),
            pct(&std, "-._~", true, false),
            json_plain(&std).replace('/', "\\/"),
        ] {
            let out = scrubber.scrub_str(&format!("Basic {echoed}."));
            assert_eq!(out, "Basic (redacted).", "{echoed}");
        }
    }

    #[test]
    fn a_secret_that_contains_another_is_replaced_whole() {
        // A PLAINTEXT signature: enc(consumer secret) & enc(token secret).
        let cs = "cs4+Plain&Secret";
        let sig = "cs4%2BPlain%26Secret&ts%2F1";
        let s = Scrubber::new([cs, sig]);
        let header = format!("oauth_signature=\"{}\"", pct(sig, "-._~", false, false));
        assert_eq!(s.scrub_str(&header), "oauth_signature=\"(redacted)\"");
    }

    #[test]
    fn other_text_is_left_alone() {
        let s = Scrubber::new(["abc", "secret-value+1"]);
        // Too short to scrub; similar but different; case matters in secrets.
        let text = "abc secret-value+2 SECRET-VALUE+1 secret-value%2B2 %25";
        assert_eq!(s.scrub_str(text), text);
        assert_eq!(Scrubber::new([]).scrub_str("x"), "x");
        // Replacement text is not a template.
        let s = Scrubber::new(["$1$1secret"]);
        assert_eq!(s.scrub_str("a $1$1secret b"), "a (redacted) b");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_scrubbed_too() {
        let s = Scrubber::new(["secret/é"]);
        let mut body = vec![0xff, 0xfe];
        body.extend_from_slice("secret%2F%C3%A9".as_bytes());
        body.push(0x80);
        assert_eq!(&*s.scrub(&body), b"\xff\xfe(redacted)\x80");
    }

    #[test]
    fn a_json_body_is_also_scrubbed_as_decoded() {
        let s = Scrubber::new(["secret-value"]);
        // Letters escaped as \u: no pattern lists that, the decoded view catches it.
        let body = br#"{"echo": "\u0073ecret-value", "n": 1}"#;
        let out = s.scrub_body(body);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["echo"], "(redacted)");
        assert_eq!(v["n"], 1);
        // Otherwise the bytes stay as they came.
        let plain = br#"{"a" : "secret-value",  "b":2}"#;
        assert_eq!(
            s.scrub_body(plain),
            br#"{"a" : "(redacted)",  "b":2}"#.to_vec()
        );
        assert_eq!(s.scrub_body(b"not json"), b"not json".to_vec());
    }

    #[test]
    fn debug_does_not_show_the_secrets() {
        let s = Scrubber::new(["secret-value"]);
        assert!(!format!("{s:?}").contains("secret"));
    }

    #[test]
    fn the_pattern_is_compiled_only_for_a_text_that_may_hold_a_secret() {
        let s = Scrubber::new(["sk-live/TOKEN-12345"]);
        for other in [r#"{"id": 12345, "login": "TOKEN"}"#, "sk live 12345 TOKEN"] {
            assert_eq!(s.scrub_str(other), other);
        }
        assert!(
            s.re.get().is_none(),
            "the secret's runs are not all there in order"
        );
        // Any form holds the runs (sk, live, TOKEN, 12345) as they are, in order.
        assert_eq!(
            s.scrub_str("x sk%2Dlive%2FTOKEN%2D12345 y"),
            "x (redacted) y"
        );
        assert!(s.re.get().is_some());
        // A secret without letters or digits has no run: every text is searched.
        let odd = Scrubber::new(["+/=~!?"]);
        assert_eq!(odd.scrub_str("a %2B%2F%3D~!? b"), "a (redacted) b");
        assert!(Scrubber::new(["+/=~", "abcd"]).may_hold_one(b"nothing"));
    }

    #[test]
    fn a_long_token_compiles_and_scrubs_quickly() {
        // A JWT-sized access token full of characters that need encoding.
        let token: String = (0..2000)
            .map(|i| ['a', '+', '/', '=', 'é', '~', '7'][i % 7])
            .collect();
        let s = Scrubber::new([token.as_str()]);
        let body = format!("{{\"t\":\"{}\"}}", json_ascii(&token, true)).repeat(20);
        let out = s.scrub_str(&body);
        assert_eq!(out, "{\"t\":\"(redacted)\"}".repeat(20));
    }
}
