//! Nodes written in Python: a Python class hosted as a node, in CPython
//! embedded in the host process (one interpreter, shared by every Python
//! node; each call holds the GIL).
//!
//! ```ron
//! "title": (plugin: "python", kind: "transform", config: (
//!     script: "sdk/python/examples/title.py", class: "Title", settings: {"lower": ["a", "of"]},
//! )),
//! ```
//!
//! The class is built with the `settings` map as a dict; a transform or
//! sink gets `on_message(self, message)`, a source `produce(self)`; both
//! may define `flush(self)` and `close(self)`. A Python exception
//! becomes the node's error (with its traceback), never the host's end.
//!
//! - `interpreter`: starting CPython, the `hark` module, loading scripts.
//! - `convert`: messages to Python values and back.
//! - `source`, `transform`, `sink`: the three kinds, one per role.
//! - `bridge`: the settings and the node they share.

mod bridge;
mod convert;
mod interpreter;

pub mod sink;
pub mod source;
pub mod transform;

pub use bridge::PySettings;
pub use sink::Sink;
pub use source::Source;
pub use transform::Transform;

hark_sdk::export_plugin! {
    name: "python",
    kinds: [source::Source, transform::Transform, sink::Sink],
}
