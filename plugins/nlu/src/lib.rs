//! Natural-language understanding: intents and slots from text.
//!
//! - `intent`: transcripts in, intents out. Two cooperating methods:
//!   sentence **templates** (hassil-style: alternatives, optional words,
//!   slot lists, built-in numbers / durations / times / dates, tolerant
//!   of speech-to-text errors) are tried first; a **learned** model
//!   (MiniLM on the host's kernels, an intent classifier and a slot
//!   tagger trained with `hark nlu train`) answers the rest. Below a
//!   confidence threshold the intent is `unknown`.
//!
//! The recognition itself is the `hark-nlu` library (`sdk/nlu`).

pub mod intent;

hark_sdk::export_plugin! {
    name: "nlu",
    kinds: [intent::Intent],
}
