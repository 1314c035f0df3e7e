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

/// Words people put anywhere without meaning anything by them. Skipped
/// in utterances and optional in templates, so that "please dim the lamp"
/// matches "(would you please|please) dim the {device}" and "dim the
/// {device}" alike.
pub const FILLERS: [&str; 13] = [
    "please", "um", "umm", "uh", "uhm", "er", "erm", "ah", "hmm", "hey", "hark", "okay", "ok",
];

/// Whether a normalised word is a filler (see [`FILLERS`]).
pub fn is_filler(word: &str) -> bool {
    FILLERS.contains(&word)
}

/// The words of a phrase in the form templates and utterances are
/// compared in: folded, punctuation dropped, hyphenated compounds split
/// ("light-roast" → light, roast), whole numbers in words ("12-ounce" →
/// twelve, ounce; "1,500" → one thousand five hundred), `%` → percent,
/// `+` → plus, `×`/`*` → times. Speech-to-text writes the same words
/// either way; after this they are equal.
pub fn normalise(phrase: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in words(phrase) {
        let f = fold(w.text);
        match f.as_str() {
            "%" => out.push("percent".into()),
            "+" => out.push("plus".into()),
            "×" | "*" => out.push("times".into()),
            _ if is_punctuation(&f) => {}
            _ => {
                // "10%" → ten, percent; trailing dots of "p.m." stay.
                let (body, percent) = match f.strip_suffix('%') {
                    Some(number) => (number, true),
                    None => (f.as_str(), false),
                };
                if body.starts_with('-') && body[1..].starts_with(|c: char| c.is_ascii_digit()) {
                    out.push(body.to_string()); // "-3": a negative number
                    continue;
                }
                for piece in body
                    .split(['-', '\u{2010}', '\u{2013}'])
                    .filter(|p| !p.is_empty())
                {
                    match crate::values::whole_number(piece).and_then(crate::values::integer_words)
                    {
                        Some(number) => out.extend(number.split(' ').map(String::from)),
                        None => out.push(piece.to_string()),
                    }
                }
                if percent {
                    out.push("percent".into());
                }
            }
        }
    }
    out
}

/// Whether a transcript repeats itself as a looping decoder does: a
/// character eight times in a row ("........"), or the same one to six
/// words three times in a row ("1 1 1", "turn on the lamp turn on the
/// lamp turn on the lamp"). People rarely say either.
pub fn repeats_itself(transcript: &str) -> bool {
    let mut run = 0;
    let mut last = None;
    for c in transcript.chars().filter(|c| !c.is_whitespace()) {
        run = if Some(c) == last { run + 1 } else { 1 };
        last = Some(c);
        if run >= 8 {
            return true;
        }
    }
    let words = normalise(transcript);
    (1..=6).any(|n| {
        (0..words.len().saturating_sub(3 * n - 1)).any(|start| {
            let phrase = &words[start..start + n];
            words[start + n..start + 2 * n] == *phrase
                && words[start + 2 * n..start + 3 * n] == *phrase
        })
    })
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
    fn normalised_words_read_digits_compounds_and_symbols_alike() {
        assert_eq!(
            normalise("A 12-ounce, light-roast latte!"),
            ["a", "twelve", "ounce", "light", "roast", "latte"]
        );
        assert_eq!(normalise("10 of clubs"), ["ten", "of", "clubs"]);
        assert_eq!(
            normalise("Set it to 50%."),
            ["set", "it", "to", "fifty", "percent"]
        );
        assert_eq!(
            normalise("1,500 + 3.5"),
            ["one", "thousand", "five", "hundred", "plus", "3.5"]
        );
        assert_eq!(normalise("7:30 p.m."), ["7:30", "p.m"]);
        assert_eq!(normalise("twenty-five"), ["twenty", "five"]);
        assert!(is_filler("please") && !is_filler("milk"));
    }

    #[test]
    fn a_looping_transcript_repeats_itself() {
        // What whisper tiny.en wrote for a 1.6 s "turn on the living room
        // lamp" with a shrunk audio context (the issue's report).
        assert!(repeats_itself(
            "T nap On The Living Room Love........ turn on The Living Room Lam Senior Computer"
        ));
        assert!(repeats_itself("1. Christine one. 1. i f 1 1 1. 1"));
        assert!(repeats_itself(
            "turn on the lamp turn on the lamp turn on the lamp"
        ));
        assert!(!repeats_itself("Can I get a large latte with milk?"));
        assert!(!repeats_itself("one, two, three. Wait..."));
        assert!(!repeats_itself("no, no"));
    }

    #[test]
    fn spans_point_into_the_text() {
        let s = "  Turn ON  the lights.";
        for w in words(s) {
            assert_eq!(&s[w.start..w.end], w.text);
        }
    }
}
