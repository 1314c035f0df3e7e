//! Scoring a model on annotated examples: intent accuracy, slot
//! precision / recall / F1 (exact spans, per slot and micro-averaged, as
//! conlleval counts them) and the time per utterance.

use std::{collections::BTreeMap, time::Instant};

use hark_sdk::Error;
use serde::Serialize;

use crate::{
    learned::{word_entities, Encoded, Featurizer, Model, Prediction},
    snips::Example,
};

/// Counts of one slot.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct SlotCounts {
    /// Predicted spans that are right (name and words).
    pub true_positives: usize,
    /// Predicted spans that are not in the annotation.
    pub false_positives: usize,
    /// Annotated spans that were not predicted.
    pub false_negatives: usize,
}

impl SlotCounts {
    /// Precision, recall, F1 (0 when undefined).
    pub fn scores(&self) -> (f64, f64, f64) {
        let tp = self.true_positives as f64;
        let p = tp / (self.true_positives + self.false_positives).max(1) as f64;
        let r = tp / (self.true_positives + self.false_negatives).max(1) as f64;
        let f = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        (p, r, f)
    }
}

/// The outcome of [`evaluate`].
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Utterances scored.
    pub utterances: usize,
    /// Share of utterances whose best intent is right.
    pub intent_accuracy: f64,
    /// Micro-averaged slot precision.
    pub slot_micro_precision: f64,
    /// Micro-averaged slot recall.
    pub slot_micro_recall: f64,
    /// Micro-averaged slot F1.
    pub slot_micro_f1: f64,
    /// Counts per slot.
    pub slots: BTreeMap<String, SlotCounts>,
    /// Median time per utterance (encode + classify + tag), in ms.
    pub latency_p50_ms: f64,
    /// 99th percentile of the time per utterance, in ms.
    pub latency_p99_ms: f64,
    /// The encoder format used.
    pub encoder_format: String,
}

/// One utterance's predictions, for comparisons between encoders.
pub struct Scored {
    /// The model's output.
    pub prediction: Prediction,
    /// The dense features it came from.
    pub encoded: Encoded,
}

/// Scores `model` on `examples` with `featurizer`'s encoder.
pub fn evaluate(
    featurizer: &Featurizer,
    model: &Model,
    examples: &[Example],
) -> Result<(Report, Vec<Scored>), Error> {
    let mut correct = 0usize;
    let mut slots: BTreeMap<String, SlotCounts> = BTreeMap::new();
    let mut times = Vec::with_capacity(examples.len());
    let mut scored = Vec::with_capacity(examples.len());
    for e in examples {
        let (words, labels) = word_entities(e);
        let raw: Vec<&str> = words.iter().map(|w| w.text).collect();
        let started = Instant::now();
        let encoded = featurizer.encode(&raw)?;
        let prediction = model.predict(&encoded, &raw);
        times.push(started.elapsed().as_secs_f64() * 1e3);
        if prediction.intents[0].0 == e.intent {
            correct += 1;
        }
        // Gold spans in words.
        let mut gold: Vec<(String, usize, usize)> = Vec::new();
        for (i, l) in labels.iter().enumerate() {
            if let Some((entity, first)) = l {
                if *first {
                    gold.push((e.entities[*entity].slot.clone(), i, i + 1));
                } else if let Some(last) = gold.last_mut() {
                    last.2 = i + 1;
                }
            }
        }
        for span in &prediction.slots {
            let c = slots.entry(span.0.clone()).or_default();
            if gold.contains(span) {
                c.true_positives += 1;
            } else {
                c.false_positives += 1;
            }
        }
        for span in &gold {
            if !prediction.slots.contains(span) {
                slots.entry(span.0.clone()).or_default().false_negatives += 1;
            }
        }
        scored.push(Scored {
            prediction,
            encoded,
        });
    }
    let total = slots
        .values()
        .fold(SlotCounts::default(), |a, c| SlotCounts {
            true_positives: a.true_positives + c.true_positives,
            false_positives: a.false_positives + c.false_positives,
            false_negatives: a.false_negatives + c.false_negatives,
        });
    let (p, r, f) = total.scores();
    times.sort_by(f64::total_cmp);
    let percentile = |q: f64| -> f64 {
        if times.is_empty() {
            return 0.0;
        }
        times[((times.len() - 1) as f64 * q).round() as usize]
    };
    let report = Report {
        utterances: examples.len(),
        intent_accuracy: correct as f64 / examples.len().max(1) as f64,
        slot_micro_precision: p,
        slot_micro_recall: r,
        slot_micro_f1: f,
        slots,
        latency_p50_ms: percentile(0.5),
        latency_p99_ms: percentile(0.99),
        encoder_format: featurizer.format.clone(),
    };
    Ok((report, scored))
}
