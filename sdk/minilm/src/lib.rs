//! all-MiniLM-L6-v2, a 6-layer BERT sentence encoder, run by a plugin on
//! the host's quantized kernels (`linear`, `layer_norm`, `gelu`,
//! `softmax`, `mean_pool` through the ABI) with weights memory-mapped by
//! the host; and BERT's uncased WordPiece tokenizer.
//!
//! Shared by the `embed` plugin (sentence embeddings) and the `nlu`
//! plugin (intent and slot features). The model comes from
//! `hark models fetch minilm-l6`.

mod encoder;
mod tokenizer;

pub use encoder::{Encoder, DIM};
pub use tokenizer::{Tokenizer, WordPieces};

use std::path::Path;

use hark_sdk::{
    inference::{Inference, WeightFormat},
    Error,
};

/// Loads MiniLM from `dir` (`model.safetensors` and `vocab.txt`, as
/// `hark models fetch minilm-l6` installs them): its tokenizer, and its
/// encoder with the linear layers in `format`.
pub fn load(
    core: Inference,
    dir: &Path,
    format: WeightFormat,
) -> Result<(Tokenizer, Encoder), Error> {
    let (weights, vocab) = (dir.join("model.safetensors"), dir.join("vocab.txt"));
    if !weights.is_file() || !vocab.is_file() {
        return Err(Error::config(format!(
            "MiniLM is missing from {} (model.safetensors and vocab.txt)",
            dir.display()
        ))
        .with_hint("run `hark models fetch minilm-l6`, or point the config at its directory"));
    }
    let tokenizer = Tokenizer::from_vocab(&std::fs::read_to_string(&vocab)?)
        .map_err(|e| Error::config(format!("{}: {e}", vocab.display())))?;
    let encoder = Encoder::load(core, &weights, format)?;
    Ok((tokenizer, encoder))
}
