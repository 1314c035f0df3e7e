//! `microphone`: captures audio from a sound device (cpal).
//!
//! ```ron
//! "mic": (plugin: "audio", kind: "microphone", config: (device: "default", sample_rate: 16000, channels: 1)),
//! ```
//!
//! The device runs on a thread of its own (cpal streams may not move
//! between threads); its callback hands samples over a bounded queue, and
//! the node cuts them into frames of `frame_ms`. If the pipeline falls
//! behind by more than the queue holds (256 device buffers), the device's
//! new audio is dropped and counted (`overruns`): the device callback
//! never waits.

mod imp;

pub use imp::MicrophoneNode;

use hark_sdk::{prelude::*, ConfigIssue};

/// The `microphone` kind.
pub struct Microphone;

/// Settings of `microphone`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MicrophoneSettings {
    /// Device: empty or "default", an index from `hark devices`, or (part of) a name.
    pub device: String,
    /// Samples per second; 0 for the device's default.
    pub sample_rate: u32,
    /// Channels; 0 for the device's default.
    pub channels: u16,
    /// Frame length in milliseconds.
    pub frame_ms: u32,
    /// Stop after this many seconds of audio; 0 runs until the pipeline stops.
    pub max_seconds: f32,
}

impl Default for MicrophoneSettings {
    fn default() -> Self {
        MicrophoneSettings {
            device: String::new(),
            sample_rate: 0,
            channels: 0,
            frame_ms: 20,
            max_seconds: 0.0,
        }
    }
}

impl Settings for MicrophoneSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::string(
                "device",
                "device: empty/\"default\", an index from `hark devices`, or (part of) its name",
            ),
            Field::integer(
                "sample_rate",
                "u32",
                "samples per second; 0: the device's default (links convert to what nodes need)",
            ),
            Field::integer("channels", "u16", "channels; 0: the device's default"),
            Field::integer("frame_ms", "u32", "frame length in milliseconds (1..=1000)"),
            Field::float(
                "max_seconds",
                "f32",
                "stop after this much audio; 0: until the pipeline stops",
            ),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        validate_frame_ms(self.frame_ms)?;
        if self.max_seconds < 0.0 || !self.max_seconds.is_finite() {
            return Err(ConfigIssue::field(
                "max_seconds",
                "max_seconds must be 0 or positive",
            ));
        }
        Ok(())
    }
}

impl NodeKind for Microphone {
    type Settings = MicrophoneSettings;
    type Instance = MicrophoneNode;

    fn spec() -> KindSpec {
        KindSpec::source("microphone", "Captures audio from a sound device").output(
            Port::audio("audio").doc("interleaved f32 frames at the device's rate and channels"),
        )
    }

    fn create(settings: MicrophoneSettings, ctx: &Context) -> Result<MicrophoneNode, Error> {
        MicrophoneNode::open(&settings, *ctx)
    }
}

/// The check `microphone` and `input` share.
pub(crate) fn validate_frame_ms(frame_ms: u32) -> Result<(), ConfigIssue> {
    if !(1..=1000).contains(&frame_ms) {
        return Err(ConfigIssue::field(
            "frame_ms",
            format!("frame_ms must be within 1..=1000, not {frame_ms}"),
        ));
    }
    Ok(())
}
