//! What `respond` does with a request: responses parsed into pieces,
//! filled with the intent's slots.

use crate::chain::{slot_text, Reply, Skill};
use hark_sdk::api::IntentMessage;
use std::collections::BTreeMap;

/// A response, parsed: text, slots, and optional parts.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Piece {
    Text(String),
    Slot(String),
    Optional(Vec<Piece>),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Response(pub(super) Vec<Piece>);

impl Response {
    pub(super) fn parse(text: &str) -> Result<Response, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut at = 0;
        let pieces = parse_pieces(&chars, &mut at, false)?;
        Ok(Response(pieces))
    }

    /// The response with `value`'s slots filled, if every slot outside
    /// brackets has a value.
    pub(super) fn fill(&self, value: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        let mut out = String::new();
        fill_pieces(&self.0, value, &mut out)?;
        Some(tidy(&out))
    }
}

pub(super) fn parse_pieces(
    chars: &[char],
    at: &mut usize,
    inside: bool,
) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    while *at < chars.len() {
        match chars[*at] {
            '[' => {
                *at += 1;
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                let inner = parse_pieces(chars, at, true)?;
                if chars.get(*at) != Some(&']') {
                    return Err("`[` is not closed by `]`".into());
                }
                *at += 1;
                pieces.push(Piece::Optional(inner));
            }
            ']' if inside => break,
            ']' => return Err(format!("unexpected `]` at character {}", *at + 1)),
            '{' => {
                let end = chars[*at..]
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or("`{` is not closed by `}`")?;
                let name: String = chars[*at + 1..*at + end].iter().collect();
                let name = name.trim();
                if name.is_empty() {
                    return Err("a `{}` names no slot".into());
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Slot(name.to_string()));
                *at += end + 1;
            }
            c => {
                text.push(c);
                *at += 1;
            }
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

pub(super) fn fill_pieces(
    pieces: &[Piece],
    value: &dyn Fn(&str) -> Option<String>,
    out: &mut String,
) -> Option<()> {
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Slot(name) => out.push_str(&value(name)?),
            Piece::Optional(inner) => {
                let mut part = String::new();
                if fill_pieces(inner, value, &mut part).is_some() {
                    out.push_str(&part);
                }
            }
        }
    }
    Some(())
}

/// Spaces made single, none before punctuation.
pub(super) fn tidy(text: &str) -> String {
    let mut out = String::new();
    for word in text.split_whitespace() {
        let glued = word.starts_with([',', '.', '!', '?', ';', ':']);
        if !out.is_empty() && !glued {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A running `respond` skill.
pub struct RespondSkill {
    pub(super) responses: BTreeMap<String, Vec<Response>>,
}

impl Skill for RespondSkill {
    fn answer(&mut self, intent: &IntentMessage) -> Option<Reply> {
        let responses = self.responses.get(intent.name.as_str())?;
        let value = |name: &str| slot_text(intent, name).filter(|v| !v.is_empty());
        responses
            .iter()
            .find_map(|r| r.fill(&value))
            .map(Reply::say)
    }
}
