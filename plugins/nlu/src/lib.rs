//! Natural-language understanding: intents and slots from text.
//!
//! - `intent`: transcripts in, intents out. Two cooperating methods:
//!   sentence **templates** (`templates`, hassil-style: alternatives,
//!   optional words, slot lists, built-in numbers / durations / times /
//!   dates, tolerant of speech-to-text errors) are tried first; a
//!   **learned** model (`learned`: MiniLM on the host's kernels, an intent
//!   classifier and a slot tagger trained with `hark nlu train`) answers
//!   the rest. Below a confidence threshold the intent is `unknown`.
//!
//! The library side (`snips`, `learned`, `eval`) is what `hark nlu
//! train | eval | split` run.

pub mod eval;
pub mod features;
pub mod intent;
pub mod learned;
pub mod snips;
pub mod templates;
pub mod text;
pub mod values;

hark_sdk::export_plugin! {
    name: "nlu",
    kinds: [intent::Intent],
}
