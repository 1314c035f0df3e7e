//! The running `output` node: a speaker or a WAV writer.

use crate::{speaker::SpeakerNode, wav_writer::WavWriterNode};
use hark_sdk::prelude::*;

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
