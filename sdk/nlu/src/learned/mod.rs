//! The learned recogniser: MiniLM (on the host's kernels) gives every
//! utterance a sentence embedding and every word a contextual vector; a
//! softmax classifier picks the intent from the embedding plus word
//! features, and a linear-chain tagger (BIO tags, Viterbi, trained as an
//! averaged structured perceptron) marks the slots from the word vectors
//! plus word features. Only tags seen with the predicted intent compete.
//!
//! Training reads SNIPS-format examples (`hark nlu train`); the model is
//! a JSON file loaded at start-up.
//!
//! This file holds what prediction needs (the featurizer, the model and
//! its file); [`gazetteer`] the slot values seen in training; [`tagger`]
//! the slot tagger's scores and Viterbi decoding, shared by prediction and
//! training; [`train`] the learning.

use std::{collections::HashMap, path::Path};

use hark_minilm::{Encoder, Tokenizer, DIM};
use hark_sdk::{
    inference::{Inference, WeightFormat},
    Error,
};
use serde::{Deserialize, Serialize};

mod gazetteer;
mod tagger;
mod train;

use gazetteer::Gazetteer;
use tagger::tag_words;
pub use train::{train, word_entities, Prepared, TrainOptions};

use crate::features;

/// Sentence embeddings are unit length; scaled so that their weights
/// learn at the pace of the binary word features.
const SENTENCE_SCALE: f32 = 8.0;
/// Word vectors are LayerNorm outputs (entries around ±1); scaled down
/// so that they do not drown the word features in perceptron updates.
const TOKEN_SCALE: f32 = 0.3;
/// The model file's format version.
const FORMAT: u32 = 1;

/// MiniLM and its tokenizer: text in, dense features out.
pub struct Featurizer {
    tokenizer: Tokenizer,
    encoder: Encoder,
    /// `q8_0`, `f32`, ...: how the encoder's linear layers are quantized.
    pub format: String,
}

/// Dense features of one utterance.
pub struct Encoded {
    /// Unit-length sentence embedding (`DIM`).
    pub sentence: Vec<f32>,
    /// One vector per word (`words × DIM`), that of its first piece.
    pub words: Vec<f32>,
}

/// Encoder formats by name.
pub fn weight_format(name: &str) -> Result<WeightFormat, Error> {
    Ok(match name {
        "q8_0" => WeightFormat::Q8_0,
        "q4_0" => WeightFormat::Q4_0,
        "i8row" => WeightFormat::I8Row,
        "f32" => WeightFormat::F32,
        other => {
            return Err(Error::config(format!("unknown encoder format `{other}`"))
                .with_hint("use q8_0, q4_0, i8row or f32"))
        }
    })
}

impl Featurizer {
    /// Loads MiniLM from `dir` (`model.safetensors`, `vocab.txt`).
    pub fn load(core: Inference, dir: &Path, format: &str) -> Result<Featurizer, Error> {
        let (tokenizer, encoder) = hark_minilm::load(core, dir, weight_format(format)?)?;
        Ok(Featurizer {
            tokenizer,
            encoder,
            format: format.to_string(),
        })
    }

    /// Dense features of an utterance given as words.
    pub fn encode(&self, words: &[&str]) -> Result<Encoded, Error> {
        let pieces = self
            .tokenizer
            .encode_words(words, self.encoder.max_positions().min(128));
        let hidden = self.encoder.hidden_states(&pieces.ids)?;
        let sentence = self.encoder.pool(&hidden)?;
        let mut vectors = Vec::with_capacity(words.len() * DIM);
        for &p in &pieces.first_piece {
            vectors.extend_from_slice(&hidden[p * DIM..(p + 1) * DIM]);
        }
        Ok(Encoded {
            sentence,
            words: vectors,
        })
    }
}

/// A trained recogniser (serialised as JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    format: u32,
    /// The encoder format the model was trained with.
    pub encoder_format: String,
    /// Intent names; index = class.
    pub intents: Vec<String>,
    /// `intents × DIM`.
    intent_dense: Vec<f32>,
    /// Feature id → one weight per intent.
    intent_sparse: HashMap<u32, Vec<f32>>,
    /// `O`, then `B-slot`, `I-slot` for every slot.
    tags: Vec<String>,
    /// Tags each intent may use.
    intent_tags: Vec<Vec<u16>>,
    /// `tags × DIM`.
    tag_dense: Vec<f32>,
    /// Feature id → (tag, weight) for the tags it was seen with.
    tag_sparse: HashMap<u32, Vec<(u16, f32)>>,
    /// `(tags + 1) × tags`: from tag (or the start, last row) to tag.
    transitions: Vec<f32>,
    /// Slot values seen in training.
    gazetteer: Gazetteer,
}

/// What the model makes of an utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Every intent with its probability, best first.
    pub intents: Vec<(String, f32)>,
    /// Slots as (name, first word, one past the last word).
    pub slots: Vec<(String, usize, usize)>,
}

impl Model {
    /// Reads a model written by [`Model::save`].
    pub fn load(path: &Path) -> Result<Model, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!("cannot read the NLU model {}: {e}", path.display()))
                .with_hint("train one with `hark nlu train DATA -o MODEL`")
        })?;
        let model: Model = serde_json::from_str(&text).map_err(|e| {
            Error::config(format!("{} is not a Hark NLU model: {e}", path.display()))
                .with_hint("train one with `hark nlu train DATA -o MODEL`")
        })?;
        if model.format != FORMAT {
            return Err(Error::config(format!(
                "{} is an NLU model of format {}; this plugin reads format {FORMAT}",
                path.display(),
                model.format
            ))
            .with_hint("train it again with this version: `hark nlu train`"));
        }
        model.check_shape().map_err(|problem| {
            Error::config(format!(
                "{} is a damaged NLU model: {problem}",
                path.display()
            ))
            .with_hint("train it again: `hark nlu train DATA -o MODEL`")
        })?;
        Ok(model)
    }

    /// Checks that every table has the size the others imply, and every
    /// index is in range, before anything slices them: a damaged or
    /// hand-edited file is refused here instead of panicking mid-request.
    fn check_shape(&self) -> Result<(), String> {
        let (k, t) = (self.intents.len(), self.tags.len());
        let sized = |what: &str, len: usize, want: usize| {
            if len == want {
                Ok(())
            } else {
                Err(format!("{what} has {len} values where {want} are needed"))
            }
        };
        if k == 0 {
            return Err("it has no intents".into());
        }
        if t == 0 || t % 2 == 0 || self.tags[0] != "O" {
            return Err("its tags are not `O` then a `B-`/`I-` pair per slot".into());
        }
        for pair in self.tags[1..].chunks(2) {
            if !(pair[0].starts_with("B-")
                && pair[1].starts_with("I-")
                && pair[0][2..] == pair[1][2..])
            {
                return Err(format!(
                    "its tags `{}`, `{}` are not a `B-`/`I-` pair",
                    pair[0], pair[1]
                ));
            }
        }
        sized("intent_dense", self.intent_dense.len(), k * DIM)?;
        sized("tag_dense", self.tag_dense.len(), t * DIM)?;
        sized("transitions", self.transitions.len(), (t + 1) * t)?;
        sized("intent_tags", self.intent_tags.len(), k)?;
        if let Some(w) = self.intent_sparse.values().find(|w| w.len() != k) {
            sized("an intent_sparse entry", w.len(), k)?;
        }
        let tag_out_of_range = self
            .intent_tags
            .iter()
            .flatten()
            .copied()
            .chain(self.tag_sparse.values().flatten().map(|&(tag, _)| tag));
        if let Some(tag) = tag_out_of_range
            .into_iter()
            .find(|&tag| usize::from(tag) >= t)
        {
            return Err(format!("it refers to tag {tag} of {t}"));
        }
        Ok(())
    }

    /// Writes the model as JSON.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let json = serde_json::to_string(self).map_err(|e| Error::failed(e.to_string()))?;
        std::fs::write(path, json)
            .map_err(|e| Error::failed(format!("cannot write {}: {e}", path.display())))
    }

    fn slot_name(&self, slot: u16) -> &str {
        &self.tags[1 + 2 * slot as usize][2..]
    }

    fn intent_scores(&self, sentence: &[f32], feats: &[u32]) -> Vec<f32> {
        let k = self.intents.len();
        let mut scores: Vec<f32> = (0..k)
            .map(|c| SENTENCE_SCALE * dot(&self.intent_dense[c * DIM..(c + 1) * DIM], sentence))
            .collect();
        for f in feats {
            if let Some(w) = self.intent_sparse.get(f) {
                scores.iter_mut().zip(w).for_each(|(s, w)| *s += w);
            }
        }
        scores
    }

    /// Recognises an utterance given as words (see [`crate::text::words`]).
    pub fn predict(&self, enc: &Encoded, raw: &[&str]) -> Prediction {
        let folded = features::folded(raw);
        let matches = self.gazetteer.matches(&folded, &[]);
        let mut sentence = features::sentence(&folded);
        self.gazetteer.sentence_features(&matches, &mut sentence);
        let scores = self.intent_scores(&enc.sentence, &sentence);
        let probabilities = softmax(&scores);
        let mut intents: Vec<(String, f32)> = self
            .intents
            .iter()
            .cloned()
            .zip(probabilities.iter().copied())
            .collect();
        intents.sort_by(|a, b| b.1.total_cmp(&a.1));
        let best = self
            .intents
            .iter()
            .position(|i| *i == intents[0].0)
            .unwrap_or(0);
        let tags = tag_words(self, enc, &folded, raw, &matches, best);
        let mut slots = Vec::new();
        for (i, &tag) in tags.iter().enumerate() {
            match tagger::bio(tag) {
                tagger::Bio::Begin(s) => slots.push((self.slot_name(s).to_string(), i, i + 1)),
                tagger::Bio::Inside(_) => {
                    if let Some(last) = slots.last_mut() {
                        last.2 = i + 1;
                    }
                }
                tagger::Bio::Outside => {}
            }
        }
        Prediction { intents, slots }
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub(super) fn softmax(scores: &[f32]) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest well-formed model: one intent, one slot.
    fn tiny() -> Model {
        Model {
            format: FORMAT,
            encoder_format: "q8".into(),
            intents: vec!["play".into()],
            intent_dense: vec![0.0; DIM],
            intent_sparse: HashMap::from([(7, vec![0.5])]),
            tags: vec!["O".into(), "B-song".into(), "I-song".into()],
            intent_tags: vec![vec![0, 1, 2]],
            tag_dense: vec![0.0; 3 * DIM],
            tag_sparse: HashMap::from([(7, vec![(1, 0.5)])]),
            transitions: vec![0.0; 4 * 3],
            gazetteer: Gazetteer::default(),
        }
    }

    #[test]
    fn a_damaged_model_file_is_refused_before_use() {
        let dir = std::env::temp_dir().join(format!("hark-nlu-shape-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.json");
        tiny().save(&path).unwrap();
        assert!(Model::load(&path).is_ok());
        type Damage = fn(&mut Model);
        let damages: [(&str, Damage); 5] = [
            ("transitions has 11 values where 12 are needed", |m| {
                m.transitions.pop();
            }),
            ("intent_dense has 0 values where 384 are needed", |m| {
                m.intent_dense.clear();
            }),
            ("it refers to tag 9 of 3", |m| m.intent_tags[0].push(9)),
            (
                "an intent_sparse entry has 2 values where 1 are needed",
                |m| {
                    m.intent_sparse.insert(8, vec![0.0, 0.0]);
                },
            ),
            ("are not a `B-`/`I-` pair", |m| m.tags[2] = "x".into()),
        ];
        for (expected, damage) in damages {
            let mut model = tiny();
            damage(&mut model);
            model.save(&path).unwrap();
            let e = Model::load(&path).unwrap_err();
            assert!(
                e.message().contains("is a damaged NLU model"),
                "{}",
                e.message()
            );
            assert!(e.message().contains(expected), "{}", e.message());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
