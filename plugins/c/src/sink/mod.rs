//! `sink`: a C sink run through the plugin's bridge; the node
//! it runs is shared by the three kinds (`CNode`, in `bridge.rs`), so
//! this kind has no `imp.rs` of its own.

use hark_sdk::prelude::*;

use crate::{
    bridge::{CNode, CSettings},
    ffi,
};

/// `kind: "sink"`: a C sink (input `in`).
pub struct Sink;

impl NodeKind for Sink {
    type Settings = CSettings;
    type Instance = CNode;
    fn spec() -> KindSpec {
        KindSpec::sink("sink", "Runs a sink written in C").input(
            Port::any("in").doc("text and audio go to the C node; other messages are dropped"),
        )
    }
    fn create(settings: CSettings, ctx: &Context) -> Result<CNode, Error> {
        CNode::create(ffi::ROLE_SINK, settings, ctx)
    }
}
