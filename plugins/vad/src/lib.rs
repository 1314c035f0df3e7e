//! Voice activity detection and wake words.
//!
//! - `silero`: Silero VAD v6 (ONNX) run by the host's model service;
//!   emits the audio of each utterance between `UtteranceStart` and
//!   `UtteranceEnd` events, and the speech probability of every 32 ms.
//! - `wakeword`: openWakeWord ("hey jarvis"); lets audio through for a
//!   while after the wake word is heard, after a `Wake` event.
//!
//! The models come from `hark models fetch silero-vad openwakeword`; the
//! plugin links no inference engine of its own.

pub mod silero;
pub mod wakeword;

hark_sdk::export_plugin! {
    name: "vad",
    kinds: [silero::Silero, wakeword::WakeWord],
}
