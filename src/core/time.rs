//! Timestamps as RFC 3339 strings (UTC, seconds), the form stored in connections.toml.

use std::time::{Duration, Instant, SystemTime};

/// The last second RFC 3339 can write (9999-12-31T23:59:59Z), in Unix seconds. Times from
/// outside (a server's `expires_in`, a stored `expires_at`) are clamped to it, so no sum of
/// them overflows and every one can be written.
pub(crate) const MAX_UNIX: u64 = 253_402_300_799;

/// Unix seconds as RFC 3339; values past year 9999 are written as its last second.
pub(crate) fn unix_rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs.min(MAX_UNIX)),
    )
    .to_string()
}

/// `now + secs` in Unix seconds for a lifetime from outside (`expires_in`), saturating at
/// `MAX_UNIX` instead of overflowing or wrapping round to the past.
pub(crate) fn unix_after(now: u64, secs: u64) -> u64 {
    now.saturating_add(secs).min(MAX_UNIX)
}

/// The instant `d` from now; a `d` too large for the platform's clock (a user's
/// `--timeout 18446744073709551615`, a server's `Retry-After`) means "about never" rather than
/// a panic.
pub(crate) fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// How long ago an RFC 3339 timestamp was, as "5m" / "3h" / "2d"; `None` if it doesn't parse.
pub(crate) fn age(timestamp: &str) -> Option<String> {
    let then = humantime::parse_rfc3339_weak(timestamp).ok()?;
    let secs = SystemTime::now()
        .duration_since(then)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    Some(match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    })
}
