//! A running node, and the emitter it sends messages through.
//!
//! Both are an opaque pointer plus a prefix-type vtable of `extern "C"`
//! functions: the plugin owns the node's state and frees it in `shutdown`;
//! the host owns the emitter's state. No Rust trait object crosses the
//! boundary (their layout is not stable).
//!
//! Every vtable function may be called from a thread other than the one
//! that created the node, but never from two threads at once.

use std::ffi::c_void;

use abi_stable::{
    std_types::{RResult, RString},
    StableAbi,
};

use crate::{Message, PluginError};

/// What `produce` reports: more to do, or done.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceStatus {
    /// Call `produce` again.
    Continue = 0,
    /// A source is exhausted: the host flushes it and ends its streams. A
    /// transform or sink has no work in hand: the host waits for its next
    /// message.
    Finished = 1,
}

/// The plugin's functions for one node.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = NodeVTableRef)))]
#[sabi(missing_field(option))]
pub struct NodeVTable {
    /// Handles `message`, which arrived on input port `port`.
    pub on_message: unsafe extern "C" fn(
        node: *mut c_void,
        port: u32,
        message: Message,
        out: &mut Emitter,
    ) -> RResult<(), PluginError>,
    /// Sources: produces the next messages, called until it reports
    /// `Finished`. Transforms and sinks: does a piece of the work in hand
    /// (e.g. the next sentence to synthesise); the host calls it after a
    /// message while no other is waiting, and again while it reports
    /// `Continue`. May block for about one frame (e.g. a microphone read),
    /// never indefinitely, so the host can stop the pipeline between calls.
    pub produce: unsafe extern "C" fn(
        node: *mut c_void,
        out: &mut Emitter,
    ) -> RResult<SourceStatus, PluginError>,
    /// Every input has ended (or the source finished): emit what is still
    /// buffered. Called once; no `on_message` follows.
    pub flush:
        unsafe extern "C" fn(node: *mut c_void, out: &mut Emitter) -> RResult<(), PluginError>,
    /// Releases the node; `node` is dangling afterwards.
    // New fields go BELOW this one only (see docs/abi.md).
    #[sabi(last_prefix_field)]
    pub shutdown: unsafe extern "C" fn(node: *mut c_void) -> RResult<(), PluginError>,
}

/// A node created by a plugin. The host calls its functions through
/// [`NodeBox::vtable`] and must call `shutdown` exactly once.
#[repr(C)]
#[derive(StableAbi)]
pub struct NodeBox {
    /// Plugin-owned state.
    pub state: *mut c_void,
    /// The plugin's functions for this node.
    pub vtable: NodeVTableRef,
}

// SAFETY: plugins only hand out nodes whose state is `Send` (the sdk
// requires `Node: Send`), and the host never calls one concurrently.
unsafe impl Send for NodeBox {}

/// Why an emit failed.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitErrorKind {
    /// The port index is not an output port of this node.
    InvalidPort = 0,
    /// The pipeline is stopping; a source should return `Finished`.
    Stopping = 1,
}

/// An error from [`Emitter`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct EmitError {
    /// What went wrong.
    pub kind: EmitErrorKind,
    /// One line for the user.
    pub message: RString,
}

/// The host's functions behind an [`Emitter`].
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = EmitterVTableRef)))]
#[sabi(missing_field(option))]
pub struct EmitterVTable {
    /// Sends `message` on output port `port`. Blocks while a linked queue
    /// with the `block` policy is full (backpressure).
    // New fields go BELOW this one only (see docs/abi.md).
    #[sabi(last_prefix_field)]
    pub emit: unsafe extern "C" fn(
        env: *mut c_void,
        port: u32,
        message: Message,
    ) -> RResult<(), EmitError>,
}

/// Where a node sends its output; lent by the host for one call.
#[repr(C)]
#[derive(StableAbi)]
pub struct Emitter {
    /// Host-owned state.
    pub env: *mut c_void,
    /// The host's functions.
    pub vtable: EmitterVTableRef,
}

impl Emitter {
    /// Sends `message` on output port `port`.
    pub fn emit(&mut self, port: u32, message: Message) -> Result<(), EmitError> {
        // SAFETY: the host built this emitter with an `env` valid for the
        // duration of the call it was lent to, and `&mut self` proves we
        // are inside that call.
        unsafe { (self.vtable.emit())(self.env, port, message) }.into_result()
    }
}
