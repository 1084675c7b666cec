//! Timestamps as RFC 3339 strings (UTC, seconds), the form stored in connections.toml.

use std::time::{Duration, SystemTime};

/// Unix seconds as RFC 3339.
pub(crate) fn unix_rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .to_string()
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
