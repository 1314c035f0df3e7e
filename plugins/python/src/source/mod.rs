//! `source`: a Python source run through the plugin's bridge; the node
//! it runs is shared by the three kinds (`PyNode`, in `bridge.rs`), so
//! this kind has no `imp.rs` of its own.

use hark_sdk::prelude::*;

use crate::bridge::{PyNode, PySettings, Role};

/// `kind: "source"`: a Python source (output `out`).
pub struct Source;

impl NodeKind for Source {
    type Settings = PySettings;
    type Instance = PyNode;
    fn spec() -> KindSpec {
        KindSpec::source("source", "Runs a Python class's produce() as a source")
            .output(Port::any("out").doc("what produce() returns"))
    }
    fn create(settings: PySettings, _ctx: &Context) -> Result<PyNode, Error> {
        PyNode::create(Role::Source, settings)
    }
}
