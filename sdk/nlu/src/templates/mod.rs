//! Sentence templates, in the spirit of Home Assistant's hassil and
//! Rhasspy: a template is words plus
//!
//! - `(on|off)`: one of the alternatives (each may be several words),
//! - `[the]`, `[please|now]`: optional words or alternatives,
//! - `(a; b; c)`: all of the parts, in any order; `[a; b]` the same, but
//!   all of it may be left out. Parts may be optional themselves:
//!   `([{size}]; [{roast}])` reads "large", "dark roast", "large dark
//!   roast" and "dark roast large",
//! - `{device}`, `{device:target}`: a slot from a list, named after the
//!   list or after the colon; the built-in lists are `number`,
//!   `duration` (a value in seconds), `time` (`HH:MM`), `date` (`today`,
//!   `monday`, ...) and `any` (one or more words).
//!
//! Words are compared as [`text::normalise`] writes them, so digits and
//! number words, hyphenated and separate compounds are the same
//! (`12-ounce` is `twelve ounce`). Fillers ([`text::FILLERS`]) are
//! optional on both sides. Matching (`matcher`) tolerates what
//! speech-to-text gets wrong, each repair at a cost: a word off by a
//! letter or two, a word that sounds alike (`sound`), words run together
//! or split, a word too many or too few. The cheapest reading wins, so an
//! exact one always beats a repaired one.
//!
//! The same templates steer a speech recogniser: `grammar` writes them as
//! a character grammar (whisper.cpp's GBNF elements).
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

mod grammar;
mod matcher;
mod sound;

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::text;

pub use grammar::{Grammar, GrammarElement, GrammarState, StateKey};
pub use matcher::costs;

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

/// A compiled template, a sequence of these.
#[derive(Debug, Clone)]
enum Node {
    /// Words in a row (normalised).
    Words(Vec<String>),
    /// One of several sequences; `optional` adds the empty one.
    Choice {
        options: Vec<Vec<Node>>,
        optional: bool,
    },
    /// Every part, in any order; `optional`: or none of it.
    AnyOrder {
        parts: Vec<Vec<Node>>,
        optional: bool,
    },
    Slot {
        list: List,
        name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    Phrases(usize),
    Number,
    Duration,
    Time,
    Date,
    Any,
}

/// A list's phrases, split into normalised words, with their values.
#[derive(Debug, Clone)]
struct Phrases {
    name: String,
    items: Vec<(Vec<String>, String)>,
}

#[derive(Debug, Clone)]
struct Template {
    intent: String,
    text: String,
    nodes: Vec<Node>,
}

/// Compiled templates.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    lists: Vec<Phrases>,
    templates: Vec<Template>,
    /// How every word of the templates and lists sounds, computed once.
    sounds: HashMap<String, sound::Sound>,
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
    /// What the repairs cost, in hundredths of confidence (see
    /// [`costs`]); 0 for an exact match.
    pub cost: u32,
}

impl TemplateMatch {
    /// Confidence in the match: 1 for an exact one, less what the
    /// repairs cost.
    pub fn confidence(&self) -> f32 {
        (1.0 - self.cost as f32 / 100.0).max(0.0)
    }
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
        let lists: Vec<Phrases> = file
            .lists
            .iter()
            .map(|(name, items)| Phrases {
                name: name.clone(),
                items: items
                    .iter()
                    .map(|item| {
                        let (spoken, value) = match item {
                            ListItem::Plain(s) => (s.as_str(), s.as_str()),
                            ListItem::Mapped(s, v) => (s.as_str(), v.as_str()),
                        };
                        (text::normalise(spoken), value.to_string())
                    })
                    .filter(|(words, _)| !words.is_empty())
                    .collect(),
            })
            .collect();
        let mut templates = Vec::new();
        for (intent, list) in &file.intents {
            for template in list {
                let nodes = compile_template(template, &names)
                    .map_err(|e| format!("intent `{intent}`, template \"{template}\": {e}"))?;
                templates.push(Template {
                    intent: intent.clone(),
                    text: template.clone(),
                    nodes,
                });
            }
        }
        let mut sounds = HashMap::new();
        let mut remember = |w: &String| {
            sounds
                .entry(w.clone())
                .or_insert_with(|| sound::Sound::of(w));
        };
        for phrases in &lists {
            phrases
                .items
                .iter()
                .flat_map(|(w, _)| w)
                .for_each(&mut remember);
        }
        for template in &templates {
            visit_words(&template.nodes, &mut remember);
        }
        Ok(Templates {
            lists,
            templates,
            sounds,
        })
    }

    /// Number of templates.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// Whether there are no templates.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }
}

/// Calls `f` on every word the nodes spell out (not list phrases).
fn visit_words(nodes: &[Node], f: &mut impl FnMut(&String)) {
    for node in nodes {
        match node {
            Node::Words(words) => words.iter().for_each(&mut *f),
            Node::Choice { options: parts, .. } | Node::AnyOrder { parts, .. } => {
                parts.iter().for_each(|p| visit_words(p, f))
            }
            Node::Slot { .. } => {}
        }
    }
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

/// Most parts a `(a; b; ...)` group may have: matching tries every
/// subset of them.
const MAX_ANY_ORDER_PARTS: usize = 8;

/// A sequence up to `close` (or the end); the caller of a group handles
/// its separators (`|`, `;`).
fn parse_seq(
    chars: &[char],
    at: &mut usize,
    lists: &[&String],
    close: Option<char>,
) -> Result<Vec<Node>, String> {
    let mut nodes = Vec::new();
    let mut word = String::new();
    while *at < chars.len() {
        let c = chars[*at];
        match c {
            '(' | '[' => {
                flush_words(&mut word, &mut nodes);
                *at += 1;
                let end = if c == '(' { ')' } else { ']' };
                let mut parts = vec![parse_seq(chars, at, lists, Some(end))?];
                let mut separator = None;
                while let Some(&s @ ('|' | ';')) = chars.get(*at) {
                    if separator.is_some_and(|previous| previous != s) {
                        return Err(format!(
                            "a group mixes `|` and `;` at character {}: use one per group, and nest groups for the other",
                            *at + 1
                        ));
                    }
                    separator = Some(s);
                    *at += 1;
                    parts.push(parse_seq(chars, at, lists, Some(end))?);
                }
                if chars.get(*at) != Some(&end) {
                    return Err(format!("`{c}` is not closed by `{end}`"));
                }
                *at += 1;
                let optional = c == '[';
                if separator == Some(';') {
                    if parts.len() > MAX_ANY_ORDER_PARTS {
                        return Err(format!(
                            "a `;` group has {} parts; at most {MAX_ANY_ORDER_PARTS} may come in any order",
                            parts.len()
                        ));
                    }
                    if parts.iter().any(Vec::is_empty) {
                        return Err("a `;` group has an empty part".into());
                    }
                    nodes.push(Node::AnyOrder { parts, optional });
                } else {
                    nodes.push(Node::Choice {
                        options: parts,
                        optional,
                    });
                }
            }
            ')' | ']' | '|' | ';' => {
                if close.is_none() {
                    return Err(format!("unexpected `{c}` at character {}", *at + 1));
                }
                break;
            }
            '{' => {
                flush_words(&mut word, &mut nodes);
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
    flush_words(&mut word, &mut nodes);
    Ok(nodes)
}

/// Turns the text gathered so far into nodes: runs of words, with each
/// filler made optional.
fn flush_words(text: &mut String, nodes: &mut Vec<Node>) {
    for w in text::normalise(text) {
        if text::is_filler(&w) {
            nodes.push(Node::Choice {
                options: vec![vec![Node::Words(vec![w])]],
                optional: true,
            });
        } else if let Some(Node::Words(run)) = nodes.last_mut() {
            run.push(w);
        } else {
            nodes.push(Node::Words(vec![w]));
        }
    }
    text.clear();
}

#[cfg(test)]
mod tests;
