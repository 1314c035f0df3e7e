//! Sentence templates, in the spirit of Home Assistant's hassil and
//! Rhasspy: a template is words plus
//!
//! - `(on|off)`: one of the alternatives (each may be several words),
//! - `[the]`, `[please|now]`: optional words or alternatives,
//! - `{device}`, `{device:target}`: a slot from a list, named after the
//!   list or after the colon; the built-in lists are `number`,
//!   `duration` (a value in seconds), `time` (`HH:MM`), `date` (`today`,
//!   `monday`, ...) and `any` (one or more words).
//!
//! Matching is case- and punctuation-insensitive and tolerates the errors
//! speech-to-text makes: a word may differ by one letter (two in long
//! words), fillers (`please`, `um`, `hey`) are skipped, and numbers may be
//! digits or words. The match with the fewest such repairs wins.
//!
//! A templates file (RON):
//!
//! ```ron
//! (
//!     lists: {
//!         "device": ["kitchen lights", "living room lamp"],
//!         "operator": [("plus", "+"), ("times", "*")],
//!     },
//!     intents: {
//!         "home.turn_on": ["turn on [the] {device}", "switch [the] {device} on"],
//!         "math.calculate": ["what is {number:a} {operator} {number:b}"],
//!     },
//! )
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{
    text::{self, fold, is_punctuation},
    values,
};

/// Words dropped from the input before matching, wherever they are.
const FILLERS: [&str; 8] = ["please", "um", "uh", "hmm", "hey", "hark", "okay", "ok"];

/// A templates file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateFile {
    /// Named lists of phrases a slot may take.
    #[serde(default)]
    pub lists: BTreeMap<String, Vec<ListItem>>,
    /// Intent name → its templates.
    pub intents: BTreeMap<String, Vec<String>>,
}

/// An entry of a list: the phrase, or (phrase, value).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ListItem {
    /// The phrase is its own value.
    Plain(String),
    /// What is said, and the slot's value.
    Mapped(String, String),
}

#[derive(Debug, Clone)]
enum Node {
    Word(String),
    /// One of several sequences; `optional` adds the empty one.
    Choice {
        options: Vec<Vec<Node>>,
        optional: bool,
    },
    Slot {
        list: List,
        name: String,
    },
}

#[derive(Debug, Clone)]
enum List {
    Phrases(usize),
    Number,
    Duration,
    Time,
    Date,
    Any,
}

/// A list's phrases, split into folded words.
#[derive(Debug, Clone)]
struct Phrases {
    items: Vec<(Vec<String>, String)>,
}

/// Compiled templates.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    lists: Vec<Phrases>,
    /// (intent, template text, compiled).
    templates: Vec<(String, String, Vec<Node>)>,
}

/// A slot filled by a template.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotMatch {
    /// Slot name.
    pub name: String,
    /// First input word (index into [`text::words`] of the utterance).
    pub first: usize,
    /// One past the last input word.
    pub end: usize,
    /// Normalised value.
    pub value: SlotValue,
}

/// The value of a template slot.
#[derive(Debug, Clone, PartialEq)]
pub enum SlotValue {
    /// From a list, or `any`.
    Text(String),
    /// `number`.
    Number(f64),
    /// `duration`, in seconds.
    Seconds(i64),
    /// `time`, `HH:MM`; `date`, a day name.
    Named(String),
}

/// A template that matched an utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateMatch {
    /// The intent.
    pub intent: String,
    /// The template that matched.
    pub template: String,
    /// Filled slots.
    pub slots: Vec<SlotMatch>,
    /// Repairs needed (fuzzy words); 0 for an exact match.
    pub cost: u32,
}

impl Templates {
    /// Reads and compiles a templates file's text; errors name the
    /// intent and template.
    pub fn parse(source: &str) -> Result<Templates, String> {
        let file: TemplateFile = ron::from_str(source)
            .map_err(|e| format!("{}:{}: {}", e.position.line, e.position.col, e.code))?;
        Templates::compile(&file)
    }

    /// Compiles a parsed templates file.
    pub fn compile(file: &TemplateFile) -> Result<Templates, String> {
        let names: Vec<&String> = file.lists.keys().collect();
        let lists = file
            .lists
            .values()
            .map(|items| Phrases {
                items: items
                    .iter()
                    .map(|item| {
                        let (spoken, value) = match item {
                            ListItem::Plain(s) => (s.as_str(), s.as_str()),
                            ListItem::Mapped(s, v) => (s.as_str(), v.as_str()),
                        };
                        (normalised_words(spoken), value.to_string())
                    })
                    .collect(),
            })
            .collect();
        let mut templates = Vec::new();
        for (intent, list) in &file.intents {
            for template in list {
                let nodes = compile_template(template, &names)
                    .map_err(|e| format!("intent `{intent}`, template \"{template}\": {e}"))?;
                templates.push((intent.clone(), template.clone(), nodes));
            }
        }
        Ok(Templates { lists, templates })
    }

    /// Number of templates.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// Whether there are no templates.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// The best match for `words` (the utterance's [`text::words`]).
    pub fn recognise(&self, words: &[text::Word]) -> Option<TemplateMatch> {
        // Input words that take part: folded, without punctuation and
        // fillers, each remembering its index among `words`.
        let mut input: Vec<(String, usize)> = Vec::new();
        for (i, w) in words.iter().enumerate() {
            for piece in normalised_words(w.text) {
                if !FILLERS.contains(&piece.as_str()) {
                    input.push((piece, i));
                }
            }
        }
        if input.is_empty() {
            return None;
        }
        let folded: Vec<&str> = input.iter().map(|(w, _)| w.as_str()).collect();
        let budget = (folded.len() as u32).div_ceil(3);
        let mut best: Option<TemplateMatch> = None;
        for (intent, template, nodes) in &self.templates {
            let start = State {
                at: 0,
                cost: 0,
                slots: Vec::new(),
            };
            for state in self.match_seq(nodes, vec![start], &folded, budget) {
                if state.at != folded.len() {
                    continue;
                }
                if best.as_ref().is_some_and(|b| b.cost <= state.cost) {
                    continue;
                }
                let slots = state
                    .slots
                    .into_iter()
                    .map(|(name, first, end, value)| SlotMatch {
                        name,
                        first: input[first].1,
                        end: input[end - 1].1 + 1,
                        value,
                    })
                    .collect();
                best = Some(TemplateMatch {
                    intent: intent.clone(),
                    template: template.clone(),
                    slots,
                    cost: state.cost,
                });
            }
        }
        best
    }

    fn match_seq(
        &self,
        nodes: &[Node],
        mut states: Vec<State>,
        input: &[&str],
        budget: u32,
    ) -> Vec<State> {
        for node in nodes {
            let mut next = Vec::new();
            for state in states {
                self.match_node(node, state, input, budget, &mut next);
            }
            // Keep the search small: the cheapest state per position.
            next.sort_by_key(|s| (s.at, s.cost));
            next.dedup_by(|a, b| {
                a.at == b.at && a.cost >= b.cost && a.slots.len() == b.slots.len()
            });
            states = next;
            if states.is_empty() {
                break;
            }
        }
        states
    }

    fn match_node(
        &self,
        node: &Node,
        state: State,
        input: &[&str],
        budget: u32,
        out: &mut Vec<State>,
    ) {
        let rest = &input[state.at..];
        match node {
            Node::Word(w) => {
                if let Some(cost) = rest.first().and_then(|i| word_cost(w, i)) {
                    if state.cost + cost <= budget {
                        out.push(State {
                            at: state.at + 1,
                            cost: state.cost + cost,
                            slots: state.slots,
                        });
                    }
                }
            }
            Node::Choice { options, optional } => {
                if *optional {
                    out.push(state.clone());
                }
                for option in options {
                    out.extend(self.match_seq(option, vec![state.clone()], input, budget));
                }
            }
            Node::Slot { list, name } => {
                let mut fill = |used: usize, cost: u32, value: SlotValue| {
                    if used > 0 && state.cost + cost <= budget {
                        let mut slots = state.slots.clone();
                        slots.push((name.clone(), state.at, state.at + used, value));
                        out.push(State {
                            at: state.at + used,
                            cost: state.cost + cost,
                            slots,
                        });
                    }
                };
                match list {
                    List::Phrases(i) => {
                        for (words, value) in &self.lists[*i].items {
                            if words.len() > rest.len() {
                                continue;
                            }
                            let costs: Option<u32> =
                                words.iter().zip(rest).map(|(w, i)| word_cost(w, i)).sum();
                            if let Some(c) = costs {
                                fill(words.len(), c, SlotValue::Text(value.clone()));
                            }
                        }
                    }
                    List::Number => {
                        if let Some((v, n)) = values::number(rest) {
                            fill(n, 0, SlotValue::Number(v));
                        }
                    }
                    List::Duration => {
                        if let Some((s, n)) = values::duration(rest) {
                            fill(n, 0, SlotValue::Seconds(s));
                        }
                    }
                    List::Time => {
                        if let Some(((h, m), n)) = values::time_of_day(rest) {
                            fill(n, 0, SlotValue::Named(format!("{h:02}:{m:02}")));
                        }
                    }
                    List::Date => {
                        if let Some((d, n)) = values::day(rest) {
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
        }
    }
}

#[derive(Debug, Clone)]
struct State {
    at: usize,
    cost: u32,
    slots: Vec<(String, usize, usize, SlotValue)>,
}

/// Folded words of a phrase without punctuation; `%` is "percent".
fn normalised_words(phrase: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in text::words(phrase) {
        let f = fold(w.text);
        match f.as_str() {
            "%" => out.push("percent".into()),
            "+" => out.push("plus".into()),
            "×" | "*" => out.push("times".into()),
            _ if is_punctuation(&f) => {}
            _ => {
                // "10%" → 10, percent; trailing dots of "p.m." stay.
                if let Some(number) = f.strip_suffix('%') {
                    out.push(number.to_string());
                    out.push("percent".into());
                } else {
                    out.push(f);
                }
            }
        }
    }
    out
}

/// 0 for the same word, 1 for a near miss (one edit, or two in words of
/// eight letters or more; "lights" for "light"), `None` otherwise.
fn word_cost(template: &str, input: &str) -> Option<u32> {
    if template == input {
        return Some(0);
    }
    let shorter = template.chars().count().min(input.chars().count());
    let allowed = match shorter {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    };
    (strsim::damerau_levenshtein(template, input) <= allowed).then_some(1)
}

fn compile_template(template: &str, lists: &[&String]) -> Result<Vec<Node>, String> {
    let chars: Vec<char> = template.chars().collect();
    let mut at = 0;
    let nodes = parse_seq(&chars, &mut at, lists, None)?;
    if at < chars.len() {
        return Err(format!(
            "unexpected `{}` at character {}",
            chars[at],
            at + 1
        ));
    }
    if nodes.is_empty() {
        return Err("the template is empty".into());
    }
    Ok(nodes)
}

/// A sequence up to `close` (or the end); alternatives `|` are handled
/// by the caller of a group.
fn parse_seq(
    chars: &[char],
    at: &mut usize,
    lists: &[&String],
    close: Option<char>,
) -> Result<Vec<Node>, String> {
    let mut nodes = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, nodes: &mut Vec<Node>| {
        for w in normalised_words(word) {
            nodes.push(Node::Word(w));
        }
        word.clear();
    };
    while *at < chars.len() {
        let c = chars[*at];
        match c {
            '(' | '[' => {
                flush(&mut word, &mut nodes);
                *at += 1;
                let end = if c == '(' { ')' } else { ']' };
                let mut options = vec![parse_seq(chars, at, lists, Some(end))?];
                while chars.get(*at) == Some(&'|') {
                    *at += 1;
                    options.push(parse_seq(chars, at, lists, Some(end))?);
                }
                if chars.get(*at) != Some(&end) {
                    return Err(format!("`{c}` is not closed by `{end}`"));
                }
                *at += 1;
                nodes.push(Node::Choice {
                    options,
                    optional: c == '[',
                });
            }
            ')' | ']' | '|' => {
                if close.is_none() {
                    return Err(format!("unexpected `{c}` at character {}", *at + 1));
                }
                break;
            }
            '{' => {
                flush(&mut word, &mut nodes);
                let end = chars[*at..]
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or("`{` is not closed by `}`")?;
                let inner: String = chars[*at + 1..*at + end].iter().collect();
                *at += end + 1;
                let (list, name) = inner.split_once(':').unwrap_or((&inner, &inner));
                let (list, name) = (list.trim(), name.trim());
                let list = match list {
                    "number" => List::Number,
                    "duration" => List::Duration,
                    "time" => List::Time,
                    "date" => List::Date,
                    "any" => List::Any,
                    other => List::Phrases(lists.iter().position(|l| *l == other).ok_or_else(|| {
                        format!(
                            "no list called `{other}` (lists: {}; built in: number, duration, time, date, any)",
                            lists.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(", ")
                        )
                    })?),
                };
                nodes.push(Node::Slot {
                    list,
                    name: name.to_string(),
                });
            }
            _ => {
                word.push(c);
                *at += 1;
            }
        }
    }
    flush(&mut word, &mut nodes);
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"(
        lists: {
            "device": ["kitchen lights", ("living room lamp", "lamp-1")],
            "operator": [("plus", "+"), ("times", "*"), ("divided by", "/")],
        },
        intents: {
            "home.turn_on": ["turn on [the] {device}", "switch [the] {device} on"],
            "home.turn_off": ["turn off [the] {device}"],
            "home.set_level": ["set [the] {device} to {number:level} percent"],
            "timer.set": ["set [a] timer for {duration}", "(start|set) [a] {duration} timer"],
            "math.calculate": ["what is {number:a} {operator} {number:b}"],
            "time.now": ["what time is it", "what's the time"],
        },
    )"#;

    fn recognise(text: &str) -> Option<TemplateMatch> {
        let t = Templates::parse(FILE).unwrap();
        t.recognise(&text::words(text))
    }

    #[test]
    fn alternatives_optionals_and_lists() {
        let m = recognise("Turn on the kitchen lights.").unwrap();
        assert_eq!((m.intent.as_str(), m.cost), ("home.turn_on", 0));
        assert_eq!(m.slots[0].value, SlotValue::Text("kitchen lights".into()));
        let m = recognise("switch living room lamp on please").unwrap();
        assert_eq!(m.slots[0].value, SlotValue::Text("lamp-1".into()));
        assert_eq!((m.slots[0].first, m.slots[0].end), (1, 4));
        assert_eq!(
            recognise("turn off the kitchen lights").unwrap().intent,
            "home.turn_off"
        );
        assert!(recognise("turn on the garage door").is_none());
    }

    #[test]
    fn built_in_values() {
        let m = recognise("Set a timer for 3 seconds.").unwrap();
        assert_eq!(m.slots[0].value, SlotValue::Seconds(3));
        let m = recognise("start a ten minute timer").unwrap();
        assert_eq!(m.slots[0].value, SlotValue::Seconds(600));
        let m = recognise("set the kitchen lights to 50%").unwrap();
        assert_eq!(m.slots[1].value, SlotValue::Number(50.0));
        let m = recognise("What is 12 times seven?").unwrap();
        let values: Vec<_> = m.slots.iter().map(|s| s.value.clone()).collect();
        assert_eq!(
            values,
            [
                SlotValue::Number(12.0),
                SlotValue::Text("*".into()),
                SlotValue::Number(7.0)
            ]
        );
    }

    #[test]
    fn speech_to_text_errors_are_tolerated() {
        // "light" for "lights", "kitchin" for "kitchen", a filler.
        let m = recognise("um turn on the kitchin light").unwrap();
        assert_eq!(m.intent, "home.turn_on");
        assert_eq!(m.cost, 2);
        assert_eq!(recognise("What's the time?").unwrap().intent, "time.now");
    }

    #[test]
    fn template_errors_name_the_template() {
        let e = Templates::parse(r#"(intents: {"a": ["turn on {nothing}"]})"#).unwrap_err();
        assert!(
            e.contains("template \"turn on {nothing}\"") && e.contains("no list called `nothing`"),
            "{e}"
        );
        let e = Templates::parse(r#"(intents: {"a": ["turn (on|off"]})"#).unwrap_err();
        assert!(e.contains("not closed"), "{e}");
    }
}
