//! `input`: the microphone, or a WAV file when `path` is set. Shipped
//! pipelines name their source with it, so one pipeline serves a desktop
//! with a microphone and a machine without (`--set input.path=FILE.wav`).

mod imp;

pub use imp::InputNode;

use hark_sdk::{prelude::*, ConfigIssue};

use crate::{
    microphone::{validate_frame_ms, Microphone, MicrophoneSettings},
    wav_reader::{WavReader, WavReaderSettings},
};

/// The `input` kind.
pub struct Input;

/// Settings of `input`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InputSettings {
    /// A WAV file to read; empty for the microphone.
    pub path: String,
    /// Microphone: device (empty or "default", an index, or part of a name).
    pub device: String,
    /// Microphone: samples per second (0: the device's default).
    pub sample_rate: u32,
    /// Microphone: channels (0: the device's default).
    pub channels: u16,
    /// Frame length in milliseconds.
    pub frame_ms: u32,
    /// WAV: emit at the pace of real time.
    pub realtime: bool,
    /// Microphone: stop after this much audio (s); 0: until stopped.
    pub max_seconds: f32,
}

impl Default for InputSettings {
    fn default() -> Self {
        let mic = MicrophoneSettings::default();
        InputSettings {
            path: String::new(),
            device: mic.device,
            sample_rate: mic.sample_rate,
            channels: mic.channels,
            frame_ms: mic.frame_ms,
            realtime: false,
            max_seconds: mic.max_seconds,
        }
    }
}

impl Settings for InputSettings {
    fn fields() -> Vec<Field> {
        let mut fields = vec![Field::path(
            "path",
            "a WAV file to read; empty: the microphone",
        )];
        fields.extend(MicrophoneSettings::fields());
        fields.push(Field::bool(
            "realtime",
            "WAV: emit at the pace of real time",
        ));
        fields
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        validate_frame_ms(self.frame_ms)?;
        self.microphone().validate()
    }
}

impl NodeKind for Input {
    type Settings = InputSettings;
    type Instance = InputNode;

    fn spec() -> KindSpec {
        KindSpec::source(
            "input",
            "Audio from the microphone, or from a WAV file when `path` is set",
        )
        .output(
            Port::audio("audio").doc("interleaved f32 frames at the source's rate and channels"),
        )
    }

    fn create(s: InputSettings, ctx: &Context) -> Result<InputNode, Error> {
        Ok(if s.path.is_empty() {
            InputNode::Microphone(Microphone::create(s.microphone(), ctx)?)
        } else {
            let wav = WavReaderSettings {
                path: s.path,
                frame_ms: s.frame_ms,
                realtime: s.realtime,
            };
            InputNode::Wav(WavReader::create(wav, ctx)?)
        })
    }
}
