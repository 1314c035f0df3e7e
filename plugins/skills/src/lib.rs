//! Skills: intents in, replies and actions out, fully offline.
//!
//! Skills form a chain (see [`chain`]): `nlu → clock → calculator → home →
//! conversation → tts`. Each answers the intents it knows and passes the
//! rest on; `conversation` ends the chain with help, repeat, stop and a
//! polite fallback. A skill is a node kind, so a third-party plugin adds
//! one by taking `in` and giving `out` like these (answers are `Value`
//! maps, documented in [`chain`]).
//!
//! - `clock`: time, date, timers that announce themselves.
//! - `calculator`: arithmetic, unit conversion.
//! - `home`: lights and switches over MQTT, states remembered.
//! - `reader`: "read this": answers with the text of the latest image
//!   (from the vision plugin's `snapshot` and `ocr`).
//! - `respond`: answers intents with sentences of your own, filled with
//!   their slots (a domain of your own without code).
//! - `conversation`: the chain's end; replies to speak, log lines, barge-in.

pub mod calculator;
pub mod chain;
pub mod clock;
pub mod conversation;
pub mod home;
pub mod reader;
pub mod respond;

hark_sdk::export_plugin! {
    name: "skills",
    kinds: [clock::Clock, calculator::Calculator, home::Home, reader::Reader, respond::Respond, conversation::Conversation],
}
