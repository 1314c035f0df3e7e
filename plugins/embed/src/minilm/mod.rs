//! `minilm`: sentence embeddings with all-MiniLM-L6-v2.
//!
//! ```ron
//! "embed": (plugin: "embed", kind: "minilm", config: (format: "q8_0")),
//! ```
//!
//! Each text message becomes a `Value::Map` with `text` (the input) and
//! `embedding` (384 floats, unit length: the cosine of two embeddings is
//! their dot product). The encoder runs in the node on the host's
//! kernels; `format` picks how its linear layers are quantized.

mod imp;

pub use imp::MiniLmNode;
pub(crate) use imp::{weight_format, FORMATS};

use std::path::PathBuf;

use hark_sdk::{api::Directory, prelude::*, ConfigIssue};

pub use hark_minilm::{Encoder, Tokenizer, DIM};

/// The `minilm` kind.
pub struct MiniLm;

/// Settings of `minilm`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MiniLmSettings {
    /// Directory with `model.safetensors` and `vocab.txt`; empty for the
    /// installed `minilm-l6`.
    pub model: String,
    /// How linear layers are quantized: `q8_0`, `q4_0`, `i8row` or `f32`.
    pub format: String,
    /// Longest input in tokens (longer input is truncated).
    pub max_tokens: u32,
}

impl Default for MiniLmSettings {
    fn default() -> Self {
        MiniLmSettings {
            model: String::new(),
            format: "q8_0".into(),
            max_tokens: 128,
        }
    }
}

impl Settings for MiniLmSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::path(
                "model",
                "directory with model.safetensors and vocab.txt; empty: the one `hark models fetch minilm-l6` installs",
            ),
            Field::choice("format", &FORMATS, "quantization of the linear layers (q8_0: 4× smaller than f32, cosine ≥ 0.99 to it)"),
            Field::integer("max_tokens", "u32", "longest input in tokens, 8..=512; longer input is truncated"),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if !FORMATS.contains(&self.format.as_str()) {
            return Err(
                ConfigIssue::field("format", format!("unknown format `{}`", self.format))
                    .with_hint("use q8_0, q4_0, i8row or f32"),
            );
        }
        if !(8..=512).contains(&self.max_tokens) {
            return Err(ConfigIssue::field(
                "max_tokens",
                format!("max_tokens must be within 8..=512, not {}", self.max_tokens),
            ));
        }
        Ok(())
    }
}

impl NodeKind for MiniLm {
    type Settings = MiniLmSettings;
    type Instance = MiniLmNode;

    fn spec() -> KindSpec {
        KindSpec::transform(
            "minilm",
            "Sentence embeddings (all-MiniLM-L6-v2) on the host's kernels",
        )
        .input(Port::text("text"))
        .output(
            Port::new("embedding", MessageType::Value)
                .doc("Map { text, embedding: 384 floats of unit length }"),
        )
    }

    fn create(settings: MiniLmSettings, ctx: &Context) -> Result<MiniLmNode, Error> {
        let dir = if settings.model.is_empty() {
            ctx.directory(Directory::Models).join("minilm-l6")
        } else {
            PathBuf::from(&settings.model)
        };
        let (tokenizer, encoder) =
            hark_minilm::load(ctx.inference()?, &dir, settings.weight_format())?;
        ctx.info(&format!(
            "MiniLM loaded ({}), kernels: {}",
            settings.format,
            ctx.inference()?.kernels()
        ));
        Ok(MiniLmNode {
            tokenizer,
            encoder,
            max_tokens: settings.max_tokens as usize,
        })
    }
}
