//! What Hark does to whisper.cpp's decoder at every step, through its
//! logits filter: break loops, and steer towards a grammar.
//!
//! **Loops.** With a shrunk audio context, whisper tiny.en sometimes says
//! the whole utterance again and again ("Give me a large cappuccino with
//! sugar. Give me a large cappuccino with sugar. Give me a large ca")
//! until its token limit: the first sentence is right, the rest is the
//! decoder not finding the end. When the tokens after a sentence's end
//! start that sentence over, the decoder is made to stop (only the
//! end-of-text token is left); the fragment is dropped from the text.
//!
//! **Grammar.** The tokens whose text cannot continue a sentence of the
//! grammar lose `penalty` from their logit (the technique of whisper.cpp's
//! `command` example). A soft penalty steers: "moga" becomes "mocha" when
//! the audio allows it, while speech the grammar does not cover is still
//! written down. Once the text so far has left the grammar, decoding is
//! free.
//!
//! whisper.cpp has grammars built in, but not usable from here: whisper-rs
//! 0.16's `FullParams::set_grammar` hands whisper.cpp one flat array of
//! elements where it expects an array of rules (whisper.cpp would read
//! elements as pointers), and its own implementation tries each of the
//! 51,864 tokens against the grammar at every step. Hark runs the same
//! kind of grammar (GBNF elements, [`hark_nlu::templates::Grammar`])
//! through the logits filter instead, walking a trie of the vocabulary
//! alongside the grammar so that only tokens that fit are visited.

use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

use hark_nlu::templates::{Grammar, GrammarState, StateKey};
use parking_lot::Mutex;
use whisper_rs::{WhisperContext, WhisperSysContext, WhisperSysState, WhisperTokenData};

/// The vocabulary's text tokens in a trie of characters.
pub struct TokenTrie {
    nodes: Vec<TrieNode>,
    /// Text tokens are `0..eot`.
    eot: usize,
}

#[derive(Default)]
struct TrieNode {
    children: Vec<(char, u32)>,
    /// Tokens whose text ends here.
    tokens: Vec<u32>,
}

impl TokenTrie {
    /// The text tokens of `model`'s vocabulary. Tokens that are not whole
    /// UTF-8 (pieces of a character) are left out: a grammar never asks
    /// for them.
    pub fn of(model: &WhisperContext) -> TokenTrie {
        let eot = model.token_eot() as usize;
        let texts = (0..eot).map(|id| {
            model
                .token_to_bytes(id as i32)
                .ok()
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .unwrap_or("")
        });
        TokenTrie::from_texts(texts)
    }

    /// The trie of a vocabulary given as each token's text, in token
    /// order; empty texts are left out.
    fn from_texts<'t>(texts: impl ExactSizeIterator<Item = &'t str>) -> TokenTrie {
        let mut trie = TokenTrie {
            nodes: vec![TrieNode::default()],
            eot: texts.len(),
        };
        for (id, text) in texts.enumerate() {
            if text.is_empty() {
                continue;
            }
            let mut node = 0usize;
            for c in text.chars() {
                node = match trie.nodes[node].children.iter().find(|(k, _)| *k == c) {
                    Some(&(_, child)) => child as usize,
                    None => {
                        trie.nodes.push(TrieNode::default());
                        let child = trie.nodes.len() - 1;
                        trie.nodes[node].children.push((c, child as u32));
                        child
                    }
                };
            }
            trie.nodes[node].tokens.push(id as u32);
        }
        trie
    }

    /// Marks in `allowed` every token whose text the grammar takes from
    /// `state` on.
    fn allow(&self, node: usize, state: &GrammarState<'_>, allowed: &mut [bool]) {
        for &(c, child) in &self.nodes[node].children {
            let next = state.accept(c);
            if next.is_dead() {
                continue;
            }
            let child = child as usize;
            for &t in &self.nodes[child].tokens {
                allowed[t as usize] = true;
            }
            self.allow(child, &next, allowed);
        }
    }
}

/// The grammar to steer by, its vocabulary trie, and how hard.
pub struct Steer<'a> {
    pub grammar: &'a Grammar,
    pub trie: &'a TokenTrie,
    pub penalty: f32,
    /// What the trie walk found from states met before.
    pub masks: &'a Masks,
}

/// The tokens a grammar allows from each state met so far: the walk of
/// the vocabulary costs tens of milliseconds where many words may come
/// (the start of a sentence of a large domain, a number), and the same
/// states come back utterance after utterance. Kept for one grammar.
#[derive(Default)]
pub struct Masks {
    by_state: Mutex<HashMap<StateKey, Arc<[u32]>>>,
}

impl Masks {
    /// States remembered at most; then the memory starts again (a
    /// bounded cost, whatever people say).
    const CAPACITY: usize = 4096;

    /// The tokens `trie` allows from `state`, walked once per state.
    fn allowed(&self, trie: &TokenTrie, state: &GrammarState<'_>) -> Arc<[u32]> {
        let key = state.key();
        if let Some(found) = self.by_state.lock().get(&key) {
            return Arc::clone(found);
        }
        let mut allowed = vec![false; trie.eot];
        trie.allow(0, state, &mut allowed);
        let tokens: Arc<[u32]> = (0..trie.eot as u32)
            .filter(|&t| allowed[t as usize])
            .collect();
        let mut by_state = self.by_state.lock();
        if by_state.len() >= Self::CAPACITY {
            by_state.clear();
        }
        by_state.insert(key, Arc::clone(&tokens));
        tokens
    }
}

/// What the logits filter needs: lent to whisper.cpp as user data for
/// the length of one `full` call.
pub struct Filter<'a> {
    /// The model, to read the tokens' text.
    pub model: &'a WhisperContext,
    /// Text tokens are `0..eot`; `eot` ends the text.
    pub eot: usize,
    /// Stop a decoder that starts its last sentence over.
    pub break_loops: bool,
    pub steer: Option<Steer<'a>>,
}

impl Filter<'_> {
    /// Adjusts `logits` for the next token after `tokens` (this
    /// decoder's tokens so far).
    pub fn apply(&self, tokens: &[i32], logits: &mut [f32]) {
        let texts: Vec<&[u8]> = tokens
            .iter()
            .filter(|&&t| (t as usize) < self.eot)
            .map(|&t| self.model.token_to_bytes(t).unwrap_or(&[]))
            .collect();
        if self.break_loops && starts_over(&texts) {
            for (i, logit) in logits.iter_mut().enumerate() {
                if i != self.eot {
                    *logit = f32::NEG_INFINITY;
                }
            }
            return;
        }
        let Some(steer) = &self.steer else {
            return;
        };
        let text = texts.concat();
        let Ok(text) = std::str::from_utf8(&text) else {
            return; // a character in pieces: not a sentence of the grammar
        };
        let Some(state) = resynchronised(steer.grammar, text) else {
            return; // left the grammar
        };
        if state.is_open() {
            return; // anything goes here
        }
        let mut allowed = vec![false; steer.trie.eot];
        for &t in steer.masks.allowed(steer.trie, &state).iter() {
            allowed[t as usize] = true;
        }
        for (logit, ok) in logits.iter_mut().zip(&allowed) {
            if !ok {
                *logit -= steer.penalty;
            }
        }
        // Ending here is one more thing the grammar may have no place
        // for: "Can I have an ice" is not an order, "... an iced mocha" is.
        if !state.is_complete() {
            logits[self.eot] -= steer.penalty;
        }
    }
}

/// Words a decode may have that the grammar has no place for ("Make me
/// an A-down's triple shot..."): each is skipped, and steering goes on
/// after it, as the templates' matcher skips a stray word. Past this many
/// the speech is not in the grammar, and decoding is left free.
const MAX_STRAY_WORDS: usize = 2;

/// Where `text`, being written, stands in `grammar`, skipping up to
/// [`MAX_STRAY_WORDS`] whole words it has no place for; `None` when the
/// text has left the grammar (more stray words, or the word being written
/// is one).
fn resynchronised<'g>(grammar: &'g Grammar, text: &str) -> Option<GrammarState<'g>> {
    read(grammar, text, false).map(|(state, _)| state)
}

/// How well a finished transcript fits `grammar`: whether it is a whole
/// sentence of it, and how many stray words it has; `None` when it left
/// the grammar.
pub fn fit(grammar: &Grammar, text: &str) -> Option<Fit> {
    read(grammar, text, true).map(|(state, stray_words)| Fit {
        complete: state.is_complete(),
        stray_words,
    })
}

/// How well a transcript fits a grammar (see [`fit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    pub complete: bool,
    pub stray_words: usize,
}

impl Fit {
    /// Whether a transcript that fits as `self` fits better than one that
    /// fits as `other`: a whole sentence before a part of one, then fewer
    /// stray words.
    pub fn better_than(self, other: Option<Fit>) -> bool {
        match other {
            None => true,
            Some(o) => {
                (self.complete, std::cmp::Reverse(self.stray_words))
                    > (o.complete, std::cmp::Reverse(o.stray_words))
            }
        }
    }
}

/// `text` read through `grammar` word by word, stray words skipped;
/// `finished`: the last word is whole (it may be stray too).
fn read<'g>(grammar: &'g Grammar, text: &str, finished: bool) -> Option<(GrammarState<'g>, usize)> {
    let mut state = grammar.start();
    let mut stray = 0;
    let pieces = words_with_spaces(text);
    for (i, piece) in pieces.iter().enumerate() {
        let writing = i + 1 == pieces.len() && !finished;
        let next = state.accept_str(piece);
        // A whole word must end where a grammar word ends: "ice" is the
        // start of "iced", not a word of the grammar.
        let fits =
            !next.is_dead() && (writing || next.is_complete() || !next.accept(' ').is_dead());
        if fits {
            state = next;
            continue;
        }
        stray += 1;
        if writing || stray > MAX_STRAY_WORDS {
            return None; // writing a word with no place, or too many
        }
    }
    Some((state, stray))
}

/// `text` cut before each space that follows a word: " Make me, an" →
/// " Make", " me,", " an" (a trailing space is a piece of its own).
fn words_with_spaces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut in_word) = (0, false);
    for (i, c) in text.char_indices() {
        if c.is_whitespace() && in_word {
            pieces.push(&text[start..i]);
            start = i;
        }
        in_word = !c.is_whitespace();
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// Whether the tokens after the last sentence end repeat the start of
/// the sentence before it, two tokens or more: a decoder saying the same
/// sentence again.
fn starts_over(tokens: &[&[u8]]) -> bool {
    let ends_sentence = |t: &[u8]| {
        let t = t.trim_ascii_end();
        matches!(t.last(), Some(b'.' | b'?' | b'!'))
    };
    let ends: Vec<usize> = (0..tokens.len())
        .filter(|&i| ends_sentence(tokens[i]))
        .map(|i| i + 1)
        .collect();
    let Some(&last_end) = ends.last() else {
        return false;
    };
    let begun = &tokens[last_end..];
    let previous_start = ends.len().checked_sub(2).map_or(0, |i| ends[i]);
    let previous = &tokens[previous_start..last_end];
    begun.len() >= 2 && begun.len() < previous.len() && previous.starts_with(begun)
}

/// whisper.cpp's logits filter callback; `user_data` is a [`Filter`].
///
/// # Safety
/// whisper.cpp calls it during `whisper_full` with `logits` of the
/// vocabulary's size, `tokens` of `n_tokens`, and the user data the
/// params were given: a `Filter` that outlives the call.
pub unsafe extern "C" fn filter_logits(
    _ctx: *mut WhisperSysContext,
    _state: *mut WhisperSysState,
    tokens: *const WhisperTokenData,
    n_tokens: c_int,
    logits: *mut f32,
    user_data: *mut c_void,
) {
    if user_data.is_null() || logits.is_null() {
        return;
    }
    // SAFETY: as documented above; a panic must not cross into C.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
        let filter = &*(user_data as *const Filter<'_>);
        let tokens: Vec<i32> = if tokens.is_null() || n_tokens <= 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(tokens, n_tokens as usize)
                .iter()
                .map(|t| t.id)
                .collect()
        };
        // The text tokens and end-of-text: the rest (timestamps, other
        // special tokens) are whisper.cpp's business.
        let logits = std::slice::from_raw_parts_mut(logits, filter.eot + 1);
        filter.apply(&tokens, logits);
    }));
}

#[cfg(test)]
mod tests {
    use super::{resynchronised, starts_over};
    use hark_nlu::templates::Templates;

    #[test]
    fn steering_goes_on_after_a_stray_word() {
        let templates = Templates::parse(
            r#"(lists: {"drink": ["latte", "mocha"], "size": ["large", "eight ounce"]},
                intents: {"order": ["make me a [{size}] {drink}"]})"#,
        )
        .unwrap();
        let grammar = templates.grammar();
        let state = resynchronised(&grammar, " Make me a large").unwrap();
        assert!(!state.is_complete());
        // "A-down's" has no place; after it the drink is still expected.
        let state = resynchronised(&grammar, " Make me a A-down's mo").unwrap();
        assert!(state.accept_str("cha").is_complete());
        assert!(resynchronised(&grammar, " Make me a A-down's").is_none());
        // A word that only begins a grammar word is stray too.
        let fits = super::fit(&grammar, " Make me a large moc latte.").unwrap();
        assert_eq!((fits.complete, fits.stray_words), (true, 1));
        assert!(resynchronised(&grammar, " What is the weather like in Paris").is_none());
    }

    #[test]
    fn the_tokens_a_state_allows_are_walked_once_and_remembered() {
        let templates = Templates::parse(
            r#"(lists: {"drink": ["latte", "mocha"]},
                intents: {"order": ["make me a {drink}", "a {drink} please"]})"#,
        )
        .unwrap();
        let grammar = templates.grammar();
        let vocabulary = [
            " Make", " make", " me", " a", " A", " lat", "te", " mo", "cha", " pizza",
        ];
        let trie = super::TokenTrie::from_texts(vocabulary.into_iter());
        let masks = super::Masks::default();
        let allowed = |text: &str| {
            let found = masks.allowed(&trie, &grammar.start().accept_str(text));
            found
                .iter()
                .map(|&t| vocabulary[t as usize])
                .collect::<Vec<_>>()
        };
        assert_eq!(allowed(""), [" Make", " make", " a", " A"]);
        assert_eq!(allowed(" Make me a"), [" lat", " mo"]);
        assert_eq!(allowed(" Make me a mo"), ["cha"]);
        assert_eq!(masks.by_state.lock().len(), 3);
        // The same state again is not walked again.
        let first = masks.allowed(&trie, &grammar.start());
        let again = masks.allowed(&trie, &grammar.start());
        assert!(std::sync::Arc::ptr_eq(&first, &again));
        assert_eq!(masks.by_state.lock().len(), 3);
    }

    #[test]
    fn words_keep_the_space_before_them() {
        assert_eq!(
            super::words_with_spaces(" Make me,  an"),
            [" Make", " me,", "  an"]
        );
        assert_eq!(super::words_with_spaces(" a "), [" a", " "]);
        assert!(super::words_with_spaces("").is_empty());
    }

    fn tokens(text: &[&'static str]) -> Vec<&'static [u8]> {
        text.iter().map(|t| t.as_bytes()).collect()
    }

    #[test]
    fn a_sentence_begun_again_is_a_loop() {
        let said = [" Give", " me", " a", " latte", "."];
        let mut t = tokens(&said);
        assert!(!starts_over(&t));
        t.push(" Give".as_bytes());
        assert!(!starts_over(&t), "one token may be a new sentence");
        t.push(" me".as_bytes());
        assert!(starts_over(&t));
        // Another sentence is not a loop; the second one again is.
        let t = tokens(&[
            " Hi", ".", " Give", " me", " a", " latte", "?", " Give", " me",
        ]);
        assert!(starts_over(&t));
        let t = tokens(&[
            " Hi", ".", " Give", " me", " a", " latte", "?", " With", " milk",
        ]);
        assert!(!starts_over(&t));
        assert!(!starts_over(&tokens(&[" Give", " me", " a"])));
    }
}
