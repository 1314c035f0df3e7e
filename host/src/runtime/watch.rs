//! What the runtime knows about a node while it runs, shared between the
//! node's thread and the runtime's watchdog (`run`'s own thread).
//!
//! - [`Activity`]: which plugin call is in progress and since when, so
//!   the watchdog can tell a node stuck in plugin code from one that is
//!   waiting for input or blocked on a full queue (backpressure, which is
//!   not a stall: time inside `emit` does not count). One per thread: a
//!   node replaced after a stall gets a new one, and the old thread, once
//!   its call returns, sees that it was abandoned and touches nothing.
//! - [`Tally`]: the node's counts, which outlive a replaced thread, so the
//!   restart limit and the report count every thread the node had.
//!
//! **Invariant:** an abandoned thread never emits, never ends its output
//! streams and never reports: its replacement (or the runtime) does.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use parking_lot::Mutex;

use super::isolate::Killer;

/// A plugin call the watchdog times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `on_message`.
    OnMessage = 1,
    /// `produce`.
    Produce = 2,
    /// `flush`.
    Flush = 3,
}

impl Call {
    fn from_bits(bits: u64) -> Call {
        match bits {
            1 => Call::OnMessage,
            2 => Call::Produce,
            _ => Call::Flush,
        }
    }

    /// The call's name, as logs and reports write it.
    pub fn name(self) -> &'static str {
        match self {
            Call::OnMessage => "on_message",
            Call::Produce => "produce",
            Call::Flush => "flush",
        }
    }
}

/// No call in progress.
const IDLE: u64 = 0;
/// Inside `emit` (possibly waiting on a full queue): not counted.
const EMITTING: u64 = u64::MAX;

/// A clock for the watchdog, cheap to read on every message: milliseconds
/// since the run began, advanced by the watchdog at each of its ticks (at
/// least every 250 ms). Node threads only load it; reading the real clock
/// twice per message would cost more than the rest of the bookkeeping.
/// Stalls are timed to within one tick, against deadlines of seconds.
#[derive(Debug)]
pub struct Clock {
    epoch: Instant,
    ms: AtomicU64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl Clock {
    /// A clock at 0.
    pub fn new() -> Clock {
        Clock {
            epoch: Instant::now(),
            ms: AtomicU64::new(0),
        }
    }

    /// Advances the clock to now (the watchdog, at each tick).
    pub fn tick(&self) {
        self.ms
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn now(&self) -> u64 {
        self.ms.load(Ordering::Relaxed)
    }
}

/// The call one node thread is in. One atomic word, so the watchdog
/// never reads a call with another call's start time: `(ms on the
/// run's [`Clock`]) << 2 | call`, or [`IDLE`], or [`EMITTING`].
#[derive(Debug)]
pub struct Activity {
    clock: Arc<Clock>,
    state: AtomicU64,
    /// What the call was when `emit` began, to restore the call after it.
    call_before_emit: AtomicU64,
    abandoned: AtomicBool,
    killer: Mutex<Option<Killer>>,
}

impl Activity {
    /// An idle activity timed by `clock`.
    pub fn new(clock: Arc<Clock>) -> Activity {
        Activity {
            clock,
            state: AtomicU64::new(IDLE),
            call_before_emit: AtomicU64::new(0),
            abandoned: AtomicBool::new(false),
            killer: Mutex::new(None),
        }
    }

    /// A plugin call begins.
    pub fn begin(&self, call: Call) {
        self.state
            .store(self.clock.now() << 2 | call as u64, Ordering::Release);
    }

    /// The plugin call returned.
    pub fn end(&self) {
        self.state.store(IDLE, Ordering::Release);
    }

    /// The node calls `emit`: until [`Activity::emitted`], it is the
    /// host's time (a full queue), not the plugin's.
    pub fn emitting(&self) {
        let state = self.state.load(Ordering::Relaxed);
        if state != EMITTING && state != IDLE {
            self.call_before_emit.store(state & 3, Ordering::Relaxed);
        }
        self.state.store(EMITTING, Ordering::Release);
    }

    /// `emit` returned: the plugin's clock starts again.
    pub fn emitted(&self) {
        let call = self.call_before_emit.load(Ordering::Relaxed);
        self.state
            .store(self.clock.now() << 2 | call, Ordering::Release);
    }

    /// The call in progress and how long the plugin has been in it (to
    /// within a tick of the clock), if it is in one (and not inside
    /// `emit`).
    pub fn in_call(&self) -> Option<(Call, Duration)> {
        let state = self.state.load(Ordering::Acquire);
        if state == IDLE || state == EMITTING || state & 3 == 0 {
            return None;
        }
        let since = state >> 2;
        Some((
            Call::from_bits(state & 3),
            Duration::from_millis(self.clock.now().saturating_sub(since)),
        ))
    }

    /// The runtime gave up on this thread (a stall, or the drain
    /// deadline). An isolated node's process is killed, so the call
    /// returns at once; in the host's process nothing can stop a call.
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::Release);
        if let Some(killer) = self.killer.lock().take() {
            killer.kill();
        }
    }

    /// What stops the thread's node if it is abandoned (its process, when
    /// isolated); replaced when the node is re-created.
    pub fn set_killer(&self, killer: Option<Killer>) {
        *self.killer.lock() = killer;
        // Abandoned meanwhile: the new process must not live on either.
        if self.is_abandoned() {
            if let Some(killer) = self.killer.lock().take() {
                killer.kill();
            }
        }
    }

    /// Whether the runtime gave up on this thread.
    pub fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }
}

/// A node's counts over all its threads.
#[derive(Debug, Default)]
pub struct Tally {
    /// Messages received (end of stream excluded).
    pub received: AtomicU64,
    /// Messages emitted.
    pub emitted: AtomicU64,
    /// Messages received after the node gave up.
    pub discarded: AtomicU64,
    /// Restarts performed.
    pub restarts: AtomicU32,
    /// Failures: errors, caught panics and stalls.
    pub failures: AtomicU32,
    /// Calls that did not return within the node's stall deadline.
    pub stalls: AtomicU32,
    gave_up: AtomicBool,
    why: Mutex<Option<String>>,
}

impl Tally {
    /// Adds one to `counter`. A load and a store, not an atomic add:
    /// only the node's current thread counts (an abandoned one stops
    /// before it would), and this runs for every message.
    pub fn bump(counter: &AtomicU64) {
        counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// The node gives up, for the reason `line`. The first reason stays.
    pub fn give_up(&self, line: String) {
        let mut why = self.why.lock();
        if why.is_none() {
            *why = Some(line);
        }
        self.gave_up.store(true, Ordering::Release);
    }

    /// Whether the node gave up (then it drains its inputs and discards).
    pub fn gave_up(&self) -> bool {
        self.gave_up.load(Ordering::Acquire)
    }

    /// Why the node gave up.
    pub fn why(&self) -> Option<String> {
        self.why.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_inside_emit_is_not_the_plugins() {
        let clock = Arc::new(Clock::new());
        let activity = Activity::new(clock.clone());
        assert!(activity.in_call().is_none(), "idle");
        activity.begin(Call::OnMessage);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            activity.in_call(),
            Some((Call::OnMessage, Duration::ZERO)),
            "the clock moves only when the watchdog ticks"
        );
        clock.tick();
        let (call, since) = activity.in_call().expect("in a call");
        assert_eq!(call, Call::OnMessage);
        assert!(since >= Duration::from_millis(20));
        activity.emitting();
        assert!(activity.in_call().is_none(), "waiting in emit");
        activity.emitted();
        let (call, since) = activity.in_call().expect("back in the call");
        assert_eq!(call, Call::OnMessage);
        assert_eq!(since, Duration::ZERO, "the clock restarted");
        activity.end();
        assert!(activity.in_call().is_none());
    }

    #[test]
    fn the_first_reason_to_give_up_stays() {
        let tally = Tally::default();
        assert!(!tally.gave_up());
        tally.give_up("stalled".into());
        tally.give_up("later".into());
        assert!(tally.gave_up());
        assert_eq!(tally.why().as_deref(), Some("stalled"));
    }
}
