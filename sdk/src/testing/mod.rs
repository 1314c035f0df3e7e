//! Running a node without the host, for plugin unit tests.
//!
//! [`Harness`] is a miniature host: it creates a node through the same
//! type-erased entry and `extern "C"` vtable the real host uses (so config
//! parsing, error conversion and panic catching are exercised too), lends
//! it a host context that records logs and metrics, feeds it messages and
//! collects what it emits.
//!
//! ```ignore
//! use hark_sdk::{testing::Harness, audio_message, MessageMeta};
//!
//! let mut h = Harness::new::<Gain>("(gain_db: 6.0)").unwrap();
//! h.push(0, audio_message(MessageMeta::default(), 16_000, 1, vec![0.25])).unwrap();
//! let out = h.finish().unwrap();
//! ```

use std::{
    collections::BTreeMap,
    ffi::c_void,
    path::PathBuf,
    sync::{Mutex, OnceLock},
};

use hark_plugin_api::{
    abi_stable::{
        prefix_type::PrefixTypeTrait,
        std_types::{ROk, RResult, RStr, RString},
    },
    Directory, EmitError, Emitter, EmitterVTable, EmitterVTableRef, HostContext, HostVTable,
    HostVTableRef, InferenceVTableRef, LogLevel, Message, NodeBox, PluginError, SourceStatus,
};

use crate::{raw::KindEntry, NodeKind, Produce};

mod speech;
pub use speech::{resample, speech};

/// What the test host recorded for a node.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Log records, in order.
    pub logs: Vec<(LogLevel, String)>,
    /// Counters.
    pub counters: BTreeMap<String, u64>,
    /// Gauges.
    pub gauges: BTreeMap<String, f64>,
}

/// The texts of the text messages among `outputs`, in order (other
/// messages are skipped): what most node tests compare.
pub fn texts(outputs: &[(u32, Message)]) -> Vec<String> {
    outputs
        .iter()
        .filter_map(|(_, m)| match &m.payload {
            hark_plugin_api::Payload::Text(t) => Some(t.text.to_string()),
            _ => None,
        })
        .collect()
}

/// Boxed in the harness: the node keeps a pointer to it for its life.
struct TestHost {
    name: String,
    recorded: Mutex<Recorded>,
    scratch: PathBuf,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("node", &self.host.name)
            .field("outputs", &self.outputs.len())
            .finish()
    }
}

/// A node running outside the host.
pub struct Harness {
    node: Option<NodeBox>,
    host: Box<TestHost>,
    outputs: Vec<(u32, Message)>,
}

impl Harness {
    /// Creates a node of kind `K` from RON `config`, as the host would.
    /// Configuration errors come back with their line and column.
    pub fn new<K: NodeKind>(config: &str) -> Result<Harness, PluginError> {
        Harness::create::<K>(config, host_vtable(None))
    }

    /// Like [`Harness::new`], lending the node a real inference core: a
    /// plugin's tests can take the host's with a dev-dependency on `hark`
    /// (`Harness::with_inference::<Vad>(config, hark::inference::vtable())`).
    pub fn with_inference<K: NodeKind>(
        config: &str,
        inference: InferenceVTableRef,
    ) -> Result<Harness, PluginError> {
        Harness::create::<K>(config, host_vtable(Some(inference)))
    }

    fn create<K: NodeKind>(config: &str, vtable: HostVTableRef) -> Result<Harness, PluginError> {
        let name = K::spec().name().to_string();
        let scratch =
            std::env::temp_dir().join(format!("hark-harness-{}-{name}", std::process::id()));
        let host = Box::new(TestHost {
            name,
            recorded: Mutex::new(Recorded::default()),
            scratch,
        });
        let context = HostContext {
            env: &*host as *const TestHost as *const c_void,
            vtable,
        };
        let entry = KindEntry::of::<K>();
        let node = entry.create_node(config, context).into_result()?;
        Ok(Harness {
            node: Some(node),
            host,
            outputs: Vec::new(),
        })
    }

    fn emitter(&mut self) -> Emitter {
        Emitter {
            env: &mut self.outputs as *mut Vec<(u32, Message)> as *mut c_void,
            vtable: emitter_vtable(),
        }
    }

    fn node(&self) -> &NodeBox {
        self.node.as_ref().expect("the harness was finished")
    }

    /// Delivers `message` on input port `port`.
    pub fn push(&mut self, port: u32, message: Message) -> Result<(), PluginError> {
        let mut emitter = self.emitter();
        let node = self.node();
        // SAFETY: `node` was created by the sdk's vtable and is used from
        // this thread only; the emitter outlives the call.
        unsafe { (node.vtable.on_message())(node.state, port, message, &mut emitter) }.into_result()
    }

    /// Calls a source's `produce` once.
    pub fn produce(&mut self) -> Result<Produce, PluginError> {
        let mut emitter = self.emitter();
        let node = self.node();
        // SAFETY: as in `push`.
        let status = unsafe { (node.vtable.produce())(node.state, &mut emitter) }.into_result()?;
        Ok(match status {
            SourceStatus::Continue => Produce::More,
            SourceStatus::Finished => Produce::Finished,
        })
    }

    /// Calls `produce` until the source finishes, at most `max_calls` times.
    pub fn run_source(&mut self, max_calls: usize) -> Result<(), PluginError> {
        for _ in 0..max_calls {
            if self.produce()? == Produce::Finished {
                return Ok(());
            }
        }
        panic!("the source did not finish within {max_calls} calls");
    }

    /// Messages emitted so far, taken out of the harness.
    pub fn take_outputs(&mut self) -> Vec<(u32, Message)> {
        std::mem::take(&mut self.outputs)
    }

    /// Ends the stream: `flush`, then `shutdown`. Returns every message
    /// not taken yet.
    pub fn finish(mut self) -> Result<Vec<(u32, Message)>, PluginError> {
        let mut emitter = self.emitter();
        let node = self.node.take().expect("finished once");
        // SAFETY: as in `push`; `shutdown` is the last call on `node`.
        unsafe {
            (node.vtable.flush())(node.state, &mut emitter).into_result()?;
            (node.vtable.shutdown())(node.state).into_result()?;
        }
        Ok(self.take_outputs())
    }

    /// Logs and metrics the node reported.
    pub fn recorded(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.host.recorded.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(node) = self.node.take() {
            // SAFETY: last call on `node`.
            let _ = unsafe { (node.vtable.shutdown())(node.state) };
        }
    }
}

/// The test host's vtable, with or without an inference core (one of
/// each per process: an inference core is process-wide).
fn host_vtable(inference: Option<InferenceVTableRef>) -> HostVTableRef {
    static WITHOUT: OnceLock<HostVTableRef> = OnceLock::new();
    static WITH: OnceLock<HostVTableRef> = OnceLock::new();
    let make = || HostVTable::new_ref(log, counter_add, gauge_set, directory, node_name, inference);
    match inference {
        None => *WITHOUT.get_or_init(make),
        Some(_) => *WITH.get_or_init(make),
    }
}

/// # Safety
/// `env` must be the `TestHost` of a live harness.
unsafe fn host<'a>(env: *const c_void) -> &'a TestHost {
    // SAFETY: guaranteed by the caller.
    unsafe { &*(env as *const TestHost) }
}

fn record(env: *const c_void, f: impl FnOnce(&mut Recorded)) {
    // SAFETY: the harness passes its own `TestHost` as env.
    let host = unsafe { host(env) };
    f(&mut host.recorded.lock().unwrap_or_else(|e| e.into_inner()));
}

unsafe extern "C" fn log(env: *const c_void, level: LogLevel, message: RStr<'_>) {
    record(env, |r| r.logs.push((level, message.to_string())));
}

unsafe extern "C" fn counter_add(env: *const c_void, name: RStr<'_>, delta: u64) {
    record(env, |r| {
        *r.counters.entry(name.to_string()).or_default() += delta
    });
}

unsafe extern "C" fn gauge_set(env: *const c_void, name: RStr<'_>, value: f64) {
    record(env, |r| {
        r.gauges.insert(name.to_string(), value);
    });
}

unsafe extern "C" fn directory(env: *const c_void, which: Directory) -> RString {
    // SAFETY: as in `record`.
    let host = unsafe { host(env) };
    let path = host.scratch.join(format!("{which:?}").to_lowercase());
    let _ = std::fs::create_dir_all(&path);
    RString::from(path.to_string_lossy().into_owned())
}

unsafe extern "C" fn node_name(env: *const c_void) -> RString {
    // SAFETY: as in `record`.
    RString::from(unsafe { host(env) }.name.as_str())
}

fn emitter_vtable() -> EmitterVTableRef {
    static VTABLE: OnceLock<EmitterVTableRef> = OnceLock::new();
    *VTABLE.get_or_init(|| EmitterVTable { emit }.leak_into_prefix())
}

unsafe extern "C" fn emit(env: *mut c_void, port: u32, message: Message) -> RResult<(), EmitError> {
    // SAFETY: the harness lends an emitter over its own output vector for
    // the duration of one call.
    let outputs = unsafe { &mut *(env as *mut Vec<(u32, Message)>) };
    outputs.push((port, message));
    ROk(())
}
