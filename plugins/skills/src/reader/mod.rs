//! `reader`: "read this" / "what does it say". The same intent that
//! reaches this skill through the chain also reaches an image source
//! beside it (the vision plugin's `snapshot`, which takes a picture on
//! that intent, then `ocr`); the skill waits for the text on `document`
//! and answers with it, so the conversation node speaks it and logs it
//! like any other answer. (The image path is not fed by this skill:
//! pipelines have no cycles.)
//!
//! ```ron
//! "reader": (plugin: "skills", kind: "reader", config: (timeout_ms: 20000)),
//! "look": (plugin: "vision", kind: "snapshot", config: (intent: "read.this", from: "folder", path: "~/Pictures")),
//! // links: "nlu.intent -> look.trigger", "look.image -> ocr.image",
//! //        "ocr.text -> reader.document", "look.error -> reader.document",
//! //        "calculator.out -> reader.in", "reader.out -> home.in",
//! ```

mod imp;

pub use imp::{reply_for, ReaderNode};

use hark_sdk::{prelude::*, ConfigIssue};

use crate::chain::skill_spec;

/// The `reader` kind.
pub struct Reader;

/// Settings of `reader`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReaderSettings {
    /// The intent that asks for reading.
    pub intent: String,
    /// How long to wait for the text (ms) before saying it did not come.
    pub timeout_ms: u32,
}

impl Default for ReaderSettings {
    fn default() -> Self {
        ReaderSettings {
            intent: "read.this".into(),
            timeout_ms: 20_000,
        }
    }
}

impl Settings for ReaderSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::string(
                "intent",
                "the intent that asks to read the latest image (read.this)",
            ),
            Field::integer(
                "timeout_ms",
                "u32",
                "how long to wait for the image's text before giving up",
            ),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if self.intent.is_empty() {
            return Err(ConfigIssue::field("intent", "`intent` is empty"));
        }
        if !(100..=600_000).contains(&self.timeout_ms) {
            return Err(ConfigIssue::field(
                "timeout_ms",
                "timeout_ms must be within 100..=600000",
            ));
        }
        Ok(())
    }
}

impl NodeKind for Reader {
    type Settings = ReaderSettings;
    type Instance = ReaderNode;

    fn spec() -> KindSpec {
        skill_spec(
            "reader",
            "Reads the latest image aloud on \"read this\" (with the vision plugin)",
        )
        .input(
            Port::any("document")
                .doc("the image's text (Text, from `ocr`), or `{error: ...}` (from `snapshot`)"),
        )
    }

    fn create(settings: ReaderSettings, _ctx: &Context) -> Result<ReaderNode, Error> {
        Ok(ReaderNode {
            settings,
            pending: None,
            early: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::imp::*;

    #[test]
    fn rows_become_sentences() {
        assert_eq!(
            reply_for("EXIT\nKeep door closed"),
            "It says: EXIT. Keep door closed"
        );
        assert_eq!(reply_for("Hello.\nWorld"), "It says: Hello. World");
        assert_eq!(reply_for(" \n"), "I can't see any text in the image.");
    }
}
