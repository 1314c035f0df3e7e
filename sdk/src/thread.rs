//! Threads a node starts itself (a network client's event loop, a
//! device's feeder): a panic there must not go unnoticed.
//!
//! The host catches a panic in a node's own calls (the export macro's
//! guard) and applies the node's restart policy. A panic on a thread the
//! node spawned ends only that thread: the node would go on without its
//! MQTT connection or its device, saying nothing. [`spawn`] catches it,
//! and [`Spawned::check`], called at the start of the node's calls, turns
//! it into the node's failure, so the restart policy re-creates the node
//! and its thread.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{Arc, Mutex},
    thread::JoinHandle,
};

use hark_plugin_api::PluginErrorKind;

use crate::Error;

/// A thread started with [`spawn`].
#[derive(Debug)]
pub struct Spawned {
    name: String,
    panicked: Arc<Mutex<Option<String>>>,
    handle: Option<JoinHandle<()>>,
}

/// Starts thread `name` running `f`, catching a panic in it (Rust's panic
/// hook still prints it to stderr as it happens).
pub fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<Spawned> {
    let panicked: Arc<Mutex<Option<String>>> = Arc::default();
    let slot = panicked.clone();
    let handle = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
                let message = crate::raw::panic_message(payload);
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
            }
        })?;
    Ok(Spawned {
        name: name.to_string(),
        panicked,
        handle: Some(handle),
    })
}

impl Spawned {
    /// `Err` (a panic, for the restart policy) if the thread panicked;
    /// call it at the start of the node's calls and return its error.
    pub fn check(&self) -> Result<(), Error> {
        match self
            .panicked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            Some(message) => Err(Error {
                kind: PluginErrorKind::Panicked,
                message: format!("its thread `{}` panicked: {message}", self.name),
                hint: String::new(),
            }),
            None => Ok(()),
        }
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
}
