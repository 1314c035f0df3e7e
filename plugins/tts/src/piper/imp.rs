//! The running `piper` node's voice: text → espeak-ng IPA → ids → VITS
//! on the host's model service → samples: the encoder once per piece,
//! then the decoder a stretch at a time (see `graph.rs` for why it can).

use std::path::Path;

use hark_sdk::{
    inference::{DType, Model, Tensor, TensorSpec},
    prelude::*,
};

use super::{
    graph,
    phonemes::{join_clauses, PhonemeIds, VoiceConfig},
    PiperSettings, SAMPLE_RATE,
};
use crate::{
    espeak::{Synth, Voice},
    speech::{sentences, Synthesiser},
};

/// Sentences with more words than this are cut at commas, so that the
/// first audio does not wait for a long sentence.
const LONG_SENTENCE_WORDS: usize = 12;

/// Where the loudest sample the voice has made lands after levelling;
/// louder samples are softly limited into the headroom above it.
const PEAK: f32 = 0.9;

/// Latent frames of the first stretch the decoder makes (256 samples
/// each: ~0.23 s of speech at 22,050 Hz): what the first audio waits
/// for after the encoder.
const FIRST_STRETCH_FRAMES: usize = 20;

/// Latent frames of the later stretches (~0.93 s): made while the ones
/// before play, long enough that the context frames cost little.
const STRETCH_FRAMES: usize = 80;

/// Frames of context on each side of a stretch. HiFi-GAN's convolutions
/// reach about this far: with 10 frames, a voice decoded in stretches
/// equals the voice decoded whole within float rounding (measured on
/// joe-medium: 121 dB signal to difference; 8 frames: 61 dB).
const CONTEXT_FRAMES: usize = 10;

/// What the warm-up says at load: primes the engine's allocations and
/// the voice's level (a question, an exclamation, a statement).
const WARM_UP: &str = "Hello! How can I help you? It is twenty past nine.";

/// A Piper voice, loaded.
pub struct PiperVoice {
    network: Network,
    ids: PhonemeIds,
    espeak: Voice,
    /// `noise_scale`, `length_scale`, `noise_w`, in the model's order.
    scales: [f32; 3],
    speaker: i64,
    /// The loudest raw sample this voice has made, and the gain of the
    /// piece being made, `PEAK / loudest` when it began. Piper scales
    /// each sentence to its own peak, which a stretch that must leave
    /// before the sentence is made cannot know; one gain per voice, moved
    /// only between pieces, also keeps sentences equally loud.
    loudest: f32,
    gain: f32,
    /// The piece begun last.
    current: Option<Current>,
    ctx: Context,
}

/// The voice's network: cut in two where it can be, else whole.
enum Network {
    /// Encoder (ids → latent) and decoder (latent → samples), loaded as
    /// parts of the one file.
    Split {
        encoder: Model,
        decoder: Model,
        /// The latent tensor's name (the decoder's input).
        latent: String,
    },
    /// The whole graph: a piece at once.
    Whole(Model),
}

/// What is left of the piece begun last.
enum Current {
    /// Samples still to return (a whole network makes them at once).
    Samples(Vec<f32>),
    /// The latent, `channels × frames`, and the next frame to decode.
    Latent {
        values: Vec<f32>,
        channels: usize,
        frames: usize,
        next: usize,
    },
}

impl PiperVoice {
    /// Loads the voice at `path` (and its `.onnx.json`), with `settings`'
    /// scales.
    pub fn load(path: &Path, settings: &PiperSettings, ctx: &Context) -> Result<PiperVoice, Error> {
        if !path.is_file() {
            return Err(Error::config(format!(
                "the Piper voice {} is missing",
                path.display()
            ))
            .with_hint(
                "run `hark models fetch onnxruntime piper-joe`, or set `voice` to a Piper .onnx file",
            ));
        }
        let json = format!("{}.json", path.display());
        let text = std::fs::read_to_string(&json).map_err(|e| {
            Error::config(format!("reading the voice's configuration {json}: {e}"))
                .with_hint("a Piper voice is two files: NAME.onnx and NAME.onnx.json beside it")
        })?;
        let config = VoiceConfig::parse(&text).map_err(|e| {
            Error::config(format!("{json} is not a Piper voice configuration: {e}"))
        })?;
        if config.audio.sample_rate != SAMPLE_RATE {
            return Err(Error::config(format!(
                "{} speaks at {} Hz; this kind speaks at {SAMPLE_RATE} Hz (Piper's medium and high voices)",
                path.display(),
                config.audio.sample_rate
            )));
        }
        if settings.speaker >= config.num_speakers {
            return Err(Error::config(format!(
                "speaker {} does not exist: the voice has {} speaker(s)",
                settings.speaker, config.num_speakers
            )));
        }
        let espeak = Voice {
            name: config.espeak.voice.clone(),
            rate: 175,
            pitch: 50,
            volume: 100,
        };
        Synth::lock()
            .and_then(|mut s| s.set_voice(&espeak))
            .map_err(|e| {
                Error::config(format!("phonemizing for {}: {e}", path.display()))
                    .with_hint("install espeak-ng (`apt-get install espeak-ng`)")
            })?;
        let network = Network::load(path, ctx)?;
        let inference = &config.inference;
        let mut voice = PiperVoice {
            ids: PhonemeIds::new(&config),
            espeak,
            scales: [
                inference.noise_scale * settings.variation,
                inference.length_scale * settings.length_scale,
                inference.noise_w * settings.variation,
            ],
            speaker: i64::from(settings.speaker),
            network,
            loudest: 0.0,
            gain: 1.0,
            current: None,
            ctx: *ctx,
        };
        // The first piece sets the level: made before any user hears it.
        voice.begin(WARM_UP)?;
        while voice.more()?.is_some() {}
        Ok(voice)
    }

    /// The ids the model reads for `text`.
    pub fn phoneme_ids(&self, text: &str) -> Result<Vec<i64>, Error> {
        let clauses = {
            let mut synth = Synth::lock().map_err(Error::failed)?;
            synth.set_voice(&self.espeak).map_err(Error::failed)?;
            synth.phonemes(text)
        };
        let (ids, unknown) = self.ids.ids(&join_clauses(&clauses));
        if unknown > 0 {
            self.ctx.counter_add("unknown_phonemes", unknown as u64);
        }
        Ok(ids)
    }

    /// Whether the voice makes a piece in stretches (its network could be
    /// cut between encoder and decoder).
    pub fn streams(&self) -> bool {
        matches!(self.network, Network::Split { .. })
    }

    /// The encoder's (or whole network's) inputs for `ids`.
    fn inputs(&self, model: &Model, ids: Vec<i64>) -> Vec<Tensor> {
        let n = ids.len();
        let mut ids = Some(ids);
        model
            .inputs()
            .iter()
            .map(|input| match input.name.as_str() {
                "input" => Tensor::i64(&[1, n], ids.take().unwrap_or_default()),
                "input_lengths" => Tensor::i64(&[1], vec![n as i64]),
                "scales" => Tensor::f32(&[3], self.scales.to_vec()),
                _ => Tensor::i64(&[1], vec![self.speaker]),
            })
            .collect()
    }

    /// Decodes the latent's next stretch.
    fn decode_next(&mut self) -> Result<Option<Vec<f32>>, Error> {
        let Network::Split {
            decoder, latent, ..
        } = &self.network
        else {
            return Ok(None);
        };
        let Some(Current::Latent {
            values,
            channels,
            frames,
            next,
        }) = &mut self.current
        else {
            return Ok(None);
        };
        let (channels, frames, start) = (*channels, *frames, *next);
        if start >= frames {
            return Ok(None);
        }
        let length = if start == 0 {
            FIRST_STRETCH_FRAMES
        } else {
            STRETCH_FRAMES
        };
        let end = (start + length).min(frames);
        let from = start.saturating_sub(CONTEXT_FRAMES);
        let to = (end + CONTEXT_FRAMES).min(frames);
        let width = to - from;
        let mut window = Vec::with_capacity(channels * width);
        for c in 0..channels {
            window.extend_from_slice(&values[c * frames + from..c * frames + to]);
        }
        *next = end;
        let mut window = Some(window);
        let inputs = decoder
            .inputs()
            .iter()
            .map(|input| match window.take_if(|_| input.name == *latent) {
                Some(window) => Tensor::f32(&[1, channels, width], window),
                None => Tensor::i64(&[1], vec![self.speaker]),
            })
            .collect();
        let samples = first_f32(decoder.run(inputs)?)?;
        if samples.len() % width != 0 {
            return Err(Error::failed(format!(
                "the decoder made {} samples from {width} frames, not a whole number per frame",
                samples.len()
            )));
        }
        let hop = samples.len() / width;
        Ok(Some(
            samples[(start - from) * hop..(end - from) * hop].to_vec(),
        ))
    }

    /// Scales `samples` to the voice's level (see `loudest`).
    fn level(&mut self, mut samples: Vec<f32>) -> Vec<f32> {
        let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        self.loudest = self.loudest.max(peak);
        for s in &mut samples {
            *s = soft_limit(*s * self.gain);
        }
        samples
    }
}

impl Network {
    /// Loads the voice at `path` cut between encoder and decoder, or
    /// whole when it cannot be cut (not a recognisable VITS graph, or a
    /// host older than ABI 1.3).
    fn load(path: &Path, ctx: &Context) -> Result<Network, Error> {
        let inference = ctx.inference()?;
        let whole = || -> Result<Network, Error> {
            let model = inference.load_model(path, &[])?;
            check_inputs(path, model.inputs().iter().map(|i| i.name.as_str()))?;
            Ok(Network::Whole(model))
        };
        let Some(cut) = graph::cut(path) else {
            let network = whole()?;
            ctx.info(&format!(
                "{}: no VITS decoder found; each sentence is made at once",
                path.display()
            ));
            return Ok(network);
        };
        check_inputs(path, cut.inputs.iter().map(String::as_str))?;
        let spec = |name: &str, dtype: DType, shape: &[i64]| TensorSpec {
            name: name.into(),
            dtype,
            shape: shape.iter().copied().collect(),
        };
        // The file types its own inputs and output; the latent is typed here.
        let encoder_inputs: Vec<TensorSpec> = cut
            .inputs
            .iter()
            .map(|name| match name.as_str() {
                "scales" => spec(name, DType::F32, &[3]),
                _ => spec(name, DType::I64, &[-1]),
            })
            .collect();
        let latent = spec(&cut.latent, DType::F32, &[1, -1, -1]);
        // A multi-speaker voice's decoder hears the speaker too.
        let decoder_inputs: Vec<TensorSpec> = std::iter::once(latent.clone())
            .chain(encoder_inputs.iter().filter(|i| i.name == "sid").cloned())
            .collect();
        let output = spec(&cut.output, DType::F32, &[-1]);
        let split = inference
            .load_model_part(path, &encoder_inputs, std::slice::from_ref(&latent))
            .and_then(|encoder| {
                let decoder = inference.load_model_part(path, &decoder_inputs, &[output])?;
                Ok(Network::Split {
                    encoder,
                    decoder,
                    latent: cut.latent.clone(),
                })
            });
        split.or_else(|e| {
            ctx.warn(&format!(
                "{}: cannot run encoder and decoder apart ({}); each sentence is made at once",
                path.display(),
                e.message()
            ));
            whole()
        })
    }
}

/// Refuses a model with inputs a Piper voice does not have.
fn check_inputs<'a>(path: &Path, inputs: impl Iterator<Item = &'a str>) -> Result<(), Error> {
    for input in inputs {
        if !matches!(input, "input" | "input_lengths" | "scales" | "sid") {
            return Err(Error::config(format!(
                "{} has an input `{input}` a Piper voice does not have",
                path.display()
            )));
        }
    }
    Ok(())
}
/// `x` where |x| ≤ [`PEAK`]; above, bent smoothly into 1 (slope 1 at
/// the knee, never reaching full scale).
fn soft_limit(x: f32) -> f32 {
    let over = x.abs() - PEAK;
    if over <= 0.0 {
        x
    } else {
        let headroom = 1.0 - PEAK;
        x.signum() * (PEAK + headroom * (over / headroom).tanh())
    }
}

/// The first output's values.
fn first_f32(outputs: Vec<Tensor>) -> Result<Vec<f32>, Error> {
    outputs
        .first()
        .and_then(|t| t.as_f32())
        .map(<[f32]>::to_vec)
        .ok_or_else(|| Error::failed("the voice returned no audio"))
}

impl Synthesiser for PiperVoice {
    fn sample_rate(&self) -> u32 {
        SAMPLE_RATE
    }

    /// Sentences, long ones cut after their commas.
    fn pieces(&self, text: &str) -> Vec<String> {
        sentences(text)
            .into_iter()
            .flat_map(|s| clauses_of_long_sentence(&s))
            .collect()
    }

    /// Runs the encoder (or the whole network) on the piece's phonemes.
    fn begin(&mut self, piece: &str) -> Result<(), Error> {
        self.current = None;
        if self.loudest > 0.0 {
            self.gain = PEAK / self.loudest.max(0.01);
        }
        let ids = self.phoneme_ids(piece)?;
        self.current = Some(match &self.network {
            Network::Whole(model) => {
                let inputs = self.inputs(model, ids);
                Current::Samples(first_f32(model.run(inputs)?)?)
            }
            Network::Split { encoder, .. } => {
                let inputs = self.inputs(encoder, ids);
                let outputs = encoder.run(inputs)?;
                let latent = outputs
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::failed("the voice's encoder returned nothing"))?;
                let (channels, frames) = match latent.shape.as_slice() {
                    &[1, c, f] if c > 0 => (c as usize, f as usize),
                    other => {
                        return Err(Error::failed(format!(
                            "the voice's latent has shape {other:?}, not [1, channels, frames]"
                        )))
                    }
                };
                let values = latent
                    .as_f32()
                    .ok_or_else(|| Error::failed("the voice's latent is not f32"))?
                    .to_vec();
                Current::Latent {
                    values,
                    channels,
                    frames,
                    next: 0,
                }
            }
        });
        Ok(())
    }

    fn more(&mut self) -> Result<Option<Vec<f32>>, Error> {
        let stretch = match &mut self.current {
            None => None,
            Some(Current::Samples(samples)) => {
                let samples = std::mem::take(samples);
                self.current = None;
                Some(samples)
            }
            Some(Current::Latent { .. }) => self.decode_next()?,
        };
        match stretch {
            Some(samples) => Ok(Some(self.level(samples))),
            None => {
                self.current = None;
                Ok(None)
            }
        }
    }
}

/// A sentence of more than [`LONG_SENTENCE_WORDS`] words, cut after its
/// commas into clauses of at least three words; shorter ones whole.
pub fn clauses_of_long_sentence(sentence: &str) -> Vec<String> {
    if sentence.split_whitespace().count() <= LONG_SENTENCE_WORDS {
        return vec![sentence.to_string()];
    }
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in sentence.split_whitespace() {
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
        if word.ends_with(',') && current.split_whitespace().count() >= 3 {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        match out.last_mut() {
            // A short tail is spoken with the clause before it.
            Some(last) if current.split_whitespace().count() < 3 => {
                last.push(' ');
                last.push_str(&current);
            }
            _ => out.push(current),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::clauses_of_long_sentence;

    #[test]
    fn long_sentences_are_cut_after_commas_short_ones_are_not() {
        assert_eq!(
            clauses_of_long_sentence("Yes, it is on."),
            vec!["Yes, it is on."]
        );
        assert_eq!(
            clauses_of_long_sentence(
                "The kitchen lights are on, the heating is at twenty degrees, and the door is locked, ok."
            ),
            vec![
                "The kitchen lights are on,",
                "the heating is at twenty degrees,",
                "and the door is locked, ok."
            ]
        );
    }
}
