//! The running `minilm` node: text in, embedding out.

use hark_sdk::{inference::WeightFormat, prelude::*, value_map, Value};

use super::*;

pub(crate) const FORMATS: [&str; 4] = ["q8_0", "q4_0", "i8row", "f32"];

/// The weight format named `format` (one of [`FORMATS`], checked by the
/// settings).
pub(crate) fn weight_format(format: &str) -> WeightFormat {
    match format {
        "q4_0" => WeightFormat::Q4_0,
        "i8row" => WeightFormat::I8Row,
        "f32" => WeightFormat::F32,
        _ => WeightFormat::Q8_0,
    }
}

impl MiniLmSettings {
    pub(super) fn weight_format(&self) -> WeightFormat {
        weight_format(&self.format)
    }
}

/// A running `minilm` node.
pub struct MiniLmNode {
    pub(super) tokenizer: Tokenizer,
    pub(super) encoder: Encoder,
    pub(super) max_tokens: usize,
}

impl MiniLmNode {
    /// The embedding of `text`.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, Error> {
        let max = self.max_tokens.min(self.encoder.max_positions());
        self.encoder.embed(&self.tokenizer.encode(text, max))
    }
}

impl Node for MiniLmNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        let Payload::Text(text) = &message.payload else {
            return Ok(());
        };
        let embedding = self.embed(&text.text)?;
        let value = value_map([
            ("text", Value::Str(text.text.clone())),
            (
                "embedding",
                Value::List(embedding.iter().map(|&v| Value::Float(v.into())).collect()),
            ),
        ]);
        out.emit(0, Message::new(message.meta, Payload::Value(value)))
    }
}
