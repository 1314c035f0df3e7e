//! Sentence embeddings.
//!
//! - `minilm`: all-MiniLM-L6-v2 (a 6-layer BERT encoder), run in the
//!   plugin on the host's quantized kernels (`linear`, `layer_norm`,
//!   `gelu`, `softmax`, `mean_pool` through the ABI) with weights
//!   memory-mapped by the host. Text in, a unit-length 384-dimensional
//!   embedding out.
//!
//! - `faq`: questions in, answers out: the nearest question of a file of
//!   questions and answers, by the cosine of their MiniLM embeddings.
//!
//! The model comes from `hark models fetch minilm-l6`.

pub mod faq;
pub mod minilm;

hark_sdk::export_plugin! {
    name: "embed",
    kinds: [minilm::MiniLm, faq::Faq],
}
