//! Measures: word errors, slot comparisons, percentiles, and the signs of
//! a transcript that went wrong (a decoder loop, a broken character).
//!
//! Words and values are compared as the templates compare them
//! ([`hark_nlu::text::normalise`]): case, punctuation, hyphens and digits
//! versus number words do not count as errors ("12-ounce" is "twelve
//! ounce").

use hark_nlu::text::normalise;

/// Word edits (substitutions, insertions, deletions) from `reference` to
/// `hypothesis`, and the number of reference words.
pub fn word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let r = normalise(reference);
    let h = normalise(hypothesis);
    let mut previous: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut current = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let substitution = previous[j] + usize::from(rw != hw);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    (previous[h.len()], r.len())
}

/// Whether two slot values say the same thing.
pub fn same_value(expected: &str, got: &str) -> bool {
    normalise(expected) == normalise(got)
}

/// The `p`-th percentile (0..=100) of `values` by nearest rank; `None`
/// when there are none.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// What is wrong with a transcript on its face, if anything: a character
/// that could not be decoded (U+FFFD), or a phrase repeated over and over
/// (a decoder caught in a loop, [`hark_nlu::text::repeats_itself`]).
pub fn defect(transcript: &str) -> Option<Defect> {
    if transcript.contains('\u{FFFD}') {
        Some(Defect::BrokenCharacter)
    } else if hark_nlu::text::repeats_itself(transcript) {
        Some(Defect::Loop)
    } else {
        None
    }
}

/// A transcript's defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Defect {
    /// U+FFFD: bytes that are not UTF-8.
    BrokenCharacter,
    /// Words or characters repeated as a looping decoder does.
    Loop,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_errors_ignore_case_punctuation_and_how_numbers_are_written() {
        assert_eq!(
            word_errors("a twelve ounce latte", "A 12-ounce latte."),
            (0, 4)
        );
        assert_eq!(word_errors("turn on the lamp", "turn the lamp on"), (2, 4));
        assert_eq!(word_errors("one two", ""), (2, 2));
        assert_eq!(word_errors("", "extra"), (1, 0));
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 95.0), Some(95.0));
        assert_eq!(percentile(&[3.0], 95.0), Some(3.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn loops_and_broken_characters_are_defects() {
        // The two transcripts the issue reports from whisper tiny.en.
        assert_eq!(
            defect("T nap On The Living Room Love........ turn on The Living Room Lam"),
            Some(Defect::Loop)
        );
        assert_eq!(
            defect("1. \u{FFFD} Christine one. 1. i f 1 1 1. 1"),
            Some(Defect::BrokenCharacter)
        );
        assert_eq!(defect("one one one"), Some(Defect::Loop));
        assert_eq!(defect("Can I get a large latte with milk?"), None);
        assert_eq!(defect("one, two, three."), None);
    }
}
