//! The slot tagger: emission scores from word vectors and word features,
//! and BIO-consistent Viterbi decoding; the same code scores predictions
//! and training steps.

use std::collections::HashMap;

use hark_minilm::DIM;

use super::{Encoded, Model, TOKEN_SCALE};
use crate::features;

/// BIO view of a tag.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Bio {
    Outside,
    Begin(u16),
    Inside(u16),
}

/// The BIO view of tag index `tag`: `O`, then `B-slot`, `I-slot` for
/// every slot in order.
pub(super) fn bio(tag: usize) -> Bio {
    if tag == 0 {
        Bio::Outside
    } else if tag % 2 == 1 {
        Bio::Begin(((tag - 1) / 2) as u16)
    } else {
        Bio::Inside(((tag - 1) / 2) as u16)
    }
}

pub(super) fn token_features(
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

pub(super) fn tag_words(
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
    viterbi(model.tags.len(), &scores, allowed, &model.transitions)
}

/// The best BIO-consistent tag sequence over `t` tags: `emissions` is
/// `words × t`, `transitions` `(t + 1) × t` (from tag, or the start in the
/// last row, to tag); only `allowed` tags are considered, and `I-x` only
/// after `B-x` or `I-x`.
pub(super) fn viterbi(
    t: usize,
    emissions: &[f32],
    allowed: &[u16],
    transitions: &[f32],
) -> Vec<usize> {
    let n = emissions.len() / t;
    if n == 0 {
        return Vec::new();
    }
    let valid = |prev: Option<usize>, cur: usize| match bio(cur) {
        Bio::Inside(s) => {
            matches!(prev.map(bio), Some(Bio::Begin(p) | Bio::Inside(p)) if p == s)
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

/// A weight of the tagger: final (`f32`) or being trained ([`Averaged`]).
pub(super) trait Weight {
    fn value(&self) -> f32;
}

impl Weight for f32 {
    fn value(&self) -> f32 {
        *self
    }
}

/// Emission scores `words × tags` (only `allowed` tags are filled, the
/// rest stay −∞), from dense weights (`tags × DIM`) and sparse ones
/// (feature → (tag, weight)): the same code for prediction and training.
pub(super) fn emissions<W: Weight>(
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

#[cfg(test)]
mod tests {
    use super::*;

    // Tags: 0 = O, 1 = B-a, 2 = I-a, 3 = B-b, 4 = I-b.
    const T: usize = 5;

    fn emissions_of(rows: &[[f32; T]]) -> Vec<f32> {
        rows.iter().flatten().copied().collect()
    }

    #[test]
    fn tag_indices_read_as_bio() {
        assert!(bio(0) == Bio::Outside);
        assert!(bio(3) == Bio::Begin(1));
        assert!(bio(4) == Bio::Inside(1));
    }

    #[test]
    fn viterbi_follows_the_emissions_when_transitions_are_flat() {
        let e = emissions_of(&[
            [1.0, 5.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 5.0, 0.0, 0.0],
            [5.0, 0.0, 0.0, 0.0, 0.0],
        ]);
        let flat = vec![0.0; (T + 1) * T];
        assert_eq!(viterbi(T, &e, &[0, 1, 2, 3, 4], &flat), [1, 2, 0]);
    }

    #[test]
    fn an_inside_tag_never_follows_outside_or_another_slot() {
        // The second word prefers I-a, but the first is best as B-b: I-a
        // cannot follow B-b, so the path pays for a consistent choice.
        let e = emissions_of(&[[0.0, 2.0, 0.0, 3.0, 0.0], [0.0, 0.0, 4.0, 0.0, 0.0]]);
        let flat = vec![0.0; (T + 1) * T];
        assert_eq!(viterbi(T, &e, &[0, 1, 2, 3, 4], &flat), [1, 2]);
        // A sentence cannot start inside a slot.
        let e = emissions_of(&[[0.0, 0.0, 9.0, 0.0, 0.0]]);
        assert_ne!(viterbi(T, &e, &[0, 1, 2, 3, 4], &flat), [2]);
    }

    #[test]
    fn only_allowed_tags_compete() {
        let e = emissions_of(&[[0.0, 9.0, 0.0, 1.0, 0.0]]);
        let flat = vec![0.0; (T + 1) * T];
        assert_eq!(viterbi(T, &e, &[0, 3, 4], &flat), [3]);
        assert_eq!(viterbi(T, &[], &[0, 3, 4], &flat), Vec::<usize>::new());
    }

    #[test]
    fn emissions_fill_only_allowed_tags_and_add_sparse_weights() {
        let enc = Encoded {
            sentence: vec![0.0; DIM],
            words: vec![1.0; DIM],
        };
        let mut dense = vec![0.0f32; T * DIM];
        dense[DIM..2 * DIM].fill(1.0); // B-a
        let mut sparse = HashMap::new();
        sparse.insert(7u32, vec![(1u16, 0.5f32), (2, 9.0)]);
        let e = emissions(T, &enc, &[vec![7]], &[0, 1], &dense, &sparse);
        assert_eq!(e[0], 0.0);
        assert!((e[1] - (TOKEN_SCALE * DIM as f32 + 0.5)).abs() < 1e-3);
        assert!(
            e[2..].iter().all(|x| *x == f32::NEG_INFINITY),
            "{:?}",
            &e[2..]
        );
    }
}
