//! Text to speech.
//!
//! - `espeak`: speaks text with espeak-ng (its C library, `libespeak-ng`
//!   from the system).
//! - `piper`: speaks text with a neural Piper voice (VITS), phonemized by
//!   espeak-ng and run by the host's model service on ONNX Runtime.
//!
//! Both speak sentence by sentence (`speech`): the first sentence's audio
//! leaves before the next is synthesised, and a `Cancel` event stops
//! what is left.

pub mod espeak;
pub mod piper;
pub mod speech;

hark_sdk::export_plugin! {
    name: "tts",
    kinds: [espeak::Espeak, piper::Piper],
}
