//! `passthrough`: forwards every message unchanged.
//!
//! ```ron
//! "tap": (plugin: "flow", kind: "passthrough", config: (log: true)),
//! ```

mod imp;

use hark_sdk::prelude::*;

pub use imp::PassthroughNode;

/// The `passthrough` kind.
pub struct Passthrough;

/// Settings of `passthrough`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PassthroughSettings {
    /// Log every message at debug level.
    pub log: bool,
}

impl Settings for PassthroughSettings {
    fn fields() -> Vec<Field> {
        vec![Field::bool(
            "log",
            "log a one-line summary of every message (debug level: run with -v)",
        )]
    }
}

impl NodeKind for Passthrough {
    type Settings = PassthroughSettings;
    type Instance = PassthroughNode;

    fn spec() -> KindSpec {
        KindSpec::transform("passthrough", "Forwards every message unchanged")
            .input(Port::any("in"))
            .output(Port::any("out").doc("exactly the messages received, shared, not copied"))
    }

    fn create(settings: PassthroughSettings, ctx: &Context) -> Result<PassthroughNode, Error> {
        Ok(PassthroughNode::new(settings.log.then_some(*ctx)))
    }
}
