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
