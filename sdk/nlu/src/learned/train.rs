//! Training: the intent classifier (softmax regression on the sentence
//! embedding and word features) and the slot tagger (an averaged
//! structured perceptron over Viterbi paths).

use std::collections::HashMap;

use hark_minilm::DIM;
use hark_sdk::Error;

use super::{
    gazetteer::GAZETTEER_MAX_WORDS,
    softmax,
    tagger::{emissions, token_features, viterbi, Weight},
    Encoded, Featurizer, Gazetteer, Model, FORMAT, SENTENCE_SCALE, TOKEN_SCALE,
};
use crate::{features, snips::Example, text};

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
            let predicted = viterbi(t, &scores, &allowed, &model.transitions);
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

impl Weight for Averaged {
    fn value(&self) -> f32 {
        self.w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_averaged_weight_is_the_mean_of_its_values_over_the_steps() {
        // Four examples (steps 1..=4); the weight is updated by +2 at step
        // 2 and by -1 at step 4. Its values, from the initial one to after
        // each example: 0, 0, 2, 2, 1; mean 1.0 over the 5.
        let mut a = Averaged::default();
        a.add(2.0, 2.0);
        a.add(-1.0, 4.0);
        assert_eq!(a.w, 1.0);
        assert!((a.average(5.0) - 1.0).abs() < 1e-6, "{}", a.average(5.0));
        // +3 at step 1 of 2: values 0, 3, 3; mean 2.
        let mut b = Averaged::default();
        b.add(3.0, 1.0);
        assert!((b.average(3.0) - 2.0).abs() < 1e-6, "{}", b.average(3.0));
    }

    #[test]
    fn entities_label_their_words_and_mark_the_first() {
        let example = Example {
            text: "play some jazz music now".into(),
            intent: "PlayMusic".into(),
            entities: vec![crate::snips::Entity {
                slot: "genre".into(),
                start: 10,
                end: 20,
            }],
        };
        let (words, labels) = word_entities(&example);
        assert_eq!(words.len(), 5);
        assert_eq!(
            labels,
            [None, None, Some((0, true)), Some((0, false)), None]
        );
    }
}
