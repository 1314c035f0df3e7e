//! `intent`: final transcripts in, intents with slots out.
//!
//! ```ron
//! "nlu": (plugin: "nlu", kind: "intent", config: (
//!     templates: "pipelines/assistant/intents.ron",
//!     model: "",          // a model from `hark nlu train`, optional
//!     threshold: 0.5,
//! )),
//! ```
//!
//! Templates are tried first (confidence 1, less what each repair of
//! the reading costs: a misspelled or sound-alike word, a stray or
//! missing word; see `hark_nlu::templates::costs`); the learned model answers what no template matches. Below
//! `threshold` the intent is `unknown` (the candidates stay in
//! `alternatives`). Partial transcripts are ignored; control events are
//! passed on.

mod imp;

pub use imp::{IntentNode, Recogniser};

use hark_sdk::{prelude::*, ConfigIssue};

/// The `intent` kind.
pub struct Intent;

/// Settings of `intent`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntentSettings {
    /// Sentence templates file (RON); empty for none.
    pub templates: String,
    /// Learned model file (`hark nlu train -o`); empty for none.
    pub model: String,
    /// MiniLM directory for the learned model; empty for the installed one.
    pub minilm: String,
    /// Below this confidence the intent is `unknown`.
    pub threshold: f32,
    /// How many other intents to report.
    pub alternatives: u32,
}

impl Default for IntentSettings {
    fn default() -> Self {
        IntentSettings {
            templates: String::new(),
            model: String::new(),
            minilm: String::new(),
            threshold: 0.5,
            alternatives: 3,
        }
    }
}

impl Settings for IntentSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::path("templates", "sentence templates file (RON: lists and intents); empty: none"),
            Field::path("model", "learned model from `hark nlu train -o MODEL`; empty: none"),
            Field::path("minilm", "MiniLM directory for the learned model; empty: the one `hark models fetch minilm-l6` installs"),
            Field::float("threshold", "f32", "below this confidence (0..=1) the intent is `unknown`"),
            Field::integer("alternatives", "u32", "how many other intents to report"),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if self.templates.is_empty() && self.model.is_empty() {
            return Err(ConfigIssue::whole("neither `templates` nor `model` is set")
                .with_hint("give a templates file, a model from `hark nlu train`, or both"));
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(ConfigIssue::field(
                "threshold",
                format!("threshold must be within 0..=1, not {}", self.threshold),
            ));
        }
        Ok(())
    }
}

impl NodeKind for Intent {
    type Settings = IntentSettings;
    type Instance = IntentNode;

    fn spec() -> KindSpec {
        KindSpec::transform(
            "intent",
            "Intents and slots from final transcripts: sentence templates, then a learned model",
        )
        .input(Port::text("text"))
        .output(Port::new("intent", MessageType::Intent).doc("one intent per final transcript"))
    }

    fn create(settings: IntentSettings, ctx: &Context) -> Result<IntentNode, Error> {
        Ok(IntentNode {
            recogniser: Recogniser::load(&settings, ctx)?,
            ctx: *ctx,
        })
    }
}
