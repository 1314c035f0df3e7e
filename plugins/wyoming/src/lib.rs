//! Stages on other machines, over Wyoming (Home Assistant's voice
//! protocol): a small satellite runs its microphone, VAD and wake word
//! and sends the heavy stages to a bigger machine running `hark serve`,
//! or to any other Wyoming server (wyoming-faster-whisper, wyoming-piper).
//!
//! - `asr`: utterances (audio between the VAD's `UtteranceStart` and
//!   `UtteranceEnd`) in, final transcripts out (`transcribe`);
//! - `tts`: text in, audio out (`synthesize`);
//! - `handle`: text in, the server's reply out (`transcript` → `handled`).
//!
//! Each request is one exchange on a fresh connection, as Home Assistant
//! makes them. A server that cannot be reached or stops answering is
//! tried again with a doubling delay until the request's deadline
//! (`timeout_ms`); the node says when it loses and finds the server again
//! (log, the `connected` gauge, the `retries` and `dropped` counters) and
//! never waits past the deadline.

pub mod asr;
pub mod handle;
mod remote;
pub mod tts;

hark_sdk::export_plugin! {
    name: "wyoming",
    kinds: [asr::Asr, tts::Tts, handle::Handle],
}
