//! `input` and `output`: the sound device, or a WAV file when `path` is
//! set. Shipped pipelines name their ends with these, so one pipeline
//! serves a desktop with a microphone and speaker and a machine without
//! (`--set input.path=FILE.wav`, `--set output.path=FILE.wav`).

use hark_sdk::{prelude::*, ConfigIssue};

use crate::{
    microphone::{validate_frame_ms, Microphone, MicrophoneNode, MicrophoneSettings},
    speaker::{Speaker, SpeakerNode, SpeakerSettings},
    wav_reader::{WavReader, WavReaderNode, WavReaderSettings},
    wav_writer::{WavWriter, WavWriterNode, WavWriterSettings},
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

impl InputSettings {
    fn microphone(&self) -> MicrophoneSettings {
        MicrophoneSettings {
            device: self.device.clone(),
            sample_rate: self.sample_rate,
            channels: self.channels,
            frame_ms: self.frame_ms,
            max_seconds: self.max_seconds,
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

/// A running `input` node.
pub enum InputNode {
    /// From the microphone.
    Microphone(MicrophoneNode),
    /// From a WAV file.
    Wav(WavReaderNode),
}

impl Node for InputNode {
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        match self {
            InputNode::Microphone(n) => n.produce(out),
            InputNode::Wav(n) => n.produce(out),
        }
    }
}

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

/// A running `output` node.
pub enum OutputNode {
    /// To the speaker.
    Speaker(SpeakerNode),
    /// To a WAV file.
    Wav(WavWriterNode),
}

impl Node for OutputNode {
    fn on_message(&mut self, port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        match self {
            OutputNode::Speaker(n) => n.on_message(port, message, out),
            OutputNode::Wav(n) => n.on_message(port, message, out),
        }
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), Error> {
        match self {
            OutputNode::Speaker(n) => n.flush(out),
            OutputNode::Wav(n) => n.flush(out),
        }
    }

    fn shutdown(&mut self) -> Result<(), Error> {
        match self {
            OutputNode::Speaker(n) => n.shutdown(),
            OutputNode::Wav(n) => n.shutdown(),
        }
    }
}
