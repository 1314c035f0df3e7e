//! Reading an utterance with the templates: a search over template
//! positions and input words in which every step has a cost, so that the
//! cheapest complete reading wins.
//!
//! The steps: a word read as written (free); one off by a letter or two
//! (`SPELLING`); one that sounds alike (`SOUND`); two words run together
//! or one split in two (`JOIN`); a filler skipped (free); an input word
//! the template does not have (`EXTRA_WORD`: whisper adds a stray word
//! at the edges of an utterance); a template word that was not heard
//! (`MISSING_WORD`). An utterance may spend [`costs::SPELLING`] per three
//! words it has, so that long commands may carry more repairs than short
//! ones, and no reading of a short sentence is far-fetched.

use super::{sound::Sound, List, Node, SlotMatch, SlotValue, TemplateMatch, Templates};
use crate::{text, values};

/// What each repair costs, in hundredths of confidence.
pub mod costs {
    /// A word off by one letter (two in words of eight letters or more).
    pub const SPELLING: u32 = 10;
    /// A word that sounds like the expected one, spelled otherwise
    /// ("moga" for mocha).
    pub const SOUND: u32 = 15;
    /// A word that sounds exactly like the expected one ("moka").
    pub const SOUND_SAME: u32 = 10;
    /// Two words written as one, or one as two ("soymilk").
    pub const JOIN: u32 = 5;
    /// An input word the template has no place for.
    pub const EXTRA_WORD: u32 = 20;
    /// A template word the input lacks.
    pub const MISSING_WORD: u32 = 20;
}
use costs::*;

/// A word of the utterance, as the search sees it.
struct InputWord {
    /// Normalised.
    text: String,
    /// Index of the word it came from, in [`text::words`] of the utterance.
    index: usize,
    filler: bool,
    sound: Sound,
}

/// A place in the search: input words consumed, cost so far, slots filled.
#[derive(Debug, Clone)]
struct State {
    at: usize,
    cost: u32,
    slots: Vec<(String, usize, usize, SlotValue)>,
}

/// The input and how much may be spent on it.
struct Search<'a> {
    templates: &'a Templates,
    input: &'a [InputWord],
    budget: u32,
}

impl Templates {
    /// The best match for `words` (the utterance's [`text::words`]).
    pub fn recognise(&self, words: &[text::Word]) -> Option<TemplateMatch> {
        let mut input = Vec::new();
        for (index, w) in words.iter().enumerate() {
            for piece in text::normalise(w.text) {
                input.push(InputWord {
                    filler: text::is_filler(&piece),
                    sound: Sound::of(&piece),
                    text: piece,
                    index,
                });
            }
        }
        let said = input.iter().filter(|w| !w.filler).count() as u32;
        if input.is_empty() {
            return None;
        }
        let search = Search {
            templates: self,
            input: &input,
            budget: SPELLING * said.div_ceil(3).max(1),
        };
        let mut best: Option<TemplateMatch> = None;
        for template in &self.templates {
            let start = State {
                at: 0,
                cost: 0,
                slots: Vec::new(),
            };
            let ends = search.skip_extra(search.seq(&template.nodes, vec![start]));
            for state in ends {
                if state.at != input.len() || best.as_ref().is_some_and(|b| b.cost <= state.cost) {
                    continue;
                }
                let slots = state
                    .slots
                    .into_iter()
                    .map(|(name, first, end, value)| SlotMatch {
                        name,
                        first: input[first].index,
                        end: input[end - 1].index + 1,
                        value,
                    })
                    .collect();
                best = Some(TemplateMatch {
                    intent: template.intent.clone(),
                    template: template.text.clone(),
                    slots,
                    cost: state.cost,
                });
            }
        }
        best
    }
}

impl Search<'_> {
    /// Matches `nodes` in order from each of `states`.
    fn seq(&self, nodes: &[Node], mut states: Vec<State>) -> Vec<State> {
        for node in nodes {
            let mut next = Vec::new();
            for state in self.skip_extra(states) {
                self.node(node, state, &mut next);
            }
            states = prune(next);
            if states.is_empty() {
                break;
            }
        }
        states
    }

    fn node(&self, node: &Node, state: State, out: &mut Vec<State>) {
        match node {
            Node::Words(words) => {
                for (end, cost) in self.align(
                    words,
                    state.at,
                    self.budget.saturating_sub(state.cost),
                    false,
                ) {
                    out.push(State {
                        at: end,
                        cost: state.cost + cost,
                        slots: state.slots.clone(),
                    });
                }
            }
            Node::Choice { options, optional } => {
                if *optional {
                    out.push(state.clone());
                }
                for option in options {
                    out.extend(self.seq(option, vec![state.clone()]));
                }
            }
            Node::AnyOrder { parts, optional } => {
                if *optional {
                    out.push(state.clone());
                }
                out.extend(self.any_order(parts, state));
            }
            Node::Slot { list, name } => self.slot(*list, name, state, out),
        }
    }

    /// Every part once, in any order: states by the set of parts done,
    /// grown one part at a time.
    fn any_order(&self, parts: &[Vec<Node>], state: State) -> Vec<State> {
        let full = (1usize << parts.len()) - 1;
        let mut done: Vec<Vec<State>> = vec![Vec::new(); full + 1];
        done[0].push(state);
        for mask in 0..full {
            let states = prune(std::mem::take(&mut done[mask]));
            if states.is_empty() {
                continue;
            }
            for (i, part) in parts.iter().enumerate() {
                if mask & (1 << i) == 0 {
                    let next = self.seq(part, states.clone());
                    done[mask | (1 << i)].extend(next);
                }
            }
        }
        prune(std::mem::take(&mut done[full]))
    }

    fn slot(&self, list: List, name: &str, state: State, out: &mut Vec<State>) {
        let rest: Vec<&str> = self.input[state.at..]
            .iter()
            .map(|w| w.text.as_str())
            .collect();
        let mut fill = |used: usize, cost: u32, value: SlotValue| {
            if used > 0 && state.cost + cost <= self.budget {
                let mut slots = state.slots.clone();
                slots.push((name.to_string(), state.at, state.at + used, value));
                out.push(State {
                    at: state.at + used,
                    cost: state.cost + cost,
                    slots,
                });
            }
        };
        match list {
            List::Phrases(i) => {
                for (words, value) in &self.templates.lists[i].items {
                    for (end, cost) in self.align(
                        words,
                        state.at,
                        self.budget.saturating_sub(state.cost),
                        true,
                    ) {
                        fill(end - state.at, cost, SlotValue::Text(value.clone()));
                    }
                }
            }
            List::Number => {
                if let Some((v, n)) = values::number(&rest) {
                    fill(n, 0, SlotValue::Number(v));
                }
            }
            List::Duration => {
                if let Some((s, n)) = values::duration(&rest) {
                    fill(n, 0, SlotValue::Seconds(s));
                }
            }
            List::Time => {
                if let Some(((h, m), n)) = values::time_of_day(&rest) {
                    fill(n, 0, SlotValue::Named(format!("{h:02}:{m:02}")));
                }
            }
            List::Date => {
                if let Some((d, n)) = values::day(&rest) {
                    fill(n, 0, SlotValue::Named(d.to_string()));
                }
            }
            List::Any => {
                for n in 1..=rest.len() {
                    fill(n, 0, SlotValue::Text(rest[..n].join(" ")));
                }
            }
        }
    }

    /// Each state, and each state after skipping input words the template
    /// has no place for: fillers for free, others at `EXTRA_WORD` each.
    fn skip_extra(&self, states: Vec<State>) -> Vec<State> {
        let mut out = Vec::with_capacity(states.len());
        for state in states {
            let mut cost = state.cost;
            for (i, word) in self.input.iter().enumerate().skip(state.at) {
                cost += if word.filler { 0 } else { EXTRA_WORD };
                if cost > self.budget {
                    break;
                }
                out.push(State {
                    at: i + 1,
                    cost,
                    slots: state.slots.clone(),
                });
            }
            out.push(state);
        }
        prune(out)
    }

    /// The ways to read the template words `words` from input word `at`
    /// on, at most `limit`: (end, cost), the cheapest per end. An edit
    /// distance over words whose substitutions are the word repairs;
    /// fillers inside are free, and `whole` (a list phrase, a slot's
    /// value) must lose none of its words.
    fn align(&self, words: &[String], at: usize, limit: u32, whole: bool) -> Vec<(usize, u32)> {
        const NONE: u32 = u32::MAX / 4;
        let input = &self.input[at..];
        let m = words.len();
        // Each template word takes at most two input words, and a few
        // extra words may sit between them.
        let r = input.len().min(2 * m + 2);
        let mut cost = vec![vec![NONE; r + 1]; m + 1];
        cost[0][0] = 0;
        for i in 0..=m {
            for j in 0..=r {
                let mut best = cost[i][j];
                if i > 0 && j > 0 {
                    if let Some(c) = self.word_cost(&words[i - 1], &input[j - 1]) {
                        best = best.min(cost[i - 1][j - 1] + c);
                    }
                }
                if i > 1 && j > 0 && joined(&words[i - 2], &words[i - 1], &input[j - 1].text) {
                    best = best.min(cost[i - 2][j - 1] + JOIN);
                }
                if i > 0 && j > 1 && joined(&input[j - 2].text, &input[j - 1].text, &words[i - 1]) {
                    best = best.min(cost[i - 1][j - 2] + JOIN);
                }
                if i > 0 && !whole {
                    best = best.min(cost[i - 1][j] + MISSING_WORD);
                }
                if j > 0 && i > 0 && i < m {
                    let extra = if input[j - 1].filler { 0 } else { EXTRA_WORD };
                    best = best.min(cost[i][j - 1] + extra);
                }
                cost[i][j] = best;
            }
        }
        (0..=r)
            .filter(|&j| cost[m][j] <= limit)
            .map(|j| (at + j, cost[m][j]))
            .collect()
    }

    /// What it costs to read the input word as the template word, if it
    /// can be read so at all.
    fn word_cost(&self, expected: &str, heard: &InputWord) -> Option<u32> {
        if expected == heard.text {
            return Some(0);
        }
        if spelled_alike(expected, &heard.text) {
            return Some(SPELLING);
        }
        let sound = self.templates.sounds.get(expected)?;
        sound.cost(&heard.sound)
    }
}

/// Whether `a` followed by `b` is `whole` ("soy" + "milk" = "soymilk").
fn joined(a: &str, b: &str, whole: &str) -> bool {
    whole.len() == a.len() + b.len() && whole.starts_with(a) && whole.ends_with(b)
}

/// One edit apart (two in words of eight letters or more); "lights" for
/// "light". Words of three letters or fewer must be exact.
fn spelled_alike(a: &str, b: &str) -> bool {
    let shorter = a.chars().count().min(b.chars().count());
    let allowed = match shorter {
        0..=3 => return false,
        4..=7 => 1,
        _ => 2,
    };
    strsim::damerau_levenshtein(a, b) <= allowed
}

/// The cheapest state per (input position, slots filled): the search
/// stays small without losing a reading that could still win.
fn prune(mut states: Vec<State>) -> Vec<State> {
    states.sort_by_key(|s| (s.at, s.slots.len(), s.cost));
    states.dedup_by(|a, b| a.at == b.at && a.slots.len() == b.slots.len());
    states
}
