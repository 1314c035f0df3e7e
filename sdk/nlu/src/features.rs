//! Sparse features of an utterance (hashed strings) for the learned
//! classifier and tagger; the dense ones come from MiniLM.

use crate::text::{fold, is_punctuation};

/// A feature id: the FNV-1a hash of its name. Collisions are rare enough
/// at these vocabulary sizes (tens of thousands of names in 2^32) to be
/// harmless, and hashing keeps no dictionary in the model file.
pub fn id(kind: &str, value: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in kind.bytes().chain([0x1f]).chain(value.bytes()) {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Words folded for features; punctuation is kept (it is a word to the
/// tagger) but ignored by the sentence features.
pub fn folded(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| fold(w)).collect()
}

/// Features of a whole utterance: a bias, its words and word pairs.
pub fn sentence(words: &[String]) -> Vec<u32> {
    let content: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !is_punctuation(w))
        .collect();
    let mut f = vec![id("bias", "")];
    for (i, w) in content.iter().enumerate() {
        f.push(id("w", w));
        let prev = if i == 0 { "<s>" } else { content[i - 1] };
        f.push(id("b", &format!("{prev} {w}")));
    }
    if let Some(last) = content.last() {
        f.push(id("b", &format!("{last} </s>")));
    }
    f
}

fn shape(word: &str) -> &'static str {
    let digits = word.chars().filter(char::is_ascii_digit).count();
    if digits == word.chars().count() {
        "digits"
    } else if digits > 0 {
        "has-digit"
    } else if is_punctuation(word) {
        "punct"
    } else {
        "word"
    }
}

/// Features of word `i` for the tagger, given the utterance's intent.
pub fn token(words: &[String], raw: &[&str], i: usize, intent: &str) -> Vec<u32> {
    let at = |j: isize| -> &str {
        if j < 0 {
            "<s>"
        } else {
            words.get(j as usize).map_or("</s>", String::as_str)
        }
    };
    let i = i as isize;
    let w = at(i);
    let chars: Vec<char> = w.chars().collect();
    let suffix: String = chars[chars.len().saturating_sub(3)..].iter().collect();
    let prefix: String = chars[..chars.len().min(3)].iter().collect();
    let capital = raw[i as usize]
        .chars()
        .next()
        .is_some_and(char::is_uppercase);
    vec![
        id("bias", ""),
        id("i", intent),
        id("w0", w),
        id("w-1", at(i - 1)),
        id("w+1", at(i + 1)),
        id("w-2", at(i - 2)),
        id("w+2", at(i + 2)),
        id("w-1w0", &format!("{} {w}", at(i - 1))),
        id("w0w+1", &format!("{w} {}", at(i + 1))),
        id("w-2w-1", &format!("{} {}", at(i - 2), at(i - 1))),
        id("suf", &suffix),
        id("pre", &prefix),
        id("shape", shape(w)),
        id("cap", if capital { "y" } else { "n" }),
        id("iw0", &format!("{intent} {w}")),
        id("iw-1", &format!("{intent} {}", at(i - 1))),
        id("iw+1", &format!("{intent} {}", at(i + 1))),
    ]
}
