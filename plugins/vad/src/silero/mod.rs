//! `silero`: segments 16 kHz mono audio into utterances with Silero VAD.
//!
//! ```ron
//! "vad": (plugin: "vad", kind: "silero", config: (threshold: 0.5, min_silence_ms: 300)),
//! ```
//!
//! Every 512 samples (32 ms) the model gives a speech probability. An
//! utterance starts when the probability reaches `threshold` for
//! `min_speech_ms`, and ends after `min_silence_ms` below
//! `threshold - 0.15` (hysteresis, as Silero's own iterator does). The
//! `speech` output carries `UtteranceStart`, the utterance's audio (from
//! `pad_ms` before the start to `pad_ms` after the end, tagged with the
//! utterance id), then `UtteranceEnd`, in that order on one link, so a
//! recogniser downstream needs nothing else.

mod detector;
mod imp;

use std::path::PathBuf;

use hark_sdk::{api::Directory, prelude::*, ConfigIssue};

pub use detector::{Detector, DetectorConfig, Transition, WINDOW};
pub use imp::SileroNode;

/// The `silero` kind.
pub struct Silero;

/// Settings of `silero`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SileroSettings {
    /// The ONNX model; empty for the installed `silero-vad` model.
    pub model: String,
    /// Probability at which speech starts.
    pub threshold: f32,
    /// Speech shorter than this is ignored (ms).
    pub min_speech_ms: u32,
    /// Silence that ends an utterance (ms).
    pub min_silence_ms: u32,
    /// Audio kept before the start and after the end (ms).
    pub pad_ms: u32,
    /// Longest utterance (ms): speech that goes on (or noise the model
    /// takes for speech) is cut into utterances this long.
    pub max_speech_ms: u32,
}

impl Default for SileroSettings {
    fn default() -> Self {
        SileroSettings {
            model: String::new(),
            threshold: 0.5,
            min_speech_ms: 160,
            min_silence_ms: 300,
            pad_ms: 96,
            max_speech_ms: 30_000,
        }
    }
}

/// The installed model file, relative to the models directory.
pub const MODEL_FILE: &str = "silero-vad/silero_vad_openvino_16k.onnx";

impl Settings for SileroSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::path(
                "model",
                "Silero VAD ONNX file (silero_vad_openvino_16k.onnx); empty: the one `hark models fetch silero-vad` installs",
            ),
            Field::float("threshold", "f32", "speech probability at which an utterance starts (0..1)"),
            Field::integer("min_speech_ms", "u32", "speech shorter than this is ignored"),
            Field::integer("min_silence_ms", "u32", "silence that ends an utterance"),
            Field::integer("pad_ms", "u32", "audio kept before each start and after each end"),
            Field::integer("max_speech_ms", "u32", "longest utterance (1000..=300000): longer speech or noise is cut into pieces this long (30000 is whisper's window)"),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if !(self.threshold > 0.15 && self.threshold < 1.0) {
            return Err(ConfigIssue::field(
                "threshold",
                format!("threshold must be within 0.15..1, not {}", self.threshold),
            )
            .with_hint("0.5 suits most microphones; raise it in noise"));
        }
        if self.min_silence_ms > 10_000 || self.min_speech_ms > 10_000 || self.pad_ms > 2_000 {
            return Err(ConfigIssue::whole(
                "min_speech_ms and min_silence_ms must be at most 10000, pad_ms at most 2000",
            ));
        }
        if !(1_000..=300_000).contains(&self.max_speech_ms) {
            return Err(ConfigIssue::field(
                "max_speech_ms",
                format!(
                    "max_speech_ms must be within 1000..=300000, not {}",
                    self.max_speech_ms
                ),
            )
            .with_hint("30000 (whisper's window) suits speech to text"));
        }
        Ok(())
    }
}

impl NodeKind for Silero {
    type Settings = SileroSettings;
    type Instance = SileroNode;

    fn spec() -> KindSpec {
        KindSpec::transform("silero", "Segments speech into utterances with Silero VAD")
            .input(Port::audio("audio").sample_rate(16_000).channels(1))
            .output(
                Port::audio("speech")
                    .sample_rate(16_000)
                    .channels(1)
                    .doc("each utterance's audio, between UtteranceStart and UtteranceEnd events"),
            )
            .output(
                Port::new("events", MessageType::Control)
                    .doc("UtteranceStart / UtteranceEnd only, for nodes that react to speech"),
            )
            .output(
                Port::new("probability", MessageType::Value)
                    .doc("speech probability (Float) of every 32 ms window"),
            )
    }

    fn create(settings: SileroSettings, ctx: &Context) -> Result<SileroNode, Error> {
        let path = if settings.model.is_empty() {
            ctx.directory(Directory::Models).join(MODEL_FILE)
        } else {
            PathBuf::from(&settings.model)
        };
        if !path.is_file() {
            return Err(Error::config(format!(
                "the Silero VAD model {} is missing",
                path.display()
            ))
            .with_hint("run `hark models fetch silero-vad`, or set `model` to the file"));
        }
        let model = ctx.inference()?.load_model(&path, &[])?;
        SileroNode::new(model, &settings, *ctx)
    }
}
