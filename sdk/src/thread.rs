//! Threads a node starts itself (a network client's event loop, a
//! device's feeder): a panic there must not go unnoticed.
//!
//! The host catches a panic in a node's own calls (the export macro's
//! guard) and applies the node's restart policy. A panic on a thread the
//! node spawned ends only that thread: the node would go on without its
//! MQTT connection or its device, saying nothing. [`spawn`] catches it,
//! and [`Spawned::check`], called at the start of the node's calls, turns
//! it into the node's failure, so the restart policy re-creates the node
//! and its thread. [`PanicGuard`] does the same for a callback the node
//! hands to a library that calls it from a thread of its own (cpal's
//! data callbacks).

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{Arc, Mutex},
    thread::JoinHandle,
};

use hark_plugin_api::PluginErrorKind;

use crate::Error;

/// Catches panics in code that another thread runs for the node: a
/// thread it spawned ([`spawn`] uses one), or a callback it handed to a
/// library that calls it from a thread of its own (a sound device's data
/// callback). The first panic is kept; [`PanicGuard::check`] reports it.
///
/// Clones share what they caught: keep one in the node, move one into
/// the callback.
#[derive(Debug, Clone)]
pub struct PanicGuard {
    /// Who ran the code, as the error names it ("its thread `hark-mqtt`").
    what: Arc<str>,
    panicked: Arc<Mutex<Option<String>>>,
}

impl PanicGuard {
    /// A guard for the code `what` names, as the node's error will say it:
    /// "the microphone's data callback".
    pub fn new(what: &str) -> PanicGuard {
        PanicGuard {
            what: what.into(),
            panicked: Arc::default(),
        }
    }

    /// Runs `f`, catching a panic (Rust's panic hook still prints it to
    /// stderr as it happens). `None` if it panicked, now or before: once
    /// a guard has caught a panic it runs nothing more, since the state
    /// `f` works on may be broken.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        if self.has_panicked() {
            return None;
        }
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(r) => Some(r),
            Err(payload) => {
                let message = crate::raw::panic_message(payload);
                self.slot().get_or_insert(message);
                None
            }
        }
    }

    /// Whether the guarded code has panicked.
    pub fn has_panicked(&self) -> bool {
        self.slot().is_some()
    }

    /// `Err` (a panic, for the restart policy) if the guarded code
    /// panicked; call it at the start of the node's calls and return its
    /// error. Reported every time, until the node is re-created.
    pub fn check(&self) -> Result<(), Error> {
        match self.slot().as_ref() {
            Some(message) => Err(Error {
                kind: PluginErrorKind::Panicked,
                message: format!("{} panicked: {message}", self.what),
                hint: String::new(),
            }),
            None => Ok(()),
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.panicked.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A thread started with [`spawn`].
#[derive(Debug)]
pub struct Spawned {
    guard: PanicGuard,
    handle: Option<JoinHandle<()>>,
}

/// Starts thread `name` running `f`, catching a panic in it (Rust's panic
/// hook still prints it to stderr as it happens).
pub fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<Spawned> {
    let guard = PanicGuard::new(&format!("its thread `{name}`"));
    let caught = guard.clone();
    let handle = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            caught.run(f);
        })?;
    Ok(Spawned {
        guard,
        handle: Some(handle),
    })
}

impl Spawned {
    /// `Err` (a panic, for the restart policy) if the thread panicked;
    /// call it at the start of the node's calls and return its error.
    pub fn check(&self) -> Result<(), Error> {
        self.guard.check()
    }

    /// Whether the thread has ended (returned or panicked).
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits for the thread to end.
    pub fn join(mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_on_the_thread_becomes_the_nodes_failure() {
        let quiet = spawn("quiet", || {}).expect("spawned");
        let loud = spawn("loud", || panic!("lost the broker")).expect("spawned");
        while !(quiet.is_finished() && loud.is_finished()) {
            std::thread::yield_now();
        }
        assert!(quiet.check().is_ok());
        let e = loud.check().expect_err("the panic is reported");
        assert_eq!(e.kind, PluginErrorKind::Panicked);
        assert_eq!(e.message(), "its thread `loud` panicked: lost the broker");
        // Reported every time, until the node is re-created.
        assert!(loud.check().is_err());
        loud.join();
    }

    #[test]
    fn a_guard_keeps_the_first_panic_and_runs_nothing_after_it() {
        let guard = PanicGuard::new("the test's callback");
        let callback = guard.clone();
        assert_eq!(callback.run(|| 2 + 2), Some(4));
        assert!(guard.check().is_ok());
        assert_eq!(callback.run(|| -> i32 { panic!("bad buffer") }), None);
        let ran = std::cell::Cell::new(false);
        assert_eq!(callback.run(|| ran.set(true)), None);
        assert!(!ran.get(), "nothing runs after a panic");
        let e = guard.check().expect_err("the panic is reported");
        assert_eq!(e.kind, PluginErrorKind::Panicked);
        assert_eq!(e.message(), "the test's callback panicked: bad buffer");
    }
}
