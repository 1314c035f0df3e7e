//! `output`: the speaker, or a WAV file when `path` is set (`--set
//! output.path=FILE.wav`), as `input` is for the source.

mod imp;

pub use imp::OutputNode;

use hark_sdk::{prelude::*, ConfigIssue};

use crate::{
    speaker::{Speaker, SpeakerSettings},
    wav_writer::{WavWriter, WavWriterSettings},
};
/// The `output` kind.
pub struct Output;

/// Settings of `output`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputSettings {
    /// A WAV file to write; empty for the speaker.
    pub path: String,
    /// Speaker: device (empty or "default", an index, or part of a name).
    pub device: String,
    /// Speaker: audio kept ahead of the device (ms).
    pub buffer_ms: u32,
    /// WAV: write like a speaker plays (real-time pace, silence between sounds).
    pub realtime: bool,
    /// A WAV file to write instead when there is no speaker; empty: fail.
    pub fallback: String,
}

impl Default for OutputSettings {
    fn default() -> Self {
        OutputSettings {
            path: String::new(),
            device: String::new(),
            buffer_ms: SpeakerSettings::default().buffer_ms,
            realtime: false,
            fallback: String::new(),
        }
    }
}

impl Settings for OutputSettings {
    fn fields() -> Vec<Field> {
        let mut fields = vec![Field::path(
            "path",
            "a WAV file to write; empty: the speaker",
        )];
        fields.extend(SpeakerSettings::fields());
        fields.push(Field::bool(
            "realtime",
            "WAV: write like a speaker plays, at real-time pace with silence between sounds",
        ));
        fields.push(Field::path(
            "fallback",
            "a WAV file to write when there is no speaker (a server, CI); empty: no speaker is an error",
        ));
        fields
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        SpeakerSettings {
            device: self.device.clone(),
            buffer_ms: self.buffer_ms,
        }
        .validate()
    }
}

impl NodeKind for Output {
    type Settings = OutputSettings;
    type Instance = OutputNode;

    fn spec() -> KindSpec {
        KindSpec::sink(
            "output",
            "Audio to the speaker, or to a WAV file when `path` is set",
        )
        .input(
            Port::audio("audio")
                .doc("audio to play or write; Cancel drops what the speaker buffers"),
        )
    }

    fn create(s: OutputSettings, ctx: &Context) -> Result<OutputNode, Error> {
        if s.path.is_empty() {
            let speaker = SpeakerSettings {
                device: s.device.clone(),
                buffer_ms: s.buffer_ms,
            };
            match Speaker::create(speaker, ctx) {
                Ok(speaker) => return Ok(OutputNode::Speaker(speaker)),
                Err(e) if !s.fallback.is_empty() => ctx.warn(&format!(
                    "no speaker ({}): writing the audio to {} instead",
                    e.message(),
                    s.fallback
                )),
                Err(e) => return Err(e),
            }
        }
        let path = if s.path.is_empty() {
            s.fallback
        } else {
            s.path
        };
        Ok({
            let wav = WavWriterSettings {
                path,
                realtime: s.realtime,
                ..WavWriterSettings::default()
            };
            OutputNode::Wav(WavWriter::create(wav, ctx)?)
        })
    }
}
