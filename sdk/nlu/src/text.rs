//! Words of an utterance, with their byte spans: the unit both the
//! templates and the learned tagger work on.

/// A word of a text: `text[start..end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word<'a> {
    /// The word as written.
    pub text: &'a str,
    /// Byte offset of its first byte.
    pub start: usize,
    /// Byte offset one past its end.
    pub end: usize,
}

/// Whitespace-separated words, with punctuation at either end of a chunk
/// split off as words of their own (`"lights?"` → `lights`, `?`), and
/// punctuation inside a word kept (`7:30`, `what's`, `u.s.`).
pub fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut chunk_start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_whitespace(), chunk_start) {
            (false, None) => chunk_start = Some(i),
            (true, Some(s)) => {
                split_chunk(text, s, i, &mut out);
                chunk_start = None;
            }
            _ => {}
        }
    }
    out
}

fn split_chunk<'a>(text: &'a str, mut start: usize, mut end: usize, out: &mut Vec<Word<'a>>) {
    let mut trailing = Vec::new();
    while let Some(c) = text[start..end].chars().next_back() {
        if !is_edge_punctuation(c) || end - start == c.len_utf8() {
            break;
        }
        trailing.push(end - c.len_utf8());
        end -= c.len_utf8();
    }
    while let Some(c) = text[start..end].chars().next() {
        if !is_edge_punctuation(c) || end - start == c.len_utf8() {
            break;
        }
        out.push(word(text, start, start + c.len_utf8()));
        start += c.len_utf8();
    }
    out.push(word(text, start, end));
    for s in trailing.into_iter().rev() {
        let c_len = text[s..].chars().next().map_or(1, char::len_utf8);
        out.push(word(text, s, s + c_len));
    }
}

fn word(text: &str, start: usize, end: usize) -> Word<'_> {
    Word {
        text: &text[start..end],
        start,
        end,
    }
}

fn is_edge_punctuation(c: char) -> bool {
    !c.is_alphanumeric() && !matches!(c, '#' | '@' | '&')
}

/// Whether a word is punctuation only.
pub fn is_punctuation(word: &str) -> bool {
    word.chars().all(|c| !c.is_alphanumeric())
}

/// The form words are compared in: lower case, typographic apostrophes
/// made plain.
pub fn fold(word: &str) -> String {
    word.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<&str> {
        words(s).into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn punctuation_at_the_edges_is_split_off() {
        assert_eq!(
            texts("Set a timer, please!  What's 7:30?"),
            ["Set", "a", "timer", ",", "please", "!", "What's", "7:30", "?"]
        );
        assert_eq!(texts("(50%)"), ["(", "50", "%", ")"]);
        assert_eq!(texts("?"), ["?"]);
        assert_eq!(texts(""), Vec::<&str>::new());
    }

    #[test]
    fn spans_point_into_the_text() {
        let s = "  Turn ON  the lights.";
        for w in words(s) {
            assert_eq!(&s[w.start..w.end], w.text);
        }
    }
}
