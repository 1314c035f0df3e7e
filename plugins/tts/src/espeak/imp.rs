//! The running `espeak` node: sentences in, audio out, piece by piece.

use hark_sdk::{audio_message, prelude::*};
use std::{collections::VecDeque, time::Instant};

use super::*;

/// espeak-ng's output rate (fixed by its voices' data).
pub const SAMPLE_RATE: u32 = 22_050;

pub(super) const AUDIO: u32 = 0;

/// Samples per emitted chunk: 100 ms.
pub(super) const CHUNK_SAMPLES: usize = SAMPLE_RATE as usize / 10;

/// A running `espeak` node.
pub struct EspeakNode {
    pub(super) voice: Voice,
    pub(super) ctx: Context,
    /// Sentences waiting to be spoken, with the metadata of their text
    /// and when it arrived.
    pub(super) queue: VecDeque<(MessageMeta, String, Instant)>,
    /// The rest of the sentence being spoken, chunk by chunk.
    pub(super) speaking: VecDeque<Message>,
}

impl Node for EspeakNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        match &message.payload {
            Payload::Text(t) if t.is_final => {
                let arrived = Instant::now();
                self.queue.extend(
                    sentences(&t.text)
                        .into_iter()
                        .map(|s| (message.meta, s, arrived)),
                );
                Ok(())
            }
            Payload::Control(ControlEvent::Cancel) => {
                if !self.queue.is_empty() {
                    self.ctx
                        .counter_add("cancelled_sentences", self.queue.len() as u64);
                }
                self.queue.clear();
                self.speaking.clear();
                out.emit(AUDIO, message)
            }
            _ => Ok(()),
        }
    }

    /// Emits the next 100 ms of speech. A sentence is synthesised whole
    /// (espeak-ng is ~100× faster than real time, a sentence takes
    /// milliseconds), after which espeak-ng is unlocked, so a node blocked
    /// by backpressure never holds up another node's synthesis; its chunks
    /// then leave one per call, so a `Cancel` is seen between two.
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        if self.speaking.is_empty() {
            self.synthesise_next()?;
        }
        let Some(chunk) = self.speaking.pop_front() else {
            return Ok(Produce::Finished);
        };
        out.emit(AUDIO, chunk)?;
        Ok(if self.speaking.is_empty() && self.queue.is_empty() {
            Produce::Finished
        } else {
            Produce::More
        })
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), Error> {
        while self.produce(out)? == Produce::More {}
        Ok(())
    }
}

impl EspeakNode {
    /// Synthesises the next queued sentence into `speaking`.
    pub(super) fn synthesise_next(&mut self) -> Result<(), Error> {
        let Some((meta, sentence, arrived)) = self.queue.pop_front() else {
            return Ok(());
        };
        let pcm = {
            let mut synth = Synth::lock().map_err(Error::failed)?;
            synth.set_voice(&self.voice).map_err(Error::failed)?;
            synth.speak(&sentence).map_err(Error::failed)?
        };
        self.ctx
            .gauge_set("first_audio_ms", arrived.elapsed().as_secs_f64() * 1e3);
        for (i, chunk) in pcm.chunks(CHUNK_SAMPLES).enumerate() {
            let offset = (i * CHUNK_SAMPLES) as u64 * 1_000_000_000 / u64::from(SAMPLE_RATE);
            let samples = chunk.iter().map(|&s| f32::from(s) / 32768.0).collect();
            let meta = MessageMeta {
                timestamp_ns: meta.timestamp_ns + offset,
                ..meta
            };
            self.speaking
                .push_back(audio_message(meta, SAMPLE_RATE, 1, samples));
        }
        self.ctx.counter_add("sentences", 1);
        Ok(())
    }
}

/// Splits text into sentences: after `.`, `!`, `?` (or `;`, `:`) followed
/// by white space, and at line breaks. Keeps the punctuation (espeak-ng
/// uses it for intonation).
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' || c == '\r' {
            push_sentence(&mut out, &mut current);
            continue;
        }
        current.push(c);
        let ends = matches!(c, '.' | '!' | '?' | ';' | ':' | '。' | '！' | '？');
        if ends && chars.peek().is_none_or(|n| n.is_whitespace()) {
            push_sentence(&mut out, &mut current);
        }
    }
    push_sentence(&mut out, &mut current);
    out
}

pub(super) fn push_sentence(out: &mut Vec<String>, current: &mut String) {
    let s = current.trim();
    if s.chars().any(char::is_alphanumeric) {
        out.push(s.to_string());
    }
    current.clear();
}
