//! `transform`: a Python transform run through the plugin's bridge; the node
//! it runs is shared by the three kinds (`PyNode`, in `bridge.rs`), so
//! this kind has no `imp.rs` of its own.

use hark_sdk::prelude::*;

use crate::bridge::{PyNode, PySettings, Role};

/// `kind: "transform"`: a Python transform (input `in`, output `out`).
pub struct Transform;

impl NodeKind for Transform {
    type Settings = PySettings;
    type Instance = PyNode;
    fn spec() -> KindSpec {
        KindSpec::transform(
            "transform",
            "Runs a Python class's on_message() as a transform",
        )
        .input(
            Port::any("in").doc(
                "text, audio, intents and values go to on_message(); control events pass through",
            ),
        )
        .output(Port::any("out").doc("what on_message() and flush() return, and control events"))
    }
    fn create(settings: PySettings, _ctx: &Context) -> Result<PyNode, Error> {
        PyNode::create(Role::Transform, settings)
    }
}
