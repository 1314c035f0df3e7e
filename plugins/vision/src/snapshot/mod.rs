//! `snapshot`: whichever image is newest (in a folder, a file, or the
//! screen) whenever a message asks: "read this".

mod imp;

pub use imp::SnapshotNode;
use imp::*;

use hark_sdk::{prelude::*, ConfigIssue};

/// The `snapshot` kind.
pub struct Snapshot;

/// Settings of `snapshot`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnapshotSettings {
    /// `folder` (its newest image), `file` (that file) or `screenshot`.
    pub from: String,
    /// The folder or file; unused for `screenshot`.
    pub path: String,
    /// The X11 display for `screenshot`; empty for `$DISPLAY`.
    pub display: String,
    /// Only intents of this name ask for an image (others are ignored);
    /// empty: every message but control events asks.
    pub intent: String,
}

impl Default for SnapshotSettings {
    fn default() -> Self {
        SnapshotSettings {
            from: "folder".into(),
            path: String::new(),
            display: String::new(),
            intent: String::new(),
        }
    }
}

impl Settings for SnapshotSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::choice("from", SNAPSHOT_FROM, "where the image comes from: the newest image in a folder, a file, or the screen"),
            Field::path("path", "the folder or the file (`from: \"folder\"` or `\"file\"`)"),
            Field::string("display", "X11 display for `from: \"screenshot\"`; empty: $DISPLAY"),
            Field::string("intent", "only intents of this name ask for an image (e.g. read.this, with the trigger linked from an `nlu` node); empty: any message but control events"),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if !SNAPSHOT_FROM.contains(&self.from.as_str()) {
            return Err(
                ConfigIssue::field("from", format!("unknown source `{}`", self.from))
                    .with_hint("use \"folder\", \"file\" or \"screenshot\""),
            );
        }
        if self.from != "screenshot" && self.path.is_empty() {
            return Err(ConfigIssue::field(
                "path",
                format!("`from: \"{}\"` needs a `path`", self.from),
            ));
        }
        Ok(())
    }
}

impl NodeKind for Snapshot {
    type Settings = SnapshotSettings;
    type Instance = SnapshotNode;

    fn spec() -> KindSpec {
        KindSpec::transform("snapshot", "On each trigger, emits the newest image of a folder, a file, or a screenshot")
            .input(Port::any("trigger").doc("a message asking for an image: an intent named `intent`, or any message but a control event"))
            .output(Port::new("image", MessageType::Image).doc("the picture, RGB"))
            .output(
                Port::new("error", MessageType::Value)
                    .optional()
                    .doc("`{error: \"...\"}` when there is no image to give (empty folder, no display)"),
            )
    }

    fn create(settings: SnapshotSettings, ctx: &Context) -> Result<SnapshotNode, Error> {
        Ok(SnapshotNode {
            settings,
            ctx: *ctx,
        })
    }
}
