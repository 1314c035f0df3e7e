//! Slot values seen in training, found again in new text: a feature for
//! the classifier and the tagger.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::features;

/// Slot values seen in training (folded words joined by spaces), with
/// how often each was seen as which slot. A match is a feature for both
/// the classifier ("this names a playlist") and the tagger.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Gazetteer {
    /// Value → (slot index, times seen).
    pub(super) values: HashMap<String, Vec<(u16, u32)>>,
    /// Longest value, in words.
    pub(super) max_words: usize,
}

/// Longest value the gazetteer looks for, in words.
pub(super) const GAZETTEER_MAX_WORDS: usize = 8;

impl Gazetteer {
    /// Values in `words` as (first word, one past the last, slot).
    /// `own` lists the example's own slot values when featurising
    /// training data: a value seen only there does not count (leave one
    /// out), so that the learner sees the gazetteer as unreliable as it
    /// is on new text.
    pub(super) fn matches(
        &self,
        words: &[String],
        own: &[(String, u16)],
    ) -> Vec<(usize, usize, u16)> {
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
    pub(super) fn sentence_features(&self, matches: &[(usize, usize, u16)], out: &mut Vec<u32>) {
        for &(start, end, slot) in matches {
            out.push(features::id("gz", &slot.to_string()));
            if end - start > 1 {
                out.push(features::id("gz+", &slot.to_string()));
            }
        }
    }

    /// Word features: the word begins or continues a value of a slot.
    pub(super) fn token_features(&self, matches: &[(usize, usize, u16)], tokens: &mut [Vec<u32>]) {
        for &(start, end, slot) in matches {
            let long = if end - start > 1 { "+" } else { "" };
            for (i, t) in tokens.iter_mut().enumerate().take(end).skip(start) {
                let place = if i == start { "B" } else { "I" };
                t.push(features::id("gzt", &format!("{place}{long}{slot}")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_string).collect()
    }

    fn gazetteer() -> Gazetteer {
        let mut g = Gazetteer {
            values: HashMap::new(),
            max_words: 3,
        };
        g.values.insert("new york".into(), vec![(0, 2)]);
        g.values.insert("jazz".into(), vec![(1, 1)]);
        g
    }

    #[test]
    fn values_are_found_with_their_span_and_slot() {
        let found = gazetteer().matches(&words("play jazz in new york"), &[]);
        assert_eq!(found, [(1, 2, 1), (3, 5, 0)]);
    }

    #[test]
    fn a_value_seen_only_in_the_example_itself_does_not_count() {
        let g = gazetteer();
        let own = [("jazz".to_string(), 1u16)];
        assert_eq!(g.matches(&words("play jazz"), &own), []);
        let own = [("new york".to_string(), 0u16)];
        assert_eq!(
            g.matches(&words("to new york"), &own),
            [(1, 3, 0)],
            "seen twice, once elsewhere"
        );
    }

    #[test]
    fn features_mark_the_first_and_following_words() {
        let g = gazetteer();
        let found = g.matches(&words("new york"), &[]);
        let mut tokens = vec![Vec::new(), Vec::new()];
        g.token_features(&found, &mut tokens);
        assert_eq!(tokens[0], [features::id("gzt", "B+0")]);
        assert_eq!(tokens[1], [features::id("gzt", "I+0")]);
        let mut sentence = Vec::new();
        g.sentence_features(&found, &mut sentence);
        assert_eq!(
            sentence,
            [features::id("gz", "0"), features::id("gz+", "0")]
        );
    }
}
