//! The running `espeak` node: the plugin's [`SpeechNode`] around
//! espeak-ng.

use crate::speech::{SpeechNode, Synthesiser};
use hark_sdk::prelude::*;

use super::*;

/// espeak-ng's output rate (fixed by its voices' data).
pub const SAMPLE_RATE: u32 = 22_050;

/// A running `espeak` node.
pub type EspeakNode = SpeechNode<EspeakVoice>;

/// espeak-ng with one node's voice settings.
pub struct EspeakVoice {
    pub(super) voice: Voice,
    /// The piece begun last, until [`Synthesiser::more`] takes it.
    pending: Option<Vec<f32>>,
}

impl EspeakVoice {
    /// espeak-ng speaking with `voice`.
    pub(super) fn new(voice: Voice) -> Self {
        EspeakVoice {
            voice,
            pending: None,
        }
    }
}

impl Synthesiser for EspeakVoice {
    fn sample_rate(&self) -> u32 {
        SAMPLE_RATE
    }

    /// A sentence is synthesised whole: espeak-ng is ~100× faster than
    /// real time, a sentence takes milliseconds.
    fn begin(&mut self, sentence: &str) -> Result<(), Error> {
        let pcm = {
            let mut synth = Synth::lock().map_err(Error::failed)?;
            synth.set_voice(&self.voice).map_err(Error::failed)?;
            synth.speak(sentence).map_err(Error::failed)?
        };
        self.pending = Some(pcm.iter().map(|&s| f32::from(s) / 32768.0).collect());
        Ok(())
    }

    fn more(&mut self) -> Result<Option<Vec<f32>>, Error> {
        Ok(self.pending.take())
    }
}
