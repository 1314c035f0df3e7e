//! `source`: a C source run through the plugin's bridge; the node
//! it runs is shared by the three kinds (`CNode`, in `bridge.rs`), so
//! this kind has no `imp.rs` of its own.

use hark_sdk::prelude::*;

use crate::{
    bridge::{CNode, CSettings},
    ffi,
};

/// `kind: "source"`: a C source (output `out`).
pub struct Source;

impl NodeKind for Source {
    type Settings = CSettings;
    type Instance = CNode;
    fn spec() -> KindSpec {
        KindSpec::source("source", "Runs a source written in C")
            .output(Port::any("out").doc("text or audio, as the C node emits"))
    }
    fn create(settings: CSettings, ctx: &Context) -> Result<CNode, Error> {
        CNode::create(ffi::ROLE_SOURCE, settings, ctx)
    }
}
