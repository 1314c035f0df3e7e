//! `lines-out`: writes one line per message to a file or stdout.
//!
//! Text is written as is; other messages in a one-line readable form
//! (`intent SetTimer 0.97 duration="ten minutes"`), so any port can be
//! watched while building a pipeline.

mod imp;

use hark_sdk::prelude::*;

pub use imp::LinesOutNode;

/// The `lines-out` kind.
pub struct LinesOut;

/// Settings of `lines-out`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinesOutSettings {
    /// File to write (created or truncated); `-` writes stdout.
    pub path: String,
    /// Also write partial (non-final) text results.
    pub partials: bool,
    /// Text put before every line.
    pub prefix: String,
}

impl Default for LinesOutSettings {
    fn default() -> Self {
        LinesOutSettings {
            path: "-".into(),
            partials: false,
            prefix: String::new(),
        }
    }
}

impl Settings for LinesOutSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::path(
                "path",
                "file to write (created or truncated); \"-\" writes stdout",
            ),
            Field::bool("partials", "also write partial (non-final) text results"),
            Field::string("prefix", "text put before every line"),
        ]
    }
}

impl NodeKind for LinesOut {
    type Settings = LinesOutSettings;
    type Instance = LinesOutNode;

    fn spec() -> KindSpec {
        KindSpec::sink(
            "lines-out",
            "Writes one line per message to a file or stdout",
        )
        .input(Port::any("in").doc("text is written as is, other messages summarised"))
    }

    fn create(settings: LinesOutSettings, _ctx: &Context) -> Result<LinesOutNode, Error> {
        LinesOutNode::open(settings)
    }
}
