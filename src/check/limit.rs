//! Politeness limits for a check run: at most N requests in flight per host, and a deadline
//! for the whole run.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// Counts requests in flight per host and makes callers wait for a free slot.
#[derive(Debug)]
pub(crate) struct HostLimiter {
    limit: usize,
    in_flight: Mutex<HashMap<String, usize>>,
    freed: Condvar,
}

/// A slot for one request to one host; released on drop.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    limiter: &'a HostLimiter,
    host: String,
}

impl HostLimiter {
    pub(crate) fn new(limit: usize) -> Self {
        HostLimiter {
            limit: limit.max(1),
            in_flight: Mutex::new(HashMap::new()),
            freed: Condvar::new(),
        }
    }

    #[cfg(test)]
    pub(crate) fn acquire(&self, host: &str) -> Permit<'_> {
        self.acquire_until(host, None).expect("no deadline")
    }

    /// Waits for a slot, but not past `deadline`; `None` when the deadline came first.
    pub(crate) fn acquire_until(
        &self,
        host: &str,
        deadline: Option<Instant>,
    ) -> Option<Permit<'_>> {
        let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        while map.get(host).copied().unwrap_or(0) >= self.limit {
            match deadline {
                None => map = self.freed.wait(map).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return None;
                    }
                    map = self
                        .freed
                        .wait_timeout(map, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        *map.entry(host.to_string()).or_insert(0) += 1;
        Some(Permit {
            limiter: self,
            host: host.to_string(),
        })
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut map = self
            .limiter
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.host) {
            *n = n.saturating_sub(1);
        }
        self.limiter.freed.notify_all();
    }
}

/// Limits that apply to one check.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Limits<'a> {
    pub hosts: Option<&'a HostLimiter>,
    /// No request starts, and no retry waits, past this instant.
    pub deadline: Option<Instant>,
    /// Per request; `None` keeps the HTTP client's own.
    pub timeout: Option<std::time::Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn never_more_than_the_limit_per_host() {
        let l = HostLimiter::new(2);
        let now = AtomicUsize::new(0);
        let max = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let _p = l.acquire("a");
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(max.load(Ordering::SeqCst), 2);
    }
}
