//! `wav-writer`: writes the audio it receives to a WAV file, at the rate and
//! channel count of the first frame (later frames must match).
//!
//! With `realtime: true` the file is what a speaker would have played: the
//! node takes audio at the pace of real time (at most 100 ms ahead, like a
//! speaker's buffer) and fills the time between sounds with silence, from
//! the moment the node was created. Tests use it to see, on one time line,
//! when speech stopped (barge-in).
//!
//! ```ron
//! "output": (plugin: "audio", kind: "wav-writer", config: (path: "out.wav", format: "i16")),
//! ```

mod imp;

use hark_sdk::{prelude::*, ConfigIssue};

pub use imp::WavWriterNode;

/// The `wav-writer` kind.
pub struct WavWriter;

/// Settings of `wav-writer`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WavWriterSettings {
    /// The WAV file, created or truncated.
    pub path: String,
    /// Sample format on disk: `"i16"` or `"f32"`.
    pub format: String,
    /// Play it like a speaker: real-time pace, silence between sounds.
    pub realtime: bool,
}

impl Default for WavWriterSettings {
    fn default() -> Self {
        WavWriterSettings {
            path: String::new(),
            format: "i16".into(),
            realtime: false,
        }
    }
}

impl Settings for WavWriterSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::path("path", "WAV file to write (created or truncated)").required(),
            Field::choice(
                "format",
                &["i16", "f32"],
                "sample format on disk; i16 clips samples outside [-1, 1]",
            ),
            Field::bool(
                "realtime",
                "write like a speaker plays: at the pace of real time, with silence between sounds",
            ),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if self.path.is_empty() {
            return Err(ConfigIssue::field("path", "`path` is empty")
                .with_hint("give the WAV file to write"));
        }
        if self.format != "i16" && self.format != "f32" {
            return Err(ConfigIssue::field(
                "format",
                format!("unknown sample format `{}`", self.format),
            )
            .with_hint("use \"i16\" or \"f32\""));
        }
        Ok(())
    }
}

impl NodeKind for WavWriter {
    type Settings = WavWriterSettings;
    type Instance = WavWriterNode;

    fn spec() -> KindSpec {
        KindSpec::sink("wav-writer", "Writes audio to a WAV file").input(
            Port::audio("audio").doc("any rate and channel count; must not change mid-stream"),
        )
    }

    fn create(settings: WavWriterSettings, _ctx: &Context) -> Result<WavWriterNode, Error> {
        WavWriterNode::create(settings)
    }
}
