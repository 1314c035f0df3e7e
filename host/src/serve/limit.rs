//! The concurrency limit: at most `running` requests at once; above it,
//! requests wait in a bounded queue for a free slot, for at most `wait`,
//! and are then refused. A counting semaphore with a bounded wait list.
//!
//! Why refuse rather than queue forever: on 2 cores a queue that grows
//! turns every answer late; a client told "busy" at once can retry or
//! fall back, and the server stays responsive to the others.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::metrics::Metrics;

/// The limit's settings.
#[derive(Debug, Clone, Copy)]
pub struct LimitSettings {
    /// Requests running at once.
    pub running: usize,
    /// Requests waiting for a slot, at most.
    pub waiting: usize,
    /// How long a request may wait.
    pub wait: Duration,
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The wait list is full.
    #[error(
        "the server is busy: {running} requests running and {waiting} waiting; try again shortly"
    )]
    Full {
        /// Requests running.
        running: usize,
        /// Requests waiting.
        waiting: usize,
    },
    /// No slot came free in time.
    #[error("the server is busy: no free slot within {} ms; try again shortly", .0.as_millis())]
    Timeout(Duration),
}

impl Refusal {
    /// A fixed word for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Full { .. } => "busy",
            Refusal::Timeout(_) => "queue-timeout",
        }
    }
}

/// The limit.
#[derive(Debug)]
pub struct Limiter {
    settings: LimitSettings,
    /// (running, waiting).
    state: Mutex<(usize, usize)>,
    freed: Condvar,
}

/// A slot, given back on drop.
#[derive(Debug)]
pub struct Permit<'l> {
    limiter: &'l Limiter,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter.state.lock().0 -= 1;
        self.limiter.freed.notify_one();
    }
}

impl Limiter {
    /// A limit with `settings` (at least one request runs).
    pub fn new(settings: LimitSettings) -> Limiter {
        Limiter {
            settings: LimitSettings {
                running: settings.running.max(1),
                ..settings
            },
            state: Mutex::new((0, 0)),
            freed: Condvar::new(),
        }
    }

    /// Takes a slot, waiting if needed; `metrics` sees the wait.
    pub fn acquire(&self, metrics: &Metrics) -> Result<Permit<'_>, Refusal> {
        let arrived = Instant::now();
        let mut state = self.state.lock();
        if state.0 < self.settings.running && state.1 == 0 {
            state.0 += 1;
            metrics.queue_wait_seconds.observe(0.0);
            return Ok(Permit { limiter: self });
        }
        if state.1 >= self.settings.waiting {
            return Err(Refusal::Full {
                running: state.0,
                waiting: state.1,
            });
        }
        state.1 += 1;
        metrics.requests_waiting.inc();
        let deadline = arrived + self.settings.wait;
        let result = loop {
            if state.0 < self.settings.running {
                state.0 += 1;
                break Ok(Permit { limiter: self });
            }
            if self.freed.wait_until(&mut state, deadline).timed_out() {
                break Err(Refusal::Timeout(self.settings.wait));
            }
        };
        state.1 -= 1;
        metrics.requests_waiting.dec();
        metrics
            .queue_wait_seconds
            .observe(arrived.elapsed().as_secs_f64());
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn limiter(running: usize, waiting: usize, wait_ms: u64) -> Arc<Limiter> {
        Arc::new(Limiter::new(LimitSettings {
            running,
            waiting,
            wait: Duration::from_millis(wait_ms),
        }))
    }

    #[test]
    fn requests_above_the_limit_wait_then_are_refused() {
        let metrics = Metrics::new();
        let l = limiter(2, 1, 50);
        let a = l.acquire(&metrics).unwrap();
        let _b = l.acquire(&metrics).unwrap();
        // The third waits its 50 ms and is refused.
        let started = Instant::now();
        assert_eq!(
            l.acquire(&metrics).unwrap_err(),
            Refusal::Timeout(Duration::from_millis(50))
        );
        assert!(started.elapsed() >= Duration::from_millis(50));
        // A slot freed while waiting is taken.
        let l2 = l.clone();
        let waiter = std::thread::spawn(move || l2.acquire(&Metrics::new()).map(|_| ()));
        std::thread::sleep(Duration::from_millis(10));
        drop(a);
        assert_eq!(waiter.join().unwrap(), Ok(()));
    }

    #[test]
    fn a_full_wait_list_refuses_at_once() {
        let metrics = Metrics::new();
        let l = limiter(1, 1, 1000);
        let _a = l.acquire(&metrics).unwrap();
        let l2 = l.clone();
        let waiter = std::thread::spawn(move || l2.acquire(&Metrics::new()).map(|_| ()));
        while l.state.lock().1 == 0 {
            std::thread::yield_now();
        }
        let started = Instant::now();
        assert!(matches!(
            l.acquire(&metrics),
            Err(Refusal::Full {
                running: 1,
                waiting: 1
            })
        ));
        assert!(started.elapsed() < Duration::from_millis(500));
        drop(_a);
        assert_eq!(waiter.join().unwrap(), Ok(()));
    }
}
