//! `lines-in`: one text message per line of a file or of stdin.
//!
//! ```ron
//! "input": (plugin: "text", kind: "lines-in", config: (path: "notes.txt")),
//! ```

mod imp;

use hark_sdk::prelude::*;

pub use imp::LinesInNode;

/// The `lines-in` kind.
pub struct LinesIn;

/// Settings of `lines-in`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinesInSettings {
    /// File to read; `-` reads stdin.
    pub path: String,
    /// Skip lines that are empty after trimming.
    pub skip_empty: bool,
}

impl Default for LinesInSettings {
    fn default() -> Self {
        LinesInSettings {
            path: "-".into(),
            skip_empty: true,
        }
    }
}

impl Settings for LinesInSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::path(
                "path",
                "file to read, one message per line; \"-\" reads stdin",
            ),
            Field::bool("skip_empty", "skip lines that are empty after trimming"),
        ]
    }
}

impl NodeKind for LinesIn {
    type Settings = LinesInSettings;
    type Instance = LinesInNode;

    fn spec() -> KindSpec {
        KindSpec::source("lines-in", "Reads text lines from a file or stdin")
            .output(Port::text("text").doc("one final text message per line"))
    }

    fn create(settings: LinesInSettings, _ctx: &Context) -> Result<LinesInNode, Error> {
        LinesInNode::open(settings)
    }
}
