//! Audio nodes.
//!
//! - `wav-reader`: reads a WAV file and emits fixed-length audio frames.
//! - `wav-writer`: writes the audio it receives to a WAV file.
//! - `gain`: multiplies audio by a gain in decibels.
//!
//! Microphone and speaker nodes (cpal) join this plugin with the voice path.

pub mod gain;
pub mod wav_reader;
pub mod wav_writer;

hark_sdk::export_plugin! {
    name: "audio",
    kinds: [wav_reader::WavReader, wav_writer::WavWriter, gain::Gain],
}
