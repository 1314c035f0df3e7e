//! `sink`: a Python sink run through the plugin's bridge; the node
//! it runs is shared by the three kinds (`PyNode`, in `bridge.rs`), so
//! this kind has no `imp.rs` of its own.

use hark_sdk::prelude::*;

use crate::bridge::{PyNode, PySettings, Role};

/// `kind: "sink"`: a Python sink (input `in`).
pub struct Sink;

impl NodeKind for Sink {
    type Settings = PySettings;
    type Instance = PyNode;
    fn spec() -> KindSpec {
        KindSpec::sink("sink", "Runs a Python class's on_message() as a sink")
            .input(Port::any("in").doc("text, audio, intents and values go to on_message()"))
    }
    fn create(settings: PySettings, _ctx: &Context) -> Result<PyNode, Error> {
        PyNode::create(Role::Sink, settings)
    }
}
