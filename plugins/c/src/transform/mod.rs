//! `transform`: a C transform run through the plugin's bridge; the node
//! it runs is shared by the three kinds (`CNode`, in `bridge.rs`), so
//! this kind has no `imp.rs` of its own.

use hark_sdk::prelude::*;

use crate::{
    bridge::{CNode, CSettings},
    ffi,
};

/// `kind: "transform"`: a C transform (input `in`, output `out`).
pub struct Transform;

impl NodeKind for Transform {
    type Settings = CSettings;
    type Instance = CNode;
    fn spec() -> KindSpec {
        KindSpec::transform("transform", "Runs a transform written in C")
            .input(
                Port::any("in").doc("text and audio go to the C node; other messages pass through"),
            )
            .output(Port::any("out").doc("what the C node emits, and the messages passed through"))
    }
    fn create(settings: CSettings, ctx: &Context) -> Result<CNode, Error> {
        CNode::create(ffi::ROLE_TRANSFORM, settings, ctx)
    }
}
