//! Safe access to what the host lends a node.

use std::path::PathBuf;

use hark_plugin_api::{abi_stable::std_types::RStr, Directory, HostContext, LogLevel};

/// The host, as seen by a node: logging, metrics, directories and the
/// shared inference core.
///
/// Cheap to copy; a node may keep it for its whole life.
#[derive(Clone, Copy)]
pub struct Context {
    raw: HostContext,
}

impl Context {
    /// Wraps the raw context the host passed to `create_node`.
    ///
    /// # Safety
    ///
    /// `raw` must come from the host (its `env` valid for the node's life).
    pub unsafe fn from_raw(raw: HostContext) -> Self {
        Context { raw }
    }

    /// Logs `message` at `level`, attributed to this node.
    pub fn log(&self, level: LogLevel, message: &str) {
        // SAFETY: `env` is valid for the node's life (see `from_raw`).
        unsafe { (self.raw.vtable.log())(self.raw.env, level, RStr::from(message)) }
    }

    /// Logs at `Info`.
    pub fn info(&self, message: &str) {
        self.log(LogLevel::Info, message)
    }

    /// Logs at `Warn`.
    pub fn warn(&self, message: &str) {
        self.log(LogLevel::Warn, message)
    }

    /// Logs at `Debug`.
    pub fn debug(&self, message: &str) {
        self.log(LogLevel::Debug, message)
    }

    /// Adds `delta` to this node's counter `name` (shown by `hark run --stats`).
    pub fn counter_add(&self, name: &str, delta: u64) {
        // SAFETY: as in `log`.
        unsafe { (self.raw.vtable.counter_add())(self.raw.env, RStr::from(name), delta) }
    }

    /// Sets this node's gauge `name` (shown by `hark run --stats`).
    pub fn gauge_set(&self, name: &str, value: f64) {
        // SAFETY: as in `log`.
        unsafe { (self.raw.vtable.gauge_set())(self.raw.env, RStr::from(name), value) }
    }

    /// A host-managed directory, created if missing.
    pub fn directory(&self, which: Directory) -> PathBuf {
        // SAFETY: as in `log`.
        let path = unsafe { (self.raw.vtable.directory())(self.raw.env, which) };
        PathBuf::from(path.into_string())
    }

    /// This node's name in the pipeline.
    pub fn node_name(&self) -> String {
        // SAFETY: as in `log`.
        unsafe { (self.raw.vtable.node_name())(self.raw.env) }.into_string()
    }

    /// The host's shared inference core (kernels, models, weight files).
    ///
    /// Fails in a host older than ABI 1.1, which has none.
    pub fn inference(&self) -> Result<crate::inference::Inference, crate::Error> {
        match self.raw.vtable.inference() {
            Some(Some(vt)) => Ok(crate::inference::Inference::from_vtable(vt)),
            Some(None) => Err(crate::Error::failed("this host lends no inference core")
                .with_hint("in tests, create the harness with `Harness::with_inference`")),
            None => Err(crate::Error::failed(
                "this host has no inference core (it predates plugin ABI 1.1)",
            )
            .with_hint("run the plugin with a newer hark")),
        }
    }

    /// The raw context, for capabilities the safe layer does not cover yet.
    pub fn raw(&self) -> HostContext {
        self.raw
    }
}
