//! Nodes written in C: the bridge between Hark's ABI and the plain C ABI
//! of `sdk/c/hark_plugin.h`.
//!
//! A C library exports `hark_plugin_entry`, which describes its kinds
//! (name, role, functions). This plugin offers three kinds, one per role,
//! each with fixed ports; the pipeline names the library and the kind:
//!
//! ```ron
//! "rev": (plugin: "c", kind: "transform", config: (
//!     library: "target/c/libwords.so", node: "reverse", settings: {"max_words": "8"},
//! )),
//! ```
//!
//! - `ffi`: the header's types, mirrored (`#[repr(C)]`).
//! - `library`: loading a library once per process and checking it.
//! - `source`, `transform`, `sink`: the three kinds, one per role.
//! - `bridge`: their settings, and the node they share, which calls the C
//!   functions.

mod bridge;
mod ffi;
#[doc(hidden)]
pub mod fuzz;
mod library;

pub mod sink;
pub mod source;
pub mod transform;

pub use bridge::CSettings;
pub use sink::Sink;
pub use source::Source;
pub use transform::Transform;

hark_sdk::export_plugin! {
    name: "c",
    kinds: [source::Source, transform::Transform, sink::Sink],
}
