//! Intent recognition, as the `nlu` plugin and `hark nlu` use it: text →
//! words (`text`) → sentence templates (`templates`, with built-in values
//! from `values`) → a learned model (`learned`: MiniLM features from
//! `hark-minilm`, hashed word features from `features`, an intent
//! classifier and a slot tagger) trained on SNIPS-format data (`snips`)
//! and scored by `eval`.
//!
//! A library, not a plugin: the host links it for `hark nlu train | eval`
//! (a plugin crate is a cdylib, and must not be linked into another
//! binary).

pub mod eval;
pub mod features;
pub mod learned;
pub mod snips;
pub mod templates;
pub mod text;
pub mod values;
