//! Stream plumbing.
//!
//! - `passthrough`: forwards every message unchanged, optionally logging
//!   each one. A tap for debugging, and the node `hark bench` chains to
//!   measure the cost of a hop.

pub mod passthrough;

hark_sdk::export_plugin! {
    name: "flow",
    kinds: [passthrough::Passthrough],
}
