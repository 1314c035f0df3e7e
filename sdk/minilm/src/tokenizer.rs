//! BERT's uncased WordPiece tokenizer, as all-MiniLM-L6-v2 was trained
//! with: clean, lower-case, strip accents, split on whitespace and
//! punctuation, then greedy longest-match word pieces (`##` marks a
//! continuation).

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

/// A vocabulary and the special tokens' ids.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    ids: HashMap<String, u32>,
    cls: u32,
    sep: u32,
    unk: u32,
}

/// Token ids of a text given as words, and where each word starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordPieces {
    /// `[CLS] pieces… [SEP]`.
    pub ids: Vec<u32>,
    /// For each word, the index in `ids` of its first piece (that of
    /// `[SEP]` for a word that was cut off).
    pub first_piece: Vec<usize>,
}

/// Words longer than this (in chars) become `[UNK]`, as in BERT.
const MAX_WORD: usize = 100;

impl Tokenizer {
    /// Reads `vocab.txt` (one token per line; the line number is the id).
    pub fn from_vocab(text: &str) -> Result<Tokenizer, String> {
        let ids: HashMap<String, u32> = text
            .lines()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i as u32))
            .collect();
        let special = |t: &str| {
            ids.get(t)
                .copied()
                .ok_or_else(|| format!("the vocabulary has no {t} token"))
        };
        Ok(Tokenizer {
            cls: special("[CLS]")?,
            sep: special("[SEP]")?,
            unk: special("[UNK]")?,
            ids,
        })
    }

    /// `[CLS] pieces… [SEP]`, at most `max` ids in all.
    pub fn encode(&self, text: &str, max: usize) -> Vec<u32> {
        let mut out = vec![self.cls];
        'words: for word in split_words(&normalize(text)) {
            for id in self.word_pieces(&word) {
                if out.len() + 1 >= max {
                    break 'words;
                }
                out.push(id);
            }
        }
        out.push(self.sep);
        out
    }

    /// Like [`Tokenizer::encode`] for text already split into `words`,
    /// keeping track of where each word's pieces start (a tagger labels
    /// words by their first piece, as BERT taggers do).
    pub fn encode_words<S: AsRef<str>>(&self, words: &[S], max: usize) -> WordPieces {
        let mut ids = vec![self.cls];
        let mut first_piece = Vec::with_capacity(words.len());
        let mut full = false;
        for word in words {
            let start = ids.len();
            for piece in split_words(&normalize(word.as_ref())) {
                for id in self.word_pieces(&piece) {
                    if ids.len() + 1 >= max {
                        full = true;
                        break;
                    }
                    ids.push(id);
                }
            }
            // A word with no pieces (only control characters) or cut off
            // by `max` borrows the position of `[SEP]`.
            first_piece.push(if full || ids.len() == start {
                None
            } else {
                Some(start)
            });
        }
        let sep = ids.len();
        ids.push(self.sep);
        WordPieces {
            first_piece: first_piece.into_iter().map(|p| p.unwrap_or(sep)).collect(),
            ids,
        }
    }

    fn word_pieces(&self, word: &str) -> Vec<u32> {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() > MAX_WORD {
            return vec![self.unk];
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while start < end {
                let mut piece: String = chars[start..end].iter().collect();
                if start > 0 {
                    piece.insert_str(0, "##");
                }
                if let Some(&id) = self.ids.get(&piece) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => pieces.push(id),
                None => return vec![self.unk],
            }
            start = end;
        }
        pieces
    }
}

/// Lower-case, accents stripped (NFD without combining marks), control
/// characters dropped, whitespace unified.
fn normalize(text: &str) -> String {
    text.to_lowercase()
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .filter(|c| !c.is_control() || c.is_whitespace())
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect()
}

fn is_combining_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036f | 0x1ab0..=0x1aff | 0x1dc0..=0x1dff | 0x20d0..=0x20ff | 0xfe20..=0xfe2f)
}

/// BERT's punctuation: ASCII symbols, and Unicode punctuation.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c as u32, 0x2000..=0x206f | 0x3000..=0x303f | 0xff00..=0xff0f | 0xa1..=0xbf)
}

/// Whitespace-separated words, with each punctuation character a word of
/// its own.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for chunk in text.split_whitespace() {
        let mut current = String::new();
        for c in chunk.chars() {
            if is_punctuation(c) {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
                words.push(c.to_string());
            } else {
                current.push(c);
            }
        }
        if !current.is_empty() {
            words.push(current);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Tokenizer {
        let tokens = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "turn", "on", "the", "kitchen", "light", "##s",
            "!", "cafe", "un", "##aff", "##able",
        ];
        Tokenizer::from_vocab(&tokens.join("\n")).unwrap()
    }

    #[test]
    fn words_split_into_the_longest_pieces() {
        let t = vocab();
        // [CLS] turn on the kitchen light ##s ! [SEP]
        assert_eq!(
            t.encode("Turn on the Kitchen lights!", 32),
            [2, 4, 5, 6, 7, 8, 9, 10, 3]
        );
        assert_eq!(t.encode("unaffable", 32), [2, 12, 13, 14, 3]);
    }

    #[test]
    fn accents_are_stripped_and_unknown_words_are_unk() {
        let t = vocab();
        assert_eq!(t.encode("Café zzz", 32), [2, 11, 1, 3]);
    }

    #[test]
    fn words_know_their_first_piece() {
        let t = vocab();
        let w = t.encode_words(&["Turn", "lights!", "unaffable"], 32);
        // [CLS] turn light ##s ! un ##aff ##able [SEP]
        assert_eq!(w.ids, [2, 4, 8, 9, 10, 12, 13, 14, 3]);
        assert_eq!(w.first_piece, [1, 2, 5]);
        let cut = t.encode_words(&["turn", "on", "the"], 4);
        assert_eq!(cut.ids, [2, 4, 5, 3]);
        assert_eq!(cut.first_piece, [1, 2, 3]);
    }

    #[test]
    fn long_input_is_truncated_keeping_sep() {
        let t = vocab();
        let ids = t.encode("the the the the the the", 4);
        assert_eq!(ids, [2, 6, 6, 3]);
    }
}
