//! The host side of [`HostContext`] and [`Emitter`]: what a node's calls
//! into the host land on.
//!
//! **Invariant:** nothing here panics: these are `extern "C"` functions
//! called from plugin code, where a panic would abort the process.

use std::{
    collections::BTreeMap,
    ffi::c_void,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, OnceLock,
    },
};

use hark_plugin_api::{
    abi_stable::{
        prefix_type::PrefixTypeTrait,
        std_types::{RResult, RStr, RString},
    },
    Directory, EmitError, EmitErrorKind, Emitter, EmitterVTable, EmitterVTableRef, HostContext,
    HostVTable, HostVTableRef, LogLevel, Message,
};
use parking_lot::Mutex;

use super::{
    link::LinkSender,
    watch::{Activity, Tally},
};

/// Per-node host state behind a [`HostContext`]; lives (in an `Arc`) until
/// after the node is shut down.
#[derive(Debug, Default)]
pub struct NodeEnv {
    /// The node's name in the pipeline.
    pub name: String,
    /// Counters reported through the context.
    pub counters: Mutex<BTreeMap<String, u64>>,
    /// Gauges reported through the context.
    pub gauges: Mutex<BTreeMap<String, f64>>,
}

impl NodeEnv {
    /// A new env for node `name`.
    pub fn new(name: &str) -> Arc<Self> {
        Arc::new(NodeEnv {
            name: name.to_string(),
            ..NodeEnv::default()
        })
    }

    /// The context handed to the plugin. Valid while `self` is alive.
    pub fn context(self: &Arc<Self>) -> HostContext {
        HostContext {
            env: Arc::as_ptr(self) as *const c_void,
            vtable: host_vtable(),
        }
    }
}

fn host_vtable() -> HostVTableRef {
    static VTABLE: OnceLock<HostVTableRef> = OnceLock::new();
    *VTABLE.get_or_init(|| {
        HostVTable::new_ref(
            log,
            counter_add,
            gauge_set,
            directory,
            node_name,
            Some(crate::inference::vtable()),
        )
    })
}

/// # Safety
/// `env` must be a pointer made by [`NodeEnv::context`], still alive.
unsafe fn env<'a>(env: *const c_void) -> &'a NodeEnv {
    // SAFETY: guaranteed by the caller (the runtime keeps the Arc alive).
    unsafe { &*(env as *const NodeEnv) }
}

unsafe extern "C" fn log(e: *const c_void, level: LogLevel, message: RStr<'_>) {
    // SAFETY: plugins pass back the env of the context they were given.
    let node = unsafe { env(e) }.name.as_str();
    let message = message.as_str();
    match level {
        LogLevel::Error => tracing::error!(target: "plugin", node, "{message}"),
        LogLevel::Warn => tracing::warn!(target: "plugin", node, "{message}"),
        LogLevel::Info => tracing::info!(target: "plugin", node, "{message}"),
        LogLevel::Debug => tracing::debug!(target: "plugin", node, "{message}"),
        LogLevel::Trace => tracing::trace!(target: "plugin", node, "{message}"),
    }
}

unsafe extern "C" fn counter_add(e: *const c_void, name: RStr<'_>, delta: u64) {
    // SAFETY: as in `log`.
    let env = unsafe { env(e) };
    let mut counters = env.counters.lock();
    match counters.get_mut(name.as_str()) {
        Some(v) => *v = v.saturating_add(delta),
        None => {
            counters.insert(name.to_string(), delta);
        }
    }
}

unsafe extern "C" fn gauge_set(e: *const c_void, name: RStr<'_>, value: f64) {
    // SAFETY: as in `log`.
    let env = unsafe { env(e) };
    env.gauges.lock().insert(name.to_string(), value);
}

unsafe extern "C" fn directory(_e: *const c_void, which: Directory) -> RString {
    RString::from(crate::dirs::directory(which).to_string_lossy().into_owned())
}

unsafe extern "C" fn node_name(e: *const c_void) -> RString {
    // SAFETY: as in `log`.
    RString::from(unsafe { env(e) }.name.as_str())
}

/// A node's output ports: for each port, the links it feeds.
pub struct OutputPorts {
    /// Links per output port.
    pub ports: Vec<Vec<LinkSender>>,
    /// Set when the pipeline is stopping (Ctrl-C).
    pub stopping: Arc<AtomicBool>,
    /// Sources see `Stopping` errors once `stopping` is set, so they end;
    /// other nodes keep emitting so that queued work drains.
    pub is_source: bool,
    /// The node's counts (`emitted`: once per emit, not per link).
    pub tally: Arc<Tally>,
    /// The node thread's call, for the watchdog: time waiting in `emit`
    /// (a full queue) is not the plugin's.
    pub activity: Arc<Activity>,
}

impl OutputPorts {
    /// An emitter lent to the node for one call.
    pub fn emitter(&mut self) -> Emitter {
        Emitter {
            env: self as *mut OutputPorts as *mut c_void,
            vtable: emitter_vtable(),
        }
    }

    /// Sends end of stream on every link.
    pub fn end_streams(&self) {
        for link in self.ports.iter().flatten() {
            link.send_end_of_stream();
        }
    }
}

fn emitter_vtable() -> EmitterVTableRef {
    static VTABLE: OnceLock<EmitterVTableRef> = OnceLock::new();
    *VTABLE.get_or_init(|| EmitterVTable { emit }.leak_into_prefix())
}

unsafe extern "C" fn emit(env: *mut c_void, port: u32, message: Message) -> RResult<(), EmitError> {
    // SAFETY: the emitter was made by `OutputPorts::emitter` for the call
    // in progress, during which the runtime does not touch the ports.
    let outputs = unsafe { &mut *(env as *mut OutputPorts) };
    outputs.send(port, message).into()
}

impl OutputPorts {
    /// Sends `message` on every link of output port `port`: what a
    /// node's `emit` does, in its process or (for an isolated node) in
    /// the host on its behalf.
    pub fn send(&mut self, port: u32, message: Message) -> Result<(), EmitError> {
        if self.activity.is_abandoned() {
            // Another thread runs this node now (or the run is over).
            return Err(EmitError {
                kind: EmitErrorKind::Stopping,
                message: RString::from("this node was stopped after it stalled"),
            });
        }
        if self.is_source && self.stopping.load(Ordering::Relaxed) {
            return Err(EmitError {
                kind: EmitErrorKind::Stopping,
                message: RString::from("the pipeline is stopping"),
            });
        }
        let Some(links) = self.ports.get(port as usize) else {
            return Err(EmitError {
                kind: EmitErrorKind::InvalidPort,
                message: RString::from(format!(
                    "output port {port} does not exist (this node has {})",
                    self.ports.len()
                )),
            });
        };
        Tally::bump(&self.tally.emitted);
        self.activity.emitting();
        if let Some((last, rest)) = links.split_last() {
            for link in rest {
                link.send(message.clone()); // cheap: bulk data is shared
            }
            last.send(message);
        }
        self.activity.emitted();
        Ok(())
    }
}
