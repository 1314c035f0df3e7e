//! `wav-reader`: reads a WAV file (PCM 8/16/24/32-bit integer or 32-bit
//! float, any rate and channel count) and emits interleaved f32 frames of
//! `frame_ms` milliseconds; the last frame may be shorter.
//!
//! ```ron
//! "input": (plugin: "audio", kind: "wav-reader", config: (path: "in.wav", frame_ms: 20)),
//! ```

mod imp;

use hark_sdk::{prelude::*, ConfigIssue};

pub use imp::WavReaderNode;

/// The `wav-reader` kind.
pub struct WavReader;

/// Settings of `wav-reader`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WavReaderSettings {
    /// The WAV file.
    pub path: String,
    /// Frame length in milliseconds.
    pub frame_ms: u32,
    /// Emit frames at the pace of real time instead of as fast as possible.
    pub realtime: bool,
}

impl Default for WavReaderSettings {
    fn default() -> Self {
        WavReaderSettings {
            path: String::new(),
            frame_ms: 20,
            realtime: false,
        }
    }
}

impl Settings for WavReaderSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::path("path", "WAV file to read").required(),
            Field::integer("frame_ms", "u32", "frame length in milliseconds (1..=1000); sets the granularity downstream nodes see"),
            Field::bool("realtime", "emit frames at the pace of real time, like a microphone, instead of as fast as possible"),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if self.path.is_empty() {
            return Err(ConfigIssue::field("path", "`path` is empty")
                .with_hint("give the WAV file to read"));
        }
        if !(1..=1000).contains(&self.frame_ms) {
            return Err(ConfigIssue::field(
                "frame_ms",
                format!("frame_ms must be within 1..=1000, not {}", self.frame_ms),
            ));
        }
        Ok(())
    }
}

impl NodeKind for WavReader {
    type Settings = WavReaderSettings;
    type Instance = WavReaderNode;

    fn spec() -> KindSpec {
        KindSpec::source("wav-reader", "Reads a WAV file and emits audio frames").output(
            Port::audio("audio").doc("interleaved f32 frames at the file's rate and channel count"),
        )
    }

    fn create(settings: WavReaderSettings, _ctx: &Context) -> Result<WavReaderNode, Error> {
        WavReaderNode::open(settings)
    }
}
