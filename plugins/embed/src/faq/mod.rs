//! `faq`: questions in, answers out, from a file of questions and answers
//! the user writes, by the nearest question in MiniLM's embedding space.
//!
//! ```ron
//! "faq": (plugin: "embed", kind: "faq", config: (
//!     faq: "pipelines/customer-service/faq.ron",
//!     threshold: 0.6,
//!     fallback: "Sorry, I don't know that one. Let me find someone who does.",
//! )),
//! ```
//!
//! The file is a RON list of entries, each with the ways people ask a
//! question and its answer:
//!
//! ```ron
//! [
//!     (questions: ["When are you open?", "What are your opening hours?"],
//!      answer: "We are open from nine to five, Monday to Friday."),
//! ]
//! ```
//!
//! A final transcript becomes the answer of the question whose embedding
//! is nearest (cosine), on `reply`, and an intent on `intent`: `faq` with
//! the matched question in slot `question`, or `unknown` (and the
//! `fallback` reply) when the nearest is below `threshold`. The
//! questions' embeddings are computed once per process and file (the
//! nodes of a server's sessions share them).

mod imp;

pub use imp::FaqNode;
use imp::*;

use std::path::PathBuf;

use hark_sdk::{api::Directory, prelude::*, ConfigIssue};

use crate::minilm::FORMATS;

/// The `faq` kind.
pub struct Faq;

/// Settings of `faq`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaqSettings {
    /// The questions and answers (RON).
    pub faq: String,
    /// Below this cosine the question is not known.
    pub threshold: f32,
    /// The reply when no question is near enough.
    pub fallback: String,
    /// MiniLM directory; empty for the installed `minilm-l6`.
    pub model: String,
    /// How the encoder's linear layers are quantized.
    pub format: String,
}

impl Default for FaqSettings {
    fn default() -> Self {
        FaqSettings {
            faq: String::new(),
            threshold: 0.6,
            fallback: "Sorry, I don't know the answer to that.".into(),
            model: String::new(),
            format: "q8_0".into(),
        }
    }
}

impl Settings for FaqSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::path("faq", "questions and answers: a RON list of (questions: [..], answer: \"..\")"),
            Field::float("threshold", "f32", "below this cosine similarity (0..=1) the question is not known"),
            Field::string("fallback", "the reply when no question is near enough"),
            Field::path(
                "model",
                "directory with model.safetensors and vocab.txt; empty: the one `hark models fetch minilm-l6` installs",
            ),
            Field::choice("format", &FORMATS, "quantization of the encoder's linear layers"),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if self.faq.is_empty() {
            return Err(ConfigIssue::field("faq", "no questions and answers file")
                .with_hint("write one (see `hark plugins embed -v`) and give its path"));
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(ConfigIssue::field(
                "threshold",
                format!("threshold must be within 0..=1, not {}", self.threshold),
            ));
        }
        if !FORMATS.contains(&self.format.as_str()) {
            return Err(
                ConfigIssue::field("format", format!("unknown format `{}`", self.format))
                    .with_hint("use q8_0, q4_0, i8row or f32"),
            );
        }
        Ok(())
    }
}

impl NodeKind for Faq {
    type Settings = FaqSettings;
    type Instance = FaqNode;

    fn spec() -> KindSpec {
        KindSpec::transform(
            "faq",
            "Answers from a questions-and-answers file: the nearest question by MiniLM embedding",
        )
        .input(Port::text("text"))
        .output(Port::text("reply").doc("the answer, or the fallback"))
        .output(
            Port::new("intent", MessageType::Intent)
                .doc("`faq` with slot `question` (the matched one), or `unknown`"),
        )
    }

    fn create(settings: FaqSettings, ctx: &Context) -> Result<FaqNode, Error> {
        let minilm = if settings.model.is_empty() {
            ctx.directory(Directory::Models).join("minilm-l6")
        } else {
            PathBuf::from(&settings.model)
        };
        let index = FaqIndex::shared(
            &PathBuf::from(&settings.faq),
            &minilm,
            &settings.format,
            ctx,
        )?;
        Ok(FaqNode { index, settings })
    }
}
