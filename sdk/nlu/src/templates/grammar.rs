//! The templates as a character grammar, to steer a speech recogniser
//! towards the sentences the templates read: whisper.cpp's grammar-guided
//! decoding (its `command` example) takes GBNF rules, lowered to arrays of
//! [`GrammarElement`]s, and penalises the tokens no rule allows.
//!
//! The grammar is written for text as whisper writes it, not as the
//! templates normalise it: each word after a gap (a space, a comma or full
//! stop and a space, or a hyphen: "12-ounce"), a first letter of either
//! case ("Iced Mocha"), number words also as digits ("twelve" or "12"),
//! and a final `.`, `?` or `!`. It accepts more than the templates do (a
//! `(a; b)` group becomes "a or b, once or more"): it only steers; the
//! matcher still decides. A recogniser that leaves the grammar (the
//! speech is not in it) decodes freely from there on.

use std::{collections::HashMap, fmt::Write as _};

use super::{List, Node, Templates};
use crate::values;

/// One element of a grammar rule, with whisper.cpp's meaning and
/// numbering (`whisper_gretype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrammarElement {
    /// End of the rule.
    End,
    /// Start of another alternative of the rule.
    Alt,
    /// Another rule, by index.
    RuleRef(u32),
    /// A character (a code point), or the first of a set.
    Char(u32),
    /// Any character but this one (or this set).
    CharNot(u32),
    /// The upper end of a range started by the element before.
    CharRangeUpper(u32),
    /// Another character of the set.
    CharAlt(u32),
}

impl GrammarElement {
    /// whisper.cpp's element type number and value.
    pub fn as_whisper(self) -> (u32, u32) {
        match self {
            GrammarElement::End => (0, 0),
            GrammarElement::Alt => (1, 0),
            GrammarElement::RuleRef(r) => (2, r),
            GrammarElement::Char(c) => (3, c),
            GrammarElement::CharNot(c) => (4, c),
            GrammarElement::CharRangeUpper(c) => (5, c),
            GrammarElement::CharAlt(c) => (6, c),
        }
    }
}

/// A grammar: rules of elements, rule 0 the start.
#[derive(Debug, Clone)]
pub struct Grammar {
    rules: Vec<Vec<GrammarElement>>,
    names: Vec<String>,
}

impl Grammar {
    /// The rules, each ending with [`GrammarElement::End`]; rule 0 is the
    /// start rule.
    pub fn rules(&self) -> &[Vec<GrammarElement>] {
        &self.rules
    }

    /// The grammar in GBNF, the notation whisper.cpp and llama.cpp read,
    /// for people.
    pub fn to_gbnf(&self) -> String {
        let mut out = String::new();
        for (name, rule) in self.names.iter().zip(&self.rules) {
            let _ = write!(out, "{name} ::=");
            let mut text = String::new();
            let mut i = 0;
            while i < rule.len() {
                let end = set_end(rule, i);
                match rule[i] {
                    // A character alone joins a string.
                    GrammarElement::Char(c) if end == i + 1 => {
                        text.push(char::from_u32(c).unwrap_or('?'));
                        i += 1;
                        continue;
                    }
                    _ if !text.is_empty() => {
                        let _ = write!(out, " {text:?}");
                        text.clear();
                    }
                    _ => {}
                }
                match rule[i] {
                    GrammarElement::Alt => out.push_str(" |"),
                    GrammarElement::RuleRef(r) => {
                        let _ = write!(out, " {}", self.names[r as usize]);
                    }
                    GrammarElement::Char(_) | GrammarElement::CharNot(_) => {
                        out.push_str(" [");
                        for element in &rule[i..end] {
                            match *element {
                                GrammarElement::CharNot(c) => {
                                    out.push('^');
                                    push_escaped(&mut out, c);
                                }
                                GrammarElement::Char(c) | GrammarElement::CharAlt(c) => {
                                    push_escaped(&mut out, c)
                                }
                                GrammarElement::CharRangeUpper(c) => {
                                    out.push('-');
                                    push_escaped(&mut out, c);
                                }
                                _ => {}
                            }
                        }
                        out.push(']');
                    }
                    _ => {}
                }
                i = end;
            }
            if !text.is_empty() {
                let _ = write!(out, " {text:?}");
            }
            out.push('\n');
        }
        out
    }
}

/// A position in a rule: (rule, element index).
type Position = (u32, u32);

/// A [`GrammarState`] as a value to hash and compare (see
/// [`GrammarState::key`]); keys of different grammars are not comparable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StateKey(Vec<Vec<Position>>);

/// Where a reading of some text stands in a [`Grammar`]: every way the
/// grammar can go on (whisper.cpp's pushdown stacks, each ending at a
/// character element). Made by [`Grammar::start`], moved on one character
/// at a time by [`GrammarState::accept`].
#[derive(Debug, Clone)]
pub struct GrammarState<'g> {
    grammar: &'g Grammar,
    stacks: Vec<Vec<Position>>,
}

impl Grammar {
    /// The state before any text.
    pub fn start(&self) -> GrammarState<'_> {
        let mut stacks = Vec::new();
        if !self.rules.is_empty() {
            self.advance(vec![(0, 0)], &mut stacks);
        }
        GrammarState {
            grammar: self,
            stacks,
        }
    }

    fn element(&self, (rule, i): Position) -> GrammarElement {
        self.rules[rule as usize][i as usize]
    }

    fn ends_alternative(&self, at: Position) -> bool {
        matches!(self.element(at), GrammarElement::End | GrammarElement::Alt)
    }

    /// Expands rule references at the top of `stack` until every stack
    /// ends at a character element (or is empty: the grammar is done).
    fn advance(&self, stack: Vec<Position>, out: &mut Vec<Vec<Position>>) {
        let Some(&(rule, i)) = stack.last() else {
            out.push(stack);
            return;
        };
        match self.element((rule, i)) {
            GrammarElement::RuleRef(sub) => {
                let mut start = 0;
                loop {
                    let mut next = stack[..stack.len() - 1].to_vec();
                    if !self.ends_alternative((rule, i + 1)) {
                        next.push((rule, i + 1));
                    }
                    if !self.ends_alternative((sub, start)) {
                        next.push((sub, start));
                    }
                    self.advance(next, out);
                    while !self.ends_alternative((sub, start)) {
                        start += 1;
                    }
                    if self.element((sub, start)) == GrammarElement::Alt {
                        start += 1;
                    } else {
                        break;
                    }
                }
            }
            _ => out.push(stack),
        }
    }

    /// Whether the character set at `at` takes `c`, and the position after
    /// the set.
    fn matches(&self, (rule, i): Position, c: char) -> (bool, u32) {
        let elements = &self.rules[rule as usize];
        let (positive, mut low) = match elements[i as usize] {
            GrammarElement::Char(v) => (true, v),
            GrammarElement::CharNot(v) => (false, v),
            _ => return (false, i),
        };
        let c = c as u32;
        let mut found = false;
        let mut j = i as usize;
        loop {
            match elements.get(j + 1) {
                Some(GrammarElement::CharRangeUpper(high)) => {
                    found |= low <= c && c <= *high;
                    j += 2;
                }
                _ => {
                    found |= low == c;
                    j += 1;
                }
            }
            match elements.get(j) {
                Some(GrammarElement::CharAlt(v)) => low = *v,
                _ => break,
            }
        }
        (found == positive, j as u32)
    }
}

impl<'g> GrammarState<'g> {
    /// The state after `c`; dead (see [`GrammarState::is_dead`]) when
    /// the grammar has no place for it.
    pub fn accept(&self, c: char) -> GrammarState<'g> {
        let g = self.grammar;
        let mut stacks = Vec::new();
        for stack in &self.stacks {
            let Some(&(rule, i)) = stack.last() else {
                continue;
            };
            let (takes, after) = g.matches((rule, i), c);
            if takes {
                let mut next = stack[..stack.len() - 1].to_vec();
                if !g.ends_alternative((rule, after)) {
                    next.push((rule, after));
                }
                g.advance(next, &mut stacks);
            }
        }
        stacks.sort_unstable();
        stacks.dedup();
        GrammarState { grammar: g, stacks }
    }

    /// The state after all of `text`.
    pub fn accept_str(&self, text: &str) -> GrammarState<'g> {
        let mut state = self.clone();
        for c in text.chars() {
            if state.is_dead() {
                break;
            }
            state = state.accept(c);
        }
        state
    }

    /// Whether the text so far is not the start of anything the grammar
    /// reads.
    pub fn is_dead(&self) -> bool {
        self.stacks.is_empty()
    }

    /// Whether the text so far is a whole sentence of the grammar.
    pub fn is_complete(&self) -> bool {
        self.stacks.iter().any(Vec::is_empty)
    }

    /// What tells this state apart from others of the same grammar: a
    /// key to remember what was worked out from it.
    pub fn key(&self) -> StateKey {
        StateKey(self.stacks.clone())
    }

    /// Whether the grammar takes any character here (an `{any}` slot): it
    /// then says nothing about what comes next.
    pub fn is_open(&self) -> bool {
        self.stacks.iter().any(|s| {
            s.last()
                .is_some_and(|&at| matches!(self.grammar.element(at), GrammarElement::CharNot(_)))
        })
    }
}

/// One past the element at `i`, and past the rest of its character set
/// if it starts one.
fn set_end(rule: &[GrammarElement], mut i: usize) -> usize {
    let starts_set = matches!(
        rule[i],
        GrammarElement::Char(_) | GrammarElement::CharNot(_)
    );
    i += 1;
    while starts_set
        && matches!(
            rule.get(i),
            Some(GrammarElement::CharAlt(_) | GrammarElement::CharRangeUpper(_))
        )
    {
        i += 1;
    }
    i
}

fn push_escaped(out: &mut String, c: u32) {
    match char::from_u32(c) {
        Some(c @ (']' | '[' | '^' | '-' | '\\')) => {
            out.push('\\');
            out.push(c);
        }
        Some(c) if !c.is_control() => out.push(c),
        _ => {
            let _ = write!(out, "\\x{c:02x}");
        }
    }
}

/// What a rule matches, before it is lowered to elements.
#[derive(Debug, Clone)]
enum Expr {
    /// A word after a gap, its first letter in either case.
    Word(String),
    /// A word with no gap before it: the gap was factored out of the
    /// alternatives it starts (see [`Builder::lower`]).
    BareWord(String),
    /// These characters, as they are.
    Text(String),
    /// One character of these ranges (or none of them, `negated`).
    Set {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
    Seq(Vec<Expr>),
    Alt(Vec<Expr>),
    Optional(Box<Expr>),
    /// Once or more.
    Repeat(Box<Expr>),
    /// A rule made already.
    Rule(u32),
}

struct Builder {
    rules: Vec<Vec<GrammarElement>>,
    names: Vec<String>,
    /// Rules by name, so that each list and built-in is made once.
    named: HashMap<String, u32>,
}

impl Builder {
    fn rule(&mut self, name: &str, body: &[Expr]) -> u32 {
        let id = self.reserve(name);
        self.define(id, body);
        id
    }

    /// A rule number, to be defined later (recursive rules).
    fn reserve(&mut self, name: &str) -> u32 {
        let id = self.rules.len() as u32;
        let mut unique = name.to_string();
        let mut n = 1;
        while self.names.contains(&unique) {
            n += 1;
            unique = format!("{name}-{n}");
        }
        self.rules.push(Vec::new());
        self.names.push(unique);
        id
    }

    /// Defines rule `id` as the alternatives `body`.
    fn define(&mut self, id: u32, body: &[Expr]) {
        let mut elements = Vec::new();
        for (i, alternative) in body.iter().enumerate() {
            if i > 0 {
                elements.push(GrammarElement::Alt);
            }
            self.lower(alternative, &mut elements, id);
        }
        elements.push(GrammarElement::End);
        self.rules[id as usize] = elements;
    }

    /// Appends the elements of `expr` to a rule's alternative; nested
    /// alternatives, options and repetitions become rules of their own
    /// named after `parent`.
    fn lower(&mut self, expr: &Expr, out: &mut Vec<GrammarElement>, parent: u32) {
        let name = format!("{}-part", self.names[parent as usize]);
        match expr {
            Expr::Word(word) | Expr::BareWord(word) => {
                if matches!(expr, Expr::Word(_)) {
                    out.push(GrammarElement::RuleRef(GAP));
                }
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    let upper: Vec<char> = first.to_uppercase().collect();
                    out.push(GrammarElement::Char(first as u32));
                    if upper.len() == 1 && upper[0] != first {
                        out.push(GrammarElement::CharAlt(upper[0] as u32));
                    }
                }
                out.extend(chars.map(|c| GrammarElement::Char(c as u32)));
            }
            Expr::Text(text) => out.extend(text.chars().map(|c| GrammarElement::Char(c as u32))),
            Expr::Set { ranges, negated } => {
                for (i, (low, high)) in ranges.iter().enumerate() {
                    out.push(match (i, negated) {
                        (0, false) => GrammarElement::Char(*low as u32),
                        (0, true) => GrammarElement::CharNot(*low as u32),
                        _ => GrammarElement::CharAlt(*low as u32),
                    });
                    if high != low {
                        out.push(GrammarElement::CharRangeUpper(*high as u32));
                    }
                }
            }
            Expr::Seq(items) => {
                for item in items {
                    self.lower(item, out, parent);
                }
            }
            Expr::Alt(options) => {
                // When every option starts with a word, the gap before it
                // comes once, before the choice: the recogniser then
                // follows one way through the gap instead of one per
                // option (three times fewer stacks for a list of words).
                let bare: Option<Vec<Expr>> = options.iter().map(without_leading_gap).collect();
                let id = match bare {
                    Some(bare) if options.len() > 1 => {
                        out.push(GrammarElement::RuleRef(GAP));
                        self.rule(&name, &bare)
                    }
                    _ => self.rule(&name, options),
                };
                out.push(GrammarElement::RuleRef(id));
            }
            Expr::Optional(inner) => {
                let id = self.rule(&name, &[(**inner).clone(), Expr::Seq(Vec::new())]);
                out.push(GrammarElement::RuleRef(id));
            }
            Expr::Repeat(inner) => {
                // r ::= item r | item   (item must not match nothing, or
                // whisper.cpp would recurse for ever)
                let item = match &**inner {
                    Expr::Rule(id) => *id,
                    other => self.rule(&name, std::slice::from_ref(other)),
                };
                let id = self.reserve(&name);
                let body = [
                    Expr::Seq(vec![Expr::Rule(item), Expr::Rule(id)]),
                    Expr::Rule(item),
                ];
                self.define(id, &body);
                out.push(GrammarElement::RuleRef(id));
            }
            Expr::Rule(id) => out.push(GrammarElement::RuleRef(*id)),
        }
    }

    /// A named rule made once: lists and built-in values.
    fn shared(&mut self, name: &str, make: impl FnOnce(&mut Self) -> Vec<Expr>) -> u32 {
        if let Some(&id) = self.named.get(name) {
            return id;
        }
        let id = self.reserve(name);
        self.named.insert(name.to_string(), id);
        let body = make(self);
        self.define(id, &body);
        id
    }
}

impl Templates {
    /// The templates as a grammar for a speech recogniser (see the
    /// module's documentation).
    pub fn grammar(&self) -> Grammar {
        let mut b = Builder {
            rules: Vec::new(),
            names: Vec::new(),
            named: HashMap::new(),
        };
        let root = b.reserve("root");
        let gap = b.reserve("gap");
        debug_assert_eq!(gap, GAP);
        let punctuation = |chars: &str| Expr::Set {
            ranges: chars.chars().map(|c| (c, c)).collect(),
            negated: false,
        };
        b.define(
            gap,
            &[
                Expr::Seq(vec![
                    Expr::Optional(Box::new(punctuation(",.!?"))),
                    Expr::Text(" ".into()),
                ]),
                Expr::Text("-".into()),
            ],
        );
        let sentences: Vec<Expr> = self
            .templates
            .iter()
            .map(|t| self.sequence(&t.nodes, &mut b))
            .collect();
        let sentence = b.rule("sentence", &sentences);
        b.define(
            root,
            &[Expr::Seq(vec![
                Expr::Rule(sentence),
                Expr::Optional(Box::new(punctuation(".?!"))),
            ])],
        );
        Grammar {
            rules: b.rules,
            names: b.names,
        }
    }

    fn sequence(&self, nodes: &[Node], b: &mut Builder) -> Expr {
        Expr::Seq(nodes.iter().map(|n| self.node(n, b)).collect())
    }

    fn node(&self, node: &Node, b: &mut Builder) -> Expr {
        match node {
            Node::Words(words) => words_expr(words),
            Node::Choice { options, optional } => {
                let alternatives = Expr::Alt(options.iter().map(|o| self.sequence(o, b)).collect());
                if *optional {
                    Expr::Optional(Box::new(alternatives))
                } else {
                    alternatives
                }
            }
            Node::AnyOrder { parts, .. } => {
                // Any part, once or more: the parts with their own
                // optional groups taken as said, so that no repetition
                // can match nothing.
                let parts = parts
                    .iter()
                    .map(|part| {
                        let said: Vec<Node> = part.iter().map(required).collect();
                        self.sequence(&said, b)
                    })
                    .collect();
                // Optional even when the group is not: its parts may all
                // be optional, and the grammar only steers.
                Expr::Optional(Box::new(Expr::Repeat(Box::new(Expr::Alt(parts)))))
            }
            Node::Slot { list, .. } => Expr::Rule(self.list_rule(*list, b)),
        }
    }

    fn list_rule(&self, list: List, b: &mut Builder) -> u32 {
        match list {
            List::Phrases(i) => {
                let phrases = &self.lists[i];
                b.shared(&format!("list-{}", phrases.name), |_| {
                    phrases.items.iter().map(|(w, _)| words_expr(w)).collect()
                })
            }
            // Flat repetitions of words: nested ones would let whisper.cpp
            // follow every way to split "twenty five" at once.
            List::Number => b.shared("number", |_| {
                numbers_and(&["a", "and", "point", "minus"], false)
            }),
            List::Duration => b.shared("duration", |_| {
                numbers_and(
                    &[
                        "a", "an", "and", "half", "second", "seconds", "minute", "minutes", "hour",
                        "hours", "day", "days",
                    ],
                    false,
                )
            }),
            List::Time => b.shared("time", |_| {
                numbers_and(
                    &[
                        "am", "pm", "a.m.", "p.m.", "o'clock", "noon", "midnight", "half", "past",
                        "quarter", "to", "a",
                    ],
                    true,
                )
            }),
            List::Date => b.shared("date", |_| {
                vec![Expr::Seq(vec![
                    Expr::Optional(Box::new(one_of_words(&["next", "this", "on"]))),
                    one_of_words(&values::DAYS),
                ])]
            }),
            // Anything at all, to the end: the recogniser is free there.
            List::Any => b.shared("any", |b| {
                let id = b.named["any"];
                let char = Expr::Set {
                    ranges: vec![('\0', '\0')],
                    negated: true,
                };
                vec![Expr::Seq(vec![char, Expr::Rule(id)]), Expr::Seq(Vec::new())]
            }),
        }
    }
}

/// The gap rule is always rule 1 (see [`Templates::grammar`]).
const GAP: u32 = 1;

/// Digits after a gap, as a word.
fn spaced_digits() -> Expr {
    Expr::Seq(vec![Expr::Rule(GAP), digits()])
}

/// `expr` without the gap before its first word; `None` when it does not
/// start with a word.
fn without_leading_gap(expr: &Expr) -> Option<Expr> {
    match expr {
        Expr::Word(word) => Some(Expr::BareWord(word.clone())),
        Expr::Seq(items) => {
            let (first, rest) = items.split_first()?;
            let mut bare = vec![without_leading_gap(first)?];
            bare.extend(rest.iter().cloned());
            Some(Expr::Seq(bare))
        }
        _ => None,
    }
}

/// Numbers, in digits or words, and the `extra` words, in any order
/// once or more; `clock`: `7:30` too.
fn numbers_and(extra: &[&str], clock: bool) -> Vec<Expr> {
    let mut words: Vec<&str> = values::number_words().collect();
    words.extend_from_slice(extra);
    let mut options = vec![spaced_digits(), one_of_words(&words)];
    if clock {
        options.push(Expr::Seq(vec![
            spaced_digits(),
            Expr::Text(":".into()),
            digits(),
        ]));
    }
    vec![Expr::Repeat(Box::new(Expr::Alt(options)))]
}

/// Digits, with the separators numbers are written with: `12`, `1,500`,
/// `3.5`.
fn digits() -> Expr {
    let digit = Expr::Set {
        ranges: vec![('0', '9')],
        negated: false,
    };
    let more = Expr::Set {
        ranges: vec![('0', '9'), (',', ','), ('.', '.')],
        negated: false,
    };
    Expr::Seq(vec![
        digit,
        Expr::Optional(Box::new(Expr::Repeat(Box::new(more)))),
    ])
}

fn one_of_words(words: &[&str]) -> Expr {
    Expr::Alt(words.iter().map(|w| Expr::Word(w.to_string())).collect())
}

/// Template words in a row; a run of number words ("twenty five") may
/// also be written in digits ("25").
fn words_expr(words: &[String]) -> Expr {
    let mut items = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let run = words[i..]
            .iter()
            .take_while(|w| values::number_words().any(|n| n == w.as_str()))
            .count();
        let as_written: Vec<&str> = words[i..i + run].iter().map(String::as_str).collect();
        match values::number(&as_written).filter(|&(_, used)| used == run && run > 0) {
            Some((value, _)) if value.fract() == 0.0 => {
                let spoken = Expr::Seq(
                    as_written
                        .iter()
                        .map(|w| Expr::Word(w.to_string()))
                        .collect(),
                );
                items.push(Expr::Alt(vec![
                    spoken,
                    Expr::Word(format!("{}", value as i64)),
                ]));
                i += run;
            }
            _ => {
                items.push(Expr::Word(words[i].clone()));
                i += 1;
            }
        }
    }
    Expr::Seq(items)
}

/// `node` with an optional group taken as said (the group's options).
fn required(node: &Node) -> Node {
    match node {
        Node::Choice { options, .. } => Node::Choice {
            options: options.clone(),
            optional: false,
        },
        Node::AnyOrder { parts, .. } => Node::AnyOrder {
            parts: parts.clone(),
            optional: false,
        },
        other => other.clone(),
    }
}
