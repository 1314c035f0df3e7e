//! What every voice of this plugin shares: final texts are cut into
//! pieces (sentences), queued, and synthesised one piece at a time; each
//! piece's audio leaves in chunks of 100 ms, one chunk per `produce`
//! call. So the first piece is heard before the rest is synthesised, and
//! a `Cancel` event (barge-in, "stop") stops speech within a chunk: it
//! drops the queued pieces and the rest of the one in progress, and is
//! passed on, so a speaker downstream can drop what it still buffers.

use std::{collections::VecDeque, time::Instant};

use hark_sdk::{audio_message, prelude::*};

/// The audio output's port index (every kind of this plugin has one).
pub(crate) const AUDIO: u32 = 0;

/// A voice: text in, mono samples out.
pub trait Synthesiser: Send + 'static {
    /// Samples per second of what [`Synthesiser::synthesise`] returns.
    fn sample_rate(&self) -> u32;

    /// Cuts a final text into the pieces synthesised one at a time (by
    /// default its sentences).
    fn pieces(&self, text: &str) -> Vec<String> {
        sentences(text)
    }

    /// Synthesises one piece into samples in -1..=1.
    fn synthesise(&mut self, piece: &str) -> Result<Vec<f32>, Error>;
}

/// A running text-to-speech node around a [`Synthesiser`].
pub struct SpeechNode<S> {
    synth: S,
    ctx: Context,
    /// Pieces waiting to be spoken, with the metadata of their text and
    /// when it arrived.
    queue: VecDeque<(MessageMeta, String, Instant)>,
    /// The rest of the piece being spoken, chunk by chunk.
    speaking: VecDeque<Message>,
}

impl<S: Synthesiser> SpeechNode<S> {
    /// A node speaking with `synth`.
    pub fn new(synth: S, ctx: Context) -> Self {
        SpeechNode {
            synth,
            ctx,
            queue: VecDeque::new(),
            speaking: VecDeque::new(),
        }
    }

    /// Synthesises the next queued piece into `speaking`.
    fn synthesise_next(&mut self) -> Result<(), Error> {
        let Some((meta, piece, arrived)) = self.queue.pop_front() else {
            return Ok(());
        };
        let samples = self.synth.synthesise(&piece)?;
        self.ctx
            .gauge_set("first_audio_ms", arrived.elapsed().as_secs_f64() * 1e3);
        let rate = self.synth.sample_rate();
        // Samples per emitted chunk: 100 ms.
        let chunk_samples = rate as usize / 10;
        for (i, chunk) in samples.chunks(chunk_samples).enumerate() {
            let offset = (i * chunk_samples) as u64 * 1_000_000_000 / u64::from(rate);
            let meta = MessageMeta {
                timestamp_ns: meta.timestamp_ns + offset,
                ..meta
            };
            self.speaking
                .push_back(audio_message(meta, rate, 1, chunk.to_vec()));
        }
        self.ctx.counter_add("sentences", 1);
        Ok(())
    }
}

impl<S: Synthesiser> Node for SpeechNode<S> {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        match &message.payload {
            Payload::Text(t) if t.is_final => {
                let arrived = Instant::now();
                self.queue.extend(
                    self.synth
                        .pieces(&t.text)
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

    /// Emits the next 100 ms of speech. A piece is synthesised whole,
    /// after which the voice is free for other nodes, so a node blocked
    /// by backpressure never holds up another node's synthesis; its
    /// chunks then leave one per call, so a `Cancel` is seen between two.
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

/// Splits text into sentences: after `.`, `!`, `?` (or `;`, `:`) followed
/// by white space, and at line breaks. Keeps the punctuation (voices use
/// it for intonation).
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

fn push_sentence(out: &mut Vec<String>, current: &mut String) {
    let s = current.trim();
    if s.chars().any(char::is_alphanumeric) {
        out.push(s.to_string());
    }
    current.clear();
}

#[cfg(test)]
mod tests {
    use super::sentences;

    #[test]
    fn splits_sentences_not_numbers_or_abbreviated_decimals() {
        assert_eq!(
            sentences("It is 3.5 degrees. Take a coat!  Really?\nYes"),
            vec!["It is 3.5 degrees.", "Take a coat!", "Really?", "Yes"]
        );
        assert!(sentences(" ... \n").is_empty());
    }
}
