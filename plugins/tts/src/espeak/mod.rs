//! `espeak`: text to speech with espeak-ng.
//!
//! ```ron
//! "tts": (plugin: "tts", kind: "espeak", config: (voice: "en-us", rate: 175)),
//! ```
//!
//! Each final text is split into sentences, queued, and synthesised one
//! sentence at a time; each sentence's audio leaves in chunks of 100 ms,
//! one chunk per `produce` call, so the first sentence is heard before the
//! rest is synthesised and a `Cancel` event (barge-in, "stop") stops speech
//! within a chunk: it drops the queued sentences and the rest of the one
//! in progress, and is passed on, so a speaker downstream can drop what it
//! still buffers.

mod ffi;

use std::{collections::VecDeque, time::Instant};

use hark_sdk::{audio_message, prelude::*, ConfigIssue};

pub use ffi::{Synth, Voice};

/// The `espeak` kind.
pub struct Espeak;

/// Settings of `espeak`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EspeakSettings {
    /// espeak-ng voice (`en-us`, `en-gb`, `de`, `fr`, ...; `espeak-ng --voices` lists them).
    pub voice: String,
    /// Words per minute.
    pub rate: u32,
    /// Base pitch, 0..=100.
    pub pitch: u32,
    /// Volume, 0..=200 (100 normal).
    pub volume: u32,
}

impl Default for EspeakSettings {
    fn default() -> Self {
        EspeakSettings {
            voice: "en-us".to_string(),
            rate: 175,
            pitch: 50,
            volume: 100,
        }
    }
}

impl Settings for EspeakSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::string(
                "voice",
                "espeak-ng voice (en-us, en-gb, de, fr, ...; `espeak-ng --voices` lists them)",
            ),
            Field::integer("rate", "u32", "words per minute (80..=450)"),
            Field::integer("pitch", "u32", "base pitch (0..=100)"),
            Field::integer("volume", "u32", "volume (0..=200, 100 normal)"),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if !(80..=450).contains(&self.rate) {
            return Err(ConfigIssue::field(
                "rate",
                format!(
                    "rate must be within 80..=450 words per minute, not {}",
                    self.rate
                ),
            ));
        }
        if self.pitch > 100 {
            return Err(ConfigIssue::field("pitch", "pitch must be within 0..=100"));
        }
        if self.volume > 200 {
            return Err(ConfigIssue::field(
                "volume",
                "volume must be within 0..=200",
            ));
        }
        Ok(())
    }
}

/// espeak-ng's output rate (fixed by its voices' data).
pub const SAMPLE_RATE: u32 = 22_050;

impl NodeKind for Espeak {
    type Settings = EspeakSettings;
    type Instance = EspeakNode;

    fn spec() -> KindSpec {
        KindSpec::transform(
            "espeak",
            "Text to speech with espeak-ng, sentence by sentence",
        )
        .input(Port::text("text").doc("final texts are spoken; a Cancel event stops speaking"))
        .output(
            Port::audio("audio")
                .sample_rate(SAMPLE_RATE)
                .channels(1)
                .doc("speech in chunks of 100 ms; Cancel events are passed on"),
        )
    }

    fn create(settings: EspeakSettings, ctx: &Context) -> Result<EspeakNode, Error> {
        let voice = Voice {
            name: settings.voice.clone(),
            rate: settings.rate,
            pitch: settings.pitch,
            volume: settings.volume,
        };
        // Check the voice now, so a typo fails at start-up, not mid-run.
        let mut synth = Synth::lock().map_err(|e| {
            Error::config(e).with_hint("install espeak-ng (`apt-get install espeak-ng`)")
        })?;
        synth.set_voice(&voice).map_err(|e| {
            Error::config(e).with_hint("`espeak-ng --voices` lists the voices installed")
        })?;
        if synth.sample_rate() != SAMPLE_RATE {
            return Err(Error::config(format!(
                "espeak-ng produces {} Hz audio; this plugin was built for {SAMPLE_RATE} Hz",
                synth.sample_rate()
            )));
        }
        Ok(EspeakNode {
            voice,
            ctx: *ctx,
            queue: VecDeque::new(),
            speaking: VecDeque::new(),
        })
    }
}

const AUDIO: u32 = 0;
/// Samples per emitted chunk: 100 ms.
const CHUNK_SAMPLES: usize = SAMPLE_RATE as usize / 10;

/// A running `espeak` node.
pub struct EspeakNode {
    voice: Voice,
    ctx: Context,
    /// Sentences waiting to be spoken, with the metadata of their text
    /// and when it arrived.
    queue: VecDeque<(MessageMeta, String, Instant)>,
    /// The rest of the sentence being spoken, chunk by chunk.
    speaking: VecDeque<Message>,
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
    fn synthesise_next(&mut self) -> Result<(), Error> {
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
