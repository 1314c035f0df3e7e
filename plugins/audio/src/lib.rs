//! Audio nodes.
//!
//! - `wav-reader`: reads a WAV file and emits fixed-length audio frames.
//! - `wav-writer`: writes the audio it receives to a WAV file.
//! - `gain`: multiplies audio by a gain in decibels.
//! - `microphone`: captures audio from a sound device (cpal).
//! - `speaker`: plays audio on a sound device (cpal).
//! - `input` / `output`: the microphone / speaker, or a WAV file when
//!   `path` is set (what the shipped pipelines use).
//!
//! Audio formats need no node of their own: links resample and mix
//! channels where an input port asks for a format (see `hark check`).

mod device;
pub mod gain;
pub mod input;
pub mod microphone;
pub mod output;
pub mod speaker;
pub mod wav_reader;
pub mod wav_writer;

hark_sdk::export_plugin! {
    name: "audio",
    kinds: [
        wav_reader::WavReader,
        wav_writer::WavWriter,
        gain::Gain,
        microphone::Microphone,
        speaker::Speaker,
        input::Input,
        output::Output,
    ],
}
