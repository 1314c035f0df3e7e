//! The learned recogniser: MiniLM (on the host's kernels) gives every
//! utterance a sentence embedding and every word a contextual vector; a
//! softmax classifier picks the intent from the embedding plus word
//! features, and a linear-chain tagger (BIO tags, Viterbi, trained as an
//! averaged structured perceptron) marks the slots from the word vectors
//! plus word features. Only tags seen with the predicted intent compete.
//!
//! Training reads SNIPS-format examples (`hark nlu train`); the model is
//! a JSON file loaded at start-up.

use std::{collections::HashMap, path::Path};

use hark_minilm::{Encoder, Tokenizer, DIM};
use hark_sdk::{
    inference::{Inference, WeightFormat},
    Error,
};
use serde::{Deserialize, Serialize};

use crate::{features, snips::Example, text};

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
        let (weights, vocab) = (dir.join("model.safetensors"), dir.join("vocab.txt"));
        if !weights.is_file() || !vocab.is_file() {
            return Err(Error::config(format!(
                "MiniLM is missing from {} (model.safetensors and vocab.txt)",
                dir.display()
            ))
            .with_hint("run `hark models fetch minilm-l6`"));
        }
        let tokenizer = Tokenizer::from_vocab(&std::fs::read_to_string(&vocab)?)
            .map_err(|e| Error::config(format!("{}: {e}", vocab.display())))?;
        let encoder = Encoder::load(core, &weights, weight_format(format)?)?;
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

/// Slot values seen in training (folded words joined by spaces), with
/// how often each was seen as which slot. A match is a feature for both
/// the classifier ("this names a playlist") and the tagger.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Gazetteer {
    /// Value → (slot index, times seen).
    values: HashMap<String, Vec<(u16, u32)>>,
    /// Longest value, in words.
    max_words: usize,
}

/// Longest value the gazetteer looks for, in words.
const GAZETTEER_MAX_WORDS: usize = 8;

impl Gazetteer {
    /// Values in `words` as (first word, one past the last, slot).
    /// `own` lists the example's own slot values when featurising
    /// training data: a value seen only there does not count (leave one
    /// out), so that the learner sees the gazetteer as unreliable as it
    /// is on new text.
    fn matches(&self, words: &[String], own: &[(String, u16)]) -> Vec<(usize, usize, u16)> {
        let mut found = Vec::new();
        for i in 0..words.len() {
            let mut key = String::new();
            for (j, word) in words.iter().enumerate().take(i + self.max_words).skip(i) {
                if j > i {
                    key.push(' ');
                }
                key.push_str(word);
                let Some(slots) = self.values.get(&key) else {
                    continue;
                };
                for &(slot, count) in slots {
                    let mine = own.iter().filter(|(v, s)| *v == key && *s == slot).count() as u32;
                    if count > mine {
                        found.push((i, j + 1, slot));
                    }
                }
            }
        }
        found
    }

    /// Sentence features: which slots' values occur.
    fn sentence_features(&self, matches: &[(usize, usize, u16)], out: &mut Vec<u32>) {
        for &(start, end, slot) in matches {
            out.push(features::id("gz", &slot.to_string()));
            if end - start > 1 {
                out.push(features::id("gz+", &slot.to_string()));
            }
        }
    }

    /// Word features: the word begins or continues a value of a slot.
    fn token_features(&self, matches: &[(usize, usize, u16)], tokens: &mut [Vec<u32>]) {
        for &(start, end, slot) in matches {
            let long = if end - start > 1 { "+" } else { "" };
            for (i, t) in tokens.iter_mut().enumerate().take(end).skip(start) {
                let place = if i == start { "B" } else { "I" };
                t.push(features::id("gzt", &format!("{place}{long}{slot}")));
            }
        }
    }
}

/// What the model makes of an utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Every intent with its probability, best first.
    pub intents: Vec<(String, f32)>,
    /// Slots as (name, first word, one past the last word).
    pub slots: Vec<(String, usize, usize)>,
}

/// BIO view of a tag.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bio {
    Outside,
    Begin(u16),
    Inside(u16),
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
        Ok(model)
    }

    /// Writes the model as JSON.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let json = serde_json::to_string(self).map_err(|e| Error::failed(e.to_string()))?;
        std::fs::write(path, json)
            .map_err(|e| Error::failed(format!("cannot write {}: {e}", path.display())))
    }

    fn bio(&self, tag: usize) -> Bio {
        if tag == 0 {
            Bio::Outside
        } else if tag % 2 == 1 {
            Bio::Begin(((tag - 1) / 2) as u16)
        } else {
            Bio::Inside(((tag - 1) / 2) as u16)
        }
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
            match self.bio(tag) {
                Bio::Begin(s) => slots.push((self.slot_name(s).to_string(), i, i + 1)),
                Bio::Inside(_) => {
                    if let Some(last) = slots.last_mut() {
                        last.2 = i + 1;
                    }
                }
                Bio::Outside => {}
            }
        }
        Prediction { intents, slots }
    }
}

fn token_features(
    model: &Model,
    folded: &[String],
    raw: &[&str],
    matches: &[(usize, usize, u16)],
    intent: &str,
) -> Vec<Vec<u32>> {
    let mut tokens: Vec<Vec<u32>> = (0..folded.len())
        .map(|i| features::token(folded, raw, i, intent))
        .collect();
    model.gazetteer.token_features(matches, &mut tokens);
    tokens
}

fn tag_words(
    model: &Model,
    enc: &Encoded,
    folded: &[String],
    raw: &[&str],
    matches: &[(usize, usize, u16)],
    intent: usize,
) -> Vec<usize> {
    let feats = token_features(model, folded, raw, matches, &model.intents[intent]);
    let allowed = &model.intent_tags[intent];
    let scores = emissions(
        model.tags.len(),
        enc,
        &feats,
        allowed,
        &model.tag_dense,
        &model.tag_sparse,
    );
    viterbi(model, &scores, allowed, &model.transitions)
}

/// The best BIO-consistent tag sequence.
fn viterbi(model: &Model, emissions: &[f32], allowed: &[u16], transitions: &[f32]) -> Vec<usize> {
    let t = model.tags.len();
    let n = emissions.len() / t;
    if n == 0 {
        return Vec::new();
    }
    let valid = |prev: Option<usize>, cur: usize| match model.bio(cur) {
        Bio::Inside(s) => {
            matches!(prev.map(|p| model.bio(p)), Some(Bio::Begin(p) | Bio::Inside(p)) if p == s)
        }
        _ => true,
    };
    let mut score = vec![f32::NEG_INFINITY; n * t];
    let mut back = vec![0usize; n * t];
    for &a in allowed {
        let a = a as usize;
        if valid(None, a) {
            score[a] = transitions[t * t + a] + emissions[a];
        }
    }
    for i in 1..n {
        for &a in allowed {
            let a = a as usize;
            let mut best = (f32::NEG_INFINITY, 0);
            for &p in allowed {
                let p = p as usize;
                let s = score[(i - 1) * t + p];
                if s.is_finite() && valid(Some(p), a) {
                    let s = s + transitions[p * t + a];
                    if s > best.0 {
                        best = (s, p);
                    }
                }
            }
            score[i * t + a] = best.0 + emissions[i * t + a];
            back[i * t + a] = best.1;
        }
    }
    let mut last = allowed
        .iter()
        .map(|&a| a as usize)
        .max_by(|&a, &b| score[(n - 1) * t + a].total_cmp(&score[(n - 1) * t + b]))
        .unwrap_or(0);
    let mut path = vec![0; n];
    for i in (0..n).rev() {
        path[i] = last;
        last = back[i * t + last];
    }
    path
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn softmax(scores: &[f32]) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

/// An example ready for training: words, gold tags, dense features.
pub struct Prepared {
    /// The example's own slot values (folded) and slot indices.
    own: Vec<(String, u16)>,
    raw: Vec<String>,
    folded: Vec<String>,
    intent: usize,
    tags: Vec<usize>,
    encoded: Encoded,
}

/// Words of `text` and, for each, the entity it belongs to (and whether
/// it is that entity's first word).
pub fn word_entities(example: &Example) -> (Vec<text::Word<'_>>, Vec<Option<(usize, bool)>>) {
    let words = text::words(&example.text);
    let mut labels = Vec::with_capacity(words.len());
    let mut last = None;
    for w in &words {
        let entity = example
            .entities
            .iter()
            .position(|e| w.start >= e.start && w.start < e.end);
        labels.push(entity.map(|e| (e, last != Some(e))));
        last = entity;
    }
    (words, labels)
}

/// How training goes.
pub struct TrainOptions<'a> {
    /// Passes of the intent classifier over the data.
    pub intent_epochs: usize,
    /// Passes of the slot tagger over the data.
    pub tagger_epochs: usize,
    /// Shuffling seed.
    pub seed: u64,
    /// Progress lines.
    pub log: &'a dyn Fn(&str),
}

/// Trains a model on `examples`.
pub fn train(
    featurizer: &Featurizer,
    examples: &[Example],
    options: &TrainOptions,
) -> Result<Model, Error> {
    if examples.is_empty() {
        return Err(Error::config("no training examples"));
    }
    let mut intents: Vec<String> = examples.iter().map(|e| e.intent.clone()).collect();
    intents.sort();
    intents.dedup();
    let mut slots: Vec<String> = examples
        .iter()
        .flat_map(|e| e.entities.iter().map(|x| x.slot.clone()))
        .collect();
    slots.sort();
    slots.dedup();
    let mut tags = vec!["O".to_string()];
    for s in &slots {
        tags.push(format!("B-{s}"));
        tags.push(format!("I-{s}"));
    }
    let mut intent_tags: Vec<Vec<u16>> = vec![vec![0]; intents.len()];
    let started = std::time::Instant::now();
    let mut prepared = Vec::with_capacity(examples.len());
    for (n, e) in examples.iter().enumerate() {
        let intent = intents.binary_search(&e.intent).unwrap_or(0);
        let (words, labels) = word_entities(e);
        let raw: Vec<&str> = words.iter().map(|w| w.text).collect();
        let gold: Vec<usize> = labels
            .iter()
            .map(|l| match l {
                None => 0,
                Some((entity, first)) => {
                    let s = slots.binary_search(&e.entities[*entity].slot).unwrap_or(0);
                    1 + 2 * s + usize::from(!first)
                }
            })
            .collect();
        for &g in &gold {
            let allowed = &mut intent_tags[intent];
            if g != 0 && !allowed.contains(&(g as u16)) {
                let begin = (g - 1) / 2 * 2 + 1;
                allowed.extend([begin as u16, begin as u16 + 1]);
            }
        }
        let folded = features::folded(&raw);
        let mut own: Vec<(String, u16)> = Vec::new();
        for (i, &g) in gold.iter().enumerate() {
            let slot = ((g.max(1) - 1) / 2) as u16;
            if g != 0 && g % 2 == 1 {
                own.push((folded[i].clone(), slot));
            } else if g != 0 {
                if let Some(last) = own.last_mut() {
                    last.0.push(' ');
                    last.0.push_str(&folded[i]);
                }
            }
        }
        prepared.push(Prepared {
            own,
            folded,
            raw: raw.iter().map(|s| s.to_string()).collect(),
            intent,
            tags: gold,
            encoded: featurizer.encode(&raw)?,
        });
        if (n + 1) % 2000 == 0 {
            (options.log)(&format!(
                "encoded {} of {} utterances ({:.0} s)",
                n + 1,
                examples.len(),
                started.elapsed().as_secs_f32()
            ));
        }
    }
    intent_tags.iter_mut().for_each(|t| t.sort());
    let mut gazetteer = Gazetteer::default();
    for p in &prepared {
        for (value, slot) in &p.own {
            let words = value.split(' ').count();
            if words > GAZETTEER_MAX_WORDS {
                continue;
            }
            gazetteer.max_words = gazetteer.max_words.max(words);
            let slots = gazetteer.values.entry(value.clone()).or_default();
            match slots.iter_mut().find(|(s, _)| s == slot) {
                Some((_, count)) => *count += 1,
                None => slots.push((*slot, 1)),
            }
        }
    }
    let mut model = Model {
        gazetteer,
        format: FORMAT,
        encoder_format: featurizer.format.clone(),
        intent_dense: vec![0.0; intents.len() * DIM],
        intent_sparse: HashMap::new(),
        transitions: vec![0.0; (tags.len() + 1) * tags.len()],
        tag_dense: vec![0.0; tags.len() * DIM],
        tag_sparse: HashMap::new(),
        intents,
        tags,
        intent_tags,
    };
    let mut rng = fastrand::Rng::with_seed(options.seed);
    train_intents(&mut model, &prepared, options, &mut rng);
    train_tagger(&mut model, &prepared, options, &mut rng);
    Ok(model)
}

fn train_intents(
    model: &mut Model,
    data: &[Prepared],
    options: &TrainOptions,
    rng: &mut fastrand::Rng,
) {
    let k = model.intents.len();
    let feats: Vec<Vec<u32>> = data
        .iter()
        .map(|p| {
            let mut f = features::sentence(&p.folded);
            let matches = model.gazetteer.matches(&p.folded, &p.own);
            model.gazetteer.sentence_features(&matches, &mut f);
            f
        })
        .collect();
    let mut order: Vec<usize> = (0..data.len()).collect();
    for epoch in 0..options.intent_epochs {
        rng.shuffle(&mut order);
        // Chosen on a validation split of the training data (a tenth
        // of it): a slower rate and more passes beat 0.2 × 10.
        let rate = 0.05 / (1.0 + epoch as f32 * 0.5);
        let mut loss = 0.0;
        for &n in &order {
            let p = &data[n];
            let scores = model.intent_scores(&p.encoded.sentence, &feats[n]);
            let probabilities = softmax(&scores);
            loss -= probabilities[p.intent].max(1e-9).ln();
            for (c, probability) in probabilities.iter().enumerate() {
                let g = probability - f32::from(c == p.intent);
                if g.abs() < 1e-6 {
                    continue;
                }
                let row = &mut model.intent_dense[c * DIM..(c + 1) * DIM];
                for (w, x) in row.iter_mut().zip(&p.encoded.sentence) {
                    *w -= rate * (g * SENTENCE_SCALE * x + 1e-5 * *w);
                }
                for f in &feats[n] {
                    model
                        .intent_sparse
                        .entry(*f)
                        .or_insert_with(|| vec![0.0; k])[c] -= rate * g;
                }
            }
        }
        (options.log)(&format!(
            "intent classifier: epoch {}/{}, mean loss {:.4}",
            epoch + 1,
            options.intent_epochs,
            loss / data.len() as f32
        ));
    }
}

/// A weight and the sum needed to average it (the standard trick:
/// `average = w - u / steps`, with `u` summing `step × update`).
#[derive(Clone, Copy, Default)]
struct Averaged {
    w: f32,
    u: f64,
}

impl Averaged {
    fn add(&mut self, delta: f32, step: f64) {
        self.w += delta;
        self.u += step * delta as f64;
    }
    fn average(&self, steps: f64) -> f32 {
        (self.w as f64 - self.u / steps) as f32
    }
}

fn train_tagger(
    model: &mut Model,
    data: &[Prepared],
    options: &TrainOptions,
    rng: &mut fastrand::Rng,
) {
    let t = model.tags.len();
    let mut dense = vec![Averaged::default(); t * DIM];
    let mut transitions = vec![Averaged::default(); (t + 1) * t];
    let mut sparse: HashMap<u32, Vec<(u16, Averaged)>> = HashMap::new();
    let feats: Vec<Vec<Vec<u32>>> = data
        .iter()
        .map(|p| {
            let raw: Vec<&str> = p.raw.iter().map(String::as_str).collect();
            let matches = model.gazetteer.matches(&p.folded, &p.own);
            token_features(model, &p.folded, &raw, &matches, &model.intents[p.intent])
        })
        .collect();
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut step = 1.0f64;
    for epoch in 0..options.tagger_epochs {
        rng.shuffle(&mut order);
        let mut wrong_words = 0usize;
        let mut words = 0usize;
        for &n in &order {
            let p = &data[n];
            // Current (not averaged) weights, as the perceptron learns.
            for (m, a) in model.transitions.iter_mut().zip(&transitions) {
                *m = a.w;
            }
            let allowed = model.intent_tags[p.intent].clone();
            let scores = emissions(t, &p.encoded, &feats[n], &allowed, &dense, &sparse);
            let predicted = viterbi(model, &scores, &allowed, &model.transitions);
            words += p.tags.len();
            if predicted != p.tags {
                let mut prev = (t, t);
                for (i, (&gold, &guess)) in p.tags.iter().zip(&predicted).enumerate() {
                    if gold != guess {
                        wrong_words += 1;
                        let x = &p.encoded.words[i * DIM..(i + 1) * DIM];
                        for (d, x) in x.iter().enumerate() {
                            dense[gold * DIM + d].add(TOKEN_SCALE * x, step);
                            dense[guess * DIM + d].add(-TOKEN_SCALE * x, step);
                        }
                        for f in &feats[n][i] {
                            let entries = sparse.entry(*f).or_default();
                            for (tag, delta) in [(gold, 1.0), (guess, -1.0)] {
                                match entries.iter_mut().find(|(g, _)| *g as usize == tag) {
                                    Some((_, a)) => a.add(delta, step),
                                    None => {
                                        let mut a = Averaged::default();
                                        a.add(delta, step);
                                        entries.push((tag as u16, a));
                                    }
                                }
                            }
                        }
                    }
                    if (prev.0, gold) != (prev.1, guess) {
                        transitions[prev.0 * t + gold].add(1.0, step);
                        transitions[prev.1 * t + guess].add(-1.0, step);
                    }
                    prev = (gold, guess);
                }
            }
            step += 1.0;
        }
        (options.log)(&format!(
            "slot tagger: epoch {}/{}, {:.2}% of words mistagged",
            epoch + 1,
            options.tagger_epochs,
            100.0 * wrong_words as f64 / words.max(1) as f64
        ));
    }
    model.tag_dense = dense.iter().map(|a| a.average(step)).collect();
    model.transitions = transitions.iter().map(|a| a.average(step)).collect();
    model.tag_sparse = sparse
        .into_iter()
        .filter_map(|(f, entries)| {
            let kept: Vec<(u16, f32)> = entries
                .iter()
                .map(|(tag, a)| (*tag, a.average(step)))
                .filter(|(_, w)| w.abs() > 1e-4)
                .collect();
            (!kept.is_empty()).then_some((f, kept))
        })
        .collect();
}

/// A weight of the tagger: final (`f32`) or being trained ([`Averaged`]).
trait Weight {
    fn value(&self) -> f32;
}

impl Weight for f32 {
    fn value(&self) -> f32 {
        *self
    }
}

impl Weight for Averaged {
    fn value(&self) -> f32 {
        self.w
    }
}

/// Emission scores `words × tags` (only `allowed` tags are filled, the
/// rest stay −∞), from dense weights (`tags × DIM`) and sparse ones
/// (feature → (tag, weight)): the same code for prediction and training.
fn emissions<W: Weight>(
    tags: usize,
    enc: &Encoded,
    feats: &[Vec<u32>],
    allowed: &[u16],
    dense: &[W],
    sparse: &HashMap<u32, Vec<(u16, W)>>,
) -> Vec<f32> {
    let mut e = vec![f32::NEG_INFINITY; feats.len() * tags];
    for (i, f) in feats.iter().enumerate() {
        let row = &mut e[i * tags..(i + 1) * tags];
        let x = &enc.words[i * DIM..(i + 1) * DIM];
        for &a in allowed {
            let a = a as usize;
            let weights = &dense[a * DIM..(a + 1) * DIM];
            row[a] = TOKEN_SCALE
                * weights
                    .iter()
                    .zip(x)
                    .map(|(w, x)| w.value() * x)
                    .sum::<f32>();
        }
        for id in f {
            for (tag, w) in sparse.get(id).into_iter().flatten() {
                let cell = &mut row[*tag as usize];
                if cell.is_finite() {
                    *cell += w.value();
                }
            }
        }
    }
    e
}
