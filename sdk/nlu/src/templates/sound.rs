//! Words that sound alike. Speech-to-text writes a near-homophone of the
//! word said when it does not expect the word ("moga" for mocha, "skin"
//! for skim, "rose" for roast, "clothes" for clubs); spelling distance
//! misses most of these.
//!
//! Words are compared by their Double Metaphone codes (rphonetic): an
//! English consonant skeleton, with an alternate code for words read two
//! ways. The same code is [`costs::SOUND_SAME`], codes one sound apart
//! [`costs::SOUND`]. Codes must start with the same sound and have two
//! sounds or more: a one-sound code ("a", "eye") says too little.

use rphonetic::DoubleMetaphone;

use super::costs::{SOUND, SOUND_SAME};

/// How a word sounds: its primary and alternate codes.
#[derive(Debug, Clone, Default)]
pub struct Sound {
    codes: Vec<String>,
}

impl Sound {
    /// The sound of a normalised word; words that are not plain letters
    /// (digits, `7:30`) have none.
    pub fn of(word: &str) -> Sound {
        if word.is_empty() || !word.chars().all(|c| c.is_ascii_alphabetic() || c == '\'') {
            return Sound::default();
        }
        let codes = DoubleMetaphone::new(None).double_metaphone(word);
        let (primary, alternate) = (codes.primary(), codes.alternate());
        let mut codes = vec![primary];
        if alternate != codes[0] {
            codes.push(alternate);
        }
        codes.retain(|c| c.len() >= 2);
        Sound { codes }
    }

    /// What reading `heard` as this word costs, if they sound alike.
    pub fn cost(&self, heard: &Sound) -> Option<u32> {
        let mut best = None;
        for a in &self.codes {
            for b in &heard.codes {
                if a.as_bytes()[0] != b.as_bytes()[0] {
                    continue;
                }
                let cost = match strsim::levenshtein(a, b) {
                    0 => SOUND_SAME,
                    1 => SOUND,
                    _ => continue,
                };
                best = Some(best.map_or(cost, |c: u32| c.min(cost)));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(expected: &str, heard: &str) -> Option<u32> {
        Sound::of(expected).cost(&Sound::of(heard))
    }

    #[test]
    fn mishearings_sound_like_the_word_said() {
        for (expected, heard) in [
            ("roast", "rose"),
            ("mocha", "moga"),
            ("mocha", "moko"),
            ("skim", "skin"),
            ("iced", "ice"),
            ("clubs", "close"),
            ("clubs", "clothes"),
            ("latte", "lot"),
        ] {
            assert!(
                cost(expected, heard).is_some(),
                "{heard:?} should sound like {expected:?}"
            );
        }
    }

    #[test]
    fn different_words_do_not() {
        for (expected, heard) in [
            ("milk", "cream"),
            ("large", "latte"),
            ("small", "medium"),
            ("sugar", "cream"),
            ("espresso", "americano"),
            ("a", "eye"),
            ("twelve", "12"),
        ] {
            assert_eq!(cost(expected, heard), None, "{heard:?} vs {expected:?}");
        }
    }
}
