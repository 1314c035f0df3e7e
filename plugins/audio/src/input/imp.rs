//! The running `input` node: a microphone or a WAV reader.

use crate::{
    microphone::{MicrophoneNode, MicrophoneSettings},
    wav_reader::WavReaderNode,
};
use hark_sdk::prelude::*;

use super::*;

impl InputSettings {
    pub(super) fn microphone(&self) -> MicrophoneSettings {
        MicrophoneSettings {
            device: self.device.clone(),
            sample_rate: self.sample_rate,
            channels: self.channels,
            frame_ms: self.frame_ms,
            max_seconds: self.max_seconds,
        }
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
