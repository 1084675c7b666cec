//! Scheduling a check run by host: a queue of work per host, and workers that take the next
//! item from a host with a free slot, round-robin across hosts. A host that accepts and never
//! answers holds at most its own slots; the other hosts' work goes on at full speed.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// How a run is spread: `workers` items in flight in all, at most `per_host` to one host.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spread {
    pub(crate) workers: usize,
    pub(crate) per_host: usize,
    /// After this instant the per-host limit no longer holds back queued items, so each is
    /// handed to `work` promptly (which reports it as not checked) instead of waiting for a
    /// slot on a host that never answers.
    pub(crate) deadline: Option<Instant>,
}

#[derive(Debug)]
struct Host {
    queue: VecDeque<usize>,
    in_flight: usize,
}

#[derive(Debug)]
struct State {
    hosts: Vec<Host>,
    /// Where the round-robin search for the next host starts.
    cursor: usize,
    left: usize,
}

/// Runs `work(i)` for each `i` in `0..hosts.len()`, where `hosts[i]` names the host item `i`
/// goes to (any string: items with equal keys share a host's slots). Items of one host start in
/// index order. Returns the results in index order.
pub(crate) fn by_host<R: Send>(
    hosts: &[String],
    spread: Spread,
    work: impl Fn(usize) -> R + Sync,
) -> Vec<R> {
    let n = hosts.len();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut queues: Vec<Host> = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        let k = *index.entry(h.as_str()).or_insert_with(|| {
            queues.push(Host {
                queue: VecDeque::new(),
                in_flight: 0,
            });
            queues.len() - 1
        });
        queues[k].queue.push_back(i);
    }
    drop(index);
    let state = Mutex::new(State {
        hosts: queues,
        cursor: 0,
        left: n,
    });
    let freed = Condvar::new();
    let slots: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let per_host = spread.per_host.max(1);
    let workers = spread.workers.clamp(1, n.max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some((host, i)) = next(&state, &freed, per_host, spread.deadline) {
                    let r = work(i);
                    *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
                    st.hosts[host].in_flight -= 1;
                    drop(st);
                    freed.notify_all();
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every item is run once")
        })
        .collect()
}

/// The next item to run as (host, item), waiting while every host with work is full; `None`
/// when no work is left.
fn next(
    state: &Mutex<State>,
    freed: &Condvar,
    per_host: usize,
    deadline: Option<Instant>,
) -> Option<(usize, usize)> {
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if st.left == 0 {
            return None;
        }
        let past = deadline.is_some_and(|d| Instant::now() >= d);
        let len = st.hosts.len();
        let start = st.cursor;
        for k in (0..len).map(|o| (start + o) % len) {
            let h = &mut st.hosts[k];
            if !h.queue.is_empty() && (past || h.in_flight < per_host) {
                let i = h.queue.pop_front().expect("not empty");
                h.in_flight += 1;
                st.left -= 1;
                st.cursor = (k + 1) % len;
                return Some((k, i));
            }
        }
        st = match deadline {
            Some(d) if !past => {
                let wait = d.saturating_duration_since(Instant::now());
                freed
                    .wait_timeout(st, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            _ => freed.wait(st).unwrap_or_else(|e| e.into_inner()),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn a_slow_host_delays_only_its_own_items() {
        // 4 workers, 1 per host; host "slow" takes 300 ms per item, "a".."c" 10 ms.
        let mut hosts = vec!["slow".to_string(); 6];
        for h in ["a", "b", "c"] {
            hosts.extend(std::iter::repeat_n(h.to_string(), 10));
        }
        let start = Instant::now();
        let done_at: Vec<Duration> = by_host(
            &hosts,
            Spread {
                workers: 4,
                per_host: 1,
                deadline: None,
            },
            |i| {
                let ms = if hosts[i] == "slow" { 300 } else { 10 };
                std::thread::sleep(Duration::from_millis(ms));
                start.elapsed()
            },
        );
        let healthy_last = (6..hosts.len()).map(|i| done_at[i]).max().unwrap();
        // 10 items per healthy host, one at a time: about 100 ms, far from the slow host's 1.8 s.
        assert!(
            healthy_last < Duration::from_millis(900),
            "{healthy_last:?}"
        );
    }

    #[test]
    fn never_more_than_per_host_at_once_and_every_item_once() {
        let hosts: Vec<String> = (0..40).map(|i| format!("h{}", i % 3)).collect();
        let now: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
        let max = AtomicUsize::new(0);
        let runs = AtomicUsize::new(0);
        let out = by_host(
            &hosts,
            Spread {
                workers: 8,
                per_host: 2,
                deadline: None,
            },
            |i| {
                let h = i % 3;
                let n = now[h].fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(n, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
                now[h].fetch_sub(1, Ordering::SeqCst);
                runs.fetch_add(1, Ordering::SeqCst);
                i
            },
        );
        assert_eq!(out, (0..40).collect::<Vec<_>>());
        assert_eq!(runs.load(Ordering::SeqCst), 40);
        assert_eq!(max.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn past_the_deadline_queued_items_are_handed_out_without_a_slot() {
        let hosts = vec!["hung".to_string(); 4];
        let start = Instant::now();
        let out = by_host(
            &hosts,
            Spread {
                workers: 4,
                per_host: 1,
                deadline: Some(start + Duration::from_millis(100)),
            },
            |i| {
                if i == 0 {
                    std::thread::sleep(Duration::from_millis(600));
                }
                start.elapsed()
            },
        );
        for t in &out[1..] {
            assert!(*t < Duration::from_millis(400), "{out:?}");
        }
    }
}
