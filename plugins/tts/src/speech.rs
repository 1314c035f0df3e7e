//! What every voice of this plugin shares: final texts are cut into
//! pieces (sentences), queued, and synthesised one piece at a time, a
//! stretch of audio at a time where the voice can (Piper: the first
//! 0.2 s of a sentence leaves while the rest is made); the audio leaves
//! in chunks of 100 ms, one chunk per `produce` call. So the first piece
//! is heard before the rest is synthesised, and
//! a `Cancel` event (barge-in, "stop") stops speech within a chunk: it
//! drops the queued pieces and the rest of the one in progress, and is
//! passed on, so a speaker downstream can drop what it still buffers.

use std::{collections::VecDeque, time::Instant};

use hark_sdk::{audio_message, prelude::*};

/// The audio output's port index (every kind of this plugin has one).
pub(crate) const AUDIO: u32 = 0;

/// What every kind of this plugin declares: text in, mono speech at
/// `sample_rate` out, the [`SpeechNode`] contract in the ports' docs.
pub fn kind_spec(name: &'static str, description: &'static str, sample_rate: u32) -> KindSpec {
    KindSpec::transform(name, description)
        .input(Port::text("text").doc("final texts are spoken; a Cancel event stops speaking"))
        .output(
            Port::audio("audio")
                .sample_rate(sample_rate)
                .channels(1)
                .doc("speech in chunks of 100 ms; Cancel events are passed on"),
        )
}

/// A voice: text in, mono samples out, a stretch at a time.
pub trait Synthesiser: Send + 'static {
    /// Samples per second of the audio it makes.
    fn sample_rate(&self) -> u32;

    /// Cuts a final text into the pieces synthesised one at a time (by
    /// default its sentences).
    fn pieces(&self, text: &str) -> Vec<String> {
        sentences(text)
    }

    /// Starts synthesising `piece` (dropping what is left of the piece
    /// before); its audio comes from [`Synthesiser::more`].
    fn begin(&mut self, piece: &str) -> Result<(), Error>;

    /// The next stretch of the piece begun last, samples in -1..=1;
    /// `None` once all of it was returned. A voice that makes a piece at
    /// once returns it whole; one that can make it in stretches returns
    /// the first as soon as it can, so that it is heard sooner.
    fn more(&mut self) -> Result<Option<Vec<f32>>, Error>;
}

/// A running text-to-speech node around a [`Synthesiser`].
pub struct SpeechNode<S> {
    synth: S,
    ctx: Context,
    /// Pieces waiting to be spoken, with the metadata of their text and
    /// when it arrived.
    queue: VecDeque<(MessageMeta, String, Instant)>,
    /// The piece being synthesised, if any.
    current: Option<Piece>,
    /// Chunks of 100 ms made and not yet emitted.
    speaking: VecDeque<Message>,
}

/// The piece being spoken.
struct Piece {
    meta: MessageMeta,
    arrived: Instant,
    /// Samples already cut into chunks.
    chunked: u64,
    /// Samples short of a whole chunk, waiting for the next stretch.
    rest: Vec<f32>,
    /// Whether a stretch came already (for the first-audio gauge).
    heard: bool,
}

impl<S: Synthesiser> SpeechNode<S> {
    /// A node speaking with `synth`.
    pub fn new(synth: S, ctx: Context) -> Self {
        SpeechNode {
            synth,
            ctx,
            queue: VecDeque::new(),
            current: None,
            speaking: VecDeque::new(),
        }
    }

    /// Makes the next chunks: the next stretch of the current piece, or
    /// begins the next queued piece. `false` when there is nothing left
    /// to speak.
    fn advance(&mut self) -> Result<bool, Error> {
        let rate = self.synth.sample_rate();
        let Some(piece) = &mut self.current else {
            let Some((meta, text, arrived)) = self.queue.pop_front() else {
                return Ok(false);
            };
            self.synth.begin(&text)?;
            self.current = Some(Piece {
                meta,
                arrived,
                chunked: 0,
                rest: Vec::new(),
                heard: false,
            });
            return Ok(true);
        };
        // Samples per emitted chunk: 100 ms.
        let chunk_samples = rate as usize / 10;
        let stretch = self.synth.more()?;
        let done = stretch.is_none();
        if let Some(samples) = stretch {
            if !piece.heard {
                piece.heard = true;
                self.ctx.gauge_set(
                    "first_audio_ms",
                    piece.arrived.elapsed().as_secs_f64() * 1e3,
                );
            }
            piece.rest.extend_from_slice(&samples);
        }
        let whole = if done {
            piece.rest.len()
        } else {
            piece.rest.len() / chunk_samples * chunk_samples
        };
        for chunk in piece.rest[..whole].chunks(chunk_samples) {
            let offset = piece.chunked * 1_000_000_000 / u64::from(rate);
            let meta = MessageMeta {
                timestamp_ns: piece.meta.timestamp_ns + offset,
                ..piece.meta
            };
            self.speaking
                .push_back(audio_message(meta, rate, 1, chunk.to_vec()));
            piece.chunked += chunk.len() as u64;
        }
        piece.rest.drain(..whole);
        if done {
            self.current = None;
            self.ctx.counter_add("sentences", 1);
        }
        Ok(true)
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
                let dropped = self.queue.len() + usize::from(self.current.is_some());
                if dropped > 0 {
                    self.ctx.counter_add("cancelled_sentences", dropped as u64);
                }
                self.queue.clear();
                self.current = None;
                self.speaking.clear();
                out.emit(AUDIO, message)
            }
            _ => Ok(()),
        }
    }

    /// Emits the next 100 ms of speech. A stretch is synthesised at a
    /// time, after which the voice is free for other nodes, so a node
    /// blocked by backpressure never holds up another node's synthesis;
    /// its chunks then leave one per call, so a `Cancel` is seen between
    /// two.
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        while self.speaking.is_empty() {
            if !self.advance()? {
                return Ok(Produce::Finished);
            }
        }
        let chunk = self.speaking.pop_front().expect("a chunk is waiting");
        out.emit(AUDIO, chunk)?;
        Ok(
            if self.speaking.is_empty() && self.current.is_none() && self.queue.is_empty() {
                Produce::Finished
            } else {
                Produce::More
            },
        )
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
