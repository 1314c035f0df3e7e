//! What the host lends every node: logging, metrics, directories.
//!
//! The context is a pointer to host-owned state plus a prefix-type vtable,
//! so the host can add capabilities (the shared inference core came in
//! 1.1) in a minor version without breaking plugins built earlier: an old plugin
//! simply never looks past the fields it knows, and a new plugin in an old
//! host sees the new accessor return `None`.

use std::ffi::c_void;

use crate::InferenceVTableRef;

use abi_stable::{
    prefix_type::PrefixTypeTrait,
    std_types::{RStr, RString},
    StableAbi,
};

/// Severity of a log record sent to the host.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Something is wrong and the node cannot do its job.
    Error = 0,
    /// Something unexpected that the node works around.
    Warn = 1,
    /// A milestone worth showing by default.
    Info = 2,
    /// Detail for debugging.
    Debug = 3,
    /// Very verbose detail.
    Trace = 4,
}

/// A directory the host manages for plugins.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directory {
    /// Persistent data (`$XDG_DATA_HOME/hark`).
    Data = 0,
    /// Re-creatable data (`$XDG_CACHE_HOME/hark`).
    Cache = 1,
    /// User configuration (`$XDG_CONFIG_HOME/hark`).
    Config = 2,
    /// Model files (`$HARK_MODELS`, else `$XDG_CACHE_HOME/hark/models`).
    Models = 3,
    /// Scratch space removed when the host exits.
    Temp = 4,
}

/// The host's functions, called with the context's `env` pointer.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = HostVTableRef)))]
#[sabi(missing_field(option))]
pub struct HostVTable {
    /// Logs `message` at `level`, attributed to the calling node.
    pub log: unsafe extern "C" fn(env: *const c_void, level: LogLevel, message: RStr<'_>),
    /// Adds `delta` to the node's counter `name` (shown by `--stats`).
    pub counter_add: unsafe extern "C" fn(env: *const c_void, name: RStr<'_>, delta: u64),
    /// Sets the node's gauge `name` to `value` (shown by `--stats`).
    pub gauge_set: unsafe extern "C" fn(env: *const c_void, name: RStr<'_>, value: f64),
    /// The path of a host-managed directory (created if missing).
    pub directory: unsafe extern "C" fn(env: *const c_void, which: Directory) -> RString,
    /// The name of the node in the pipeline (`"mic"`, `"vad"`, ...).
    // New fields go BELOW this one only (see docs/abi.md).
    #[sabi(last_prefix_field)]
    pub node_name: unsafe extern "C" fn(env: *const c_void) -> RString,

    /// Since 1.1: the shared inference core (quantized kernels, models,
    /// weight files). Absent in a 1.0 host; `None` in a host that has none
    /// to lend (e.g. the sdk's test harness by default).
    pub inference: Option<InferenceVTableRef>,

    /// Only with the `test-extended-abi` feature: a field as a later minor
    /// version would add it, for hark's ABI compatibility tests.
    #[cfg(feature = "test-extended-abi")]
    pub extension_probe: unsafe extern "C" fn(env: *const c_void) -> u32,
}

#[cfg(feature = "test-extended-abi")]
unsafe extern "C" fn extension_probe(_env: *const c_void) -> u32 {
    42
}

impl HostVTable {
    /// The vtable, in the form passed across the boundary (leaked: a host
    /// makes one per process). Fields that a later minor version adds get
    /// a parameter here in that version.
    pub fn new_ref(
        log: unsafe extern "C" fn(env: *const c_void, level: LogLevel, message: RStr<'_>),
        counter_add: unsafe extern "C" fn(env: *const c_void, name: RStr<'_>, delta: u64),
        gauge_set: unsafe extern "C" fn(env: *const c_void, name: RStr<'_>, value: f64),
        directory: unsafe extern "C" fn(env: *const c_void, which: Directory) -> RString,
        node_name: unsafe extern "C" fn(env: *const c_void) -> RString,
        inference: Option<InferenceVTableRef>,
    ) -> HostVTableRef {
        HostVTable {
            log,
            counter_add,
            gauge_set,
            directory,
            node_name,
            inference,
            #[cfg(feature = "test-extended-abi")]
            extension_probe,
        }
        .leak_into_prefix()
    }
}

/// A handle to the host, given to a node when it is created.
///
/// `Copy`: a node may keep it for its whole life. The host guarantees
/// that `env` stays valid until after the node is shut down, and that the
/// functions may be called from any thread.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct HostContext {
    /// Host-owned state; opaque to plugins.
    pub env: *const c_void,
    /// The host's functions.
    pub vtable: HostVTableRef,
}

// SAFETY: the host promises (see the type's docs) that `env` is usable from
// any thread for as long as the node lives.
unsafe impl Send for HostContext {}
// SAFETY: as above; every host function takes `env` by shared pointer and
// synchronises internally.
unsafe impl Sync for HostContext {}
