//! `piper`: neural text to speech with a Piper voice (VITS, ONNX).
//!
//! ```ron
//! "tts": (plugin: "tts", kind: "piper", config: (voice: "")),
//! ```
//!
//! Text becomes IPA phonemes with espeak-ng (the voice's `espeak.voice`),
//! phonemes become ids through the voice's `phoneme_id_map`
//! (`<voice>.onnx.json`), and the host's model service runs the VITS
//! model on them (ONNX Runtime: tract cannot run these graphs): its
//! encoder once per sentence, its decoder a stretch at a time, so the
//! first 0.2 s of speech leaves before the rest is made. The same
//! contract as `espeak`: one piece per `produce`, 100 ms chunks, `Cancel`
//! between chunks. Long sentences are cut at commas.

mod graph;
mod imp;
mod phonemes;

pub use imp::PiperVoice;
pub use phonemes::{join_clauses, PhonemeIds, VoiceConfig};

use std::path::PathBuf;

use hark_sdk::{api::Directory, prelude::*, ConfigIssue};

use crate::speech::{self, SpeechNode};

/// The `piper` kind.
pub struct Piper;

/// A running `piper` node.
pub type PiperNode = SpeechNode<PiperVoice>;

/// The sample rate of the voices this kind speaks with (Piper's medium
/// and high quality voices).
pub const SAMPLE_RATE: u32 = 22_050;

/// The installed default voice, relative to the models directory.
pub const DEFAULT_VOICE: &str = "piper-joe/en_US-joe-medium.onnx";

/// Settings of `piper`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PiperSettings {
    /// The voice's `.onnx` file (its `.onnx.json` beside it); empty for
    /// the one `hark models fetch piper-joe` installs.
    pub voice: String,
    /// Speaking time relative to the voice's own (its `length_scale`).
    pub length_scale: f32,
    /// Multiplies the voice's own variation (`noise_scale`, `noise_w`).
    pub variation: f32,
    /// Speaker of a multi-speaker voice (0 for the first).
    pub speaker: u32,
}

impl Default for PiperSettings {
    fn default() -> Self {
        PiperSettings {
            voice: String::new(),
            length_scale: 1.0,
            variation: 1.0,
            speaker: 0,
        }
    }
}

impl Settings for PiperSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::path(
                "voice",
                "Piper voice (.onnx, with its .onnx.json beside it); empty: the one `hark models fetch piper-joe` installs",
            ),
            Field::float("length_scale", "f32", "speaking time relative to the voice's own: 1.2 is slower, 0.8 faster (0.25..=4)"),
            Field::float("variation", "f32", "multiplies the voice's own variation of sound and timing: 0 speaks the same way every time (0..=2)"),
            Field::integer("speaker", "u32", "speaker of a multi-speaker voice"),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if !(0.25..=4.0).contains(&self.length_scale) {
            return Err(ConfigIssue::field(
                "length_scale",
                format!(
                    "length_scale must be within 0.25..=4, not {}",
                    self.length_scale
                ),
            ));
        }
        if !(0.0..=2.0).contains(&self.variation) {
            return Err(ConfigIssue::field(
                "variation",
                format!("variation must be within 0..=2, not {}", self.variation),
            ));
        }
        Ok(())
    }
}

impl PiperSettings {
    /// The voice file these settings name.
    pub fn voice_path(&self, ctx: &Context) -> PathBuf {
        if self.voice.is_empty() {
            ctx.directory(Directory::Models).join(DEFAULT_VOICE)
        } else {
            PathBuf::from(&self.voice)
        }
    }
}

impl NodeKind for Piper {
    type Settings = PiperSettings;
    type Instance = PiperNode;

    fn spec() -> KindSpec {
        speech::kind_spec(
            "piper",
            "Neural text to speech with a Piper voice (VITS on the host's ONNX Runtime), sentence by sentence",
            SAMPLE_RATE,
        )
    }

    fn create(settings: PiperSettings, ctx: &Context) -> Result<PiperNode, Error> {
        let path = settings.voice_path(ctx);
        let voice = PiperVoice::load(&path, &settings, ctx)?;
        Ok(PiperNode::new(voice, *ctx))
    }
}
