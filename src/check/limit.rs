//! Politeness limits for a check run: at most N requests in flight in all and M per host, and
//! a deadline for the whole run.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// Counts requests in flight, in all and per host, and makes callers wait for a free slot.
#[derive(Debug)]
pub(crate) struct HostLimiter {
    limit: usize,
    total_limit: usize,
    in_flight: Mutex<InFlight>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct InFlight {
    by_host: HashMap<String, usize>,
    total: usize,
}

/// A slot for one request (to one host, when it has one); released on drop.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    limiter: &'a HostLimiter,
    host: Option<String>,
}

impl HostLimiter {
    /// At most `per_host` requests to one host and `total` in all.
    pub(crate) fn new(per_host: usize, total: usize) -> Self {
        HostLimiter {
            limit: per_host.max(1),
            total_limit: total.max(1),
            in_flight: Mutex::new(InFlight::default()),
            freed: Condvar::new(),
        }
    }

    #[cfg(test)]
    pub(crate) fn acquire(&self, host: &str) -> Permit<'_> {
        self.acquire_until(host, None).expect("no deadline")
    }

    /// Waits for a slot to `host`, but not past `deadline`; `None` when the deadline came first.
    pub(crate) fn acquire_until(
        &self,
        host: &str,
        deadline: Option<Instant>,
    ) -> Option<Permit<'_>> {
        self.wait_for(Some(host), deadline)
    }

    /// Waits for a slot counted only in the total (a token endpoint's request: those have no
    /// per-host limit), but not past `deadline`; `None` when the deadline came first.
    pub(crate) fn acquire_any_until(&self, deadline: Option<Instant>) -> Option<Permit<'_>> {
        self.wait_for(None, deadline)
    }

    fn wait_for(&self, host: Option<&str>, deadline: Option<Instant>) -> Option<Permit<'_>> {
        let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        while map.total >= self.total_limit
            || host.is_some_and(|h| map.by_host.get(h).copied().unwrap_or(0) >= self.limit)
        {
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
        map.total += 1;
        if let Some(h) = host {
            *map.by_host.entry(h.to_string()).or_insert(0) += 1;
        }
        Some(Permit {
            limiter: self,
            host: host.map(str::to_string),
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
        map.total = map.total.saturating_sub(1);
        if let Some(n) = self.host.as_ref().and_then(|h| map.by_host.get_mut(h)) {
            *n = n.saturating_sub(1);
        }
        drop(map);
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
    fn never_more_than_the_limit_per_host_nor_in_all() {
        // 2 per host, 3 in all; hosts "a" and "b" and requests without a host.
        let l = HostLimiter::new(2, 3);
        let now: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
        let total = AtomicUsize::new(0);
        let max: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
        std::thread::scope(|s| {
            for i in 0..24 {
                let (l, now, total, max) = (&l, &now, &total, &max);
                s.spawn(move || {
                    let k = i % 3;
                    let _p = match k {
                        0 => l.acquire("a"),
                        1 => l.acquire("b"),
                        _ => l.acquire_any_until(None).unwrap(),
                    };
                    let n = now[k].fetch_add(1, Ordering::SeqCst) + 1;
                    max[k].fetch_max(n, Ordering::SeqCst);
                    let t = total.fetch_add(1, Ordering::SeqCst) + 1;
                    max[3].fetch_max(t, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    total.fetch_sub(1, Ordering::SeqCst);
                    now[k].fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        assert!(max[0].load(Ordering::SeqCst) <= 2);
        assert!(max[1].load(Ordering::SeqCst) <= 2);
        assert_eq!(
            max[3].load(Ordering::SeqCst),
            3,
            "the total is reached, never passed"
        );
    }

    #[test]
    fn a_full_limiter_gives_up_at_the_deadline() {
        let l = HostLimiter::new(1, 1);
        let _held = l.acquire("a");
        let soon = Instant::now() + std::time::Duration::from_millis(30);
        assert!(l.acquire_until("b", Some(soon)).is_none());
        assert!(l.acquire_any_until(Some(soon)).is_none());
    }
}
