//! The running `piper` node's voice: text → espeak-ng IPA → ids → VITS
//! on the host's model service → samples.

use std::path::Path;

use hark_sdk::{
    inference::{Model, Tensor},
    prelude::*,
};

use super::{
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

/// Loudest sample of each piece after normalising (Piper scales every
/// piece to full scale; a little headroom is left for resampling).
const PEAK: f32 = 0.9;

/// A Piper voice, loaded.
pub struct PiperVoice {
    model: Model,
    ids: PhonemeIds,
    espeak: Voice,
    /// `noise_scale`, `length_scale`, `noise_w`, in the model's order.
    scales: [f32; 3],
    speaker: i64,
    ctx: Context,
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
        let model = ctx.inference()?.load_model(path, &[])?;
        for input in model.inputs() {
            if !matches!(
                input.name.as_str(),
                "input" | "input_lengths" | "scales" | "sid"
            ) {
                return Err(Error::config(format!(
                    "{} has an input `{}` a Piper voice does not have",
                    path.display(),
                    input.name
                )));
            }
        }
        let inference = &config.inference;
        Ok(PiperVoice {
            ids: PhonemeIds::new(&config),
            espeak,
            scales: [
                inference.noise_scale * settings.variation,
                inference.length_scale * settings.length_scale,
                inference.noise_w * settings.variation,
            ],
            speaker: i64::from(settings.speaker),
            model,
            ctx: *ctx,
        })
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

    fn synthesise(&mut self, piece: &str) -> Result<Vec<f32>, Error> {
        let ids = self.phoneme_ids(piece)?;
        let n = ids.len();
        let inputs = self
            .model
            .inputs()
            .iter()
            .map(|input| match input.name.as_str() {
                "input" => Tensor::i64(&[1, n], ids.clone()),
                "input_lengths" => Tensor::i64(&[1], vec![n as i64]),
                "scales" => Tensor::f32(&[3], self.scales.to_vec()),
                _ => Tensor::i64(&[1], vec![self.speaker]),
            })
            .collect();
        let outputs = self.model.run(inputs)?;
        let mut audio = outputs
            .first()
            .and_then(|t| t.as_f32())
            .ok_or_else(|| Error::failed("the voice returned no audio"))?
            .to_vec();
        let peak = audio.iter().fold(0.0f32, |m, s| m.max(s.abs())).max(0.01);
        for s in &mut audio {
            *s = (*s * PEAK / peak).clamp(-1.0, 1.0);
        }
        Ok(audio)
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
