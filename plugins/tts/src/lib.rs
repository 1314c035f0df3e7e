//! Text to speech.
//!
//! - `espeak`: speaks text with espeak-ng (its C library, `libespeak-ng`
//!   from the system), sentence by sentence: the first sentence's audio
//!   leaves before the next is synthesised, and a `Cancel` event stops
//!   what is left.

pub mod espeak;

hark_sdk::export_plugin! {
    name: "tts",
    kinds: [espeak::Espeak],
}
