//! The skill chain: skills are nodes in a row, each with one input and one
//! output of any type. An intent a skill answers leaves it as an
//! **answer**; one it does not answer passes on unchanged, as does
//! everything else (answers of earlier skills, control events). The last
//! node, `conversation`, answers what is left (help, repeat, stop, and a
//! polite fallback) and turns answers into speech and log lines.
//!
//! An answer is a `Value::Map`, so that a skill from another plugin can
//! make one:
//!
//! | key          | value                                              |
//! |--------------|----------------------------------------------------|
//! | `kind`       | `"answer"`, or `"announcement"` (nobody asked: a timer) |
//! | `reply`      | what to say                                        |
//! | `text`       | the transcript (answers only)                      |
//! | `intent`     | the intent's name (answers only)                   |
//! | `confidence` | the intent's confidence (answers only)             |
//! | `slots`      | `name=value` pairs, space-separated (answers only) |
//! | `cancel`     | `true` to stop what is being said first (`stop`)   |

use std::time::{Duration, Instant};

use hark_sdk::{api::IntentMessage, prelude::*, value_map, Value};

/// What a skill says in answer to an intent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reply {
    /// What to say; empty for nothing.
    pub say: String,
    /// Stop what is being said first.
    pub cancel: bool,
}

impl Reply {
    /// A reply that says `text`.
    pub fn say(text: impl Into<String>) -> Reply {
        Reply {
            say: text.into(),
            cancel: false,
        }
    }
}

/// One skill: the intents it answers, and announcements of its own.
pub trait Skill: Send + 'static {
    /// `Err` when the skill cannot go on (a thread of its own panicked):
    /// the node fails, and its restart policy applies.
    fn check(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Answers `intent`, or `None` to pass it on.
    fn answer(&mut self, intent: &IntentMessage) -> Option<Reply>;

    /// An announcement that is due now (a finished timer), if any.
    fn due(&mut self, now: Instant) -> Option<String> {
        let _ = now;
        None
    }

    /// When the next announcement will be due, if one is pending.
    fn next_due(&self) -> Option<Instant> {
        None
    }
}

/// The node around a [`Skill`].
pub struct SkillNode<S: Skill> {
    skill: S,
}

impl<S: Skill> SkillNode<S> {
    /// Wraps `skill`.
    pub fn new(skill: S) -> Self {
        SkillNode { skill }
    }
}

/// The ports every skill has.
pub fn skill_spec(name: &'static str, summary: &'static str) -> KindSpec {
    KindSpec::transform(name, summary)
        .input(
            Port::new("in", MessageType::Any)
                .doc("intents, and answers of earlier skills (passed on)"),
        )
        .output(
            Port::new("out", MessageType::Any)
                .doc("answers (Value maps), and intents this skill does not answer"),
        )
}

/// Longest a skill waits in `produce` before looking at its inputs again.
const POLL: Duration = Duration::from_millis(50);

impl<S: Skill> Node for SkillNode<S> {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        self.skill.check()?;
        if let Payload::Intent(intent) = &message.payload {
            if let Some(reply) = self.skill.answer(intent) {
                return out.emit(0, answer(message.meta, intent, &reply));
            }
        }
        out.emit(0, message)
    }

    /// Announcements: while one is pending, wait for it in short steps
    /// (the host calls again, seeing input in between).
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        let now = Instant::now();
        if let Some(text) = self.skill.due(now) {
            out.emit(0, announcement(&text))?;
            return Ok(Produce::More);
        }
        match self.skill.next_due() {
            Some(at) => {
                std::thread::sleep(at.saturating_duration_since(now).min(POLL));
                Ok(Produce::More)
            }
            None => Ok(Produce::Finished),
        }
    }
}

/// The answer message for `intent`.
pub fn answer(meta: MessageMeta, intent: &IntentMessage, reply: &Reply) -> Message {
    let slots: Vec<String> = intent
        .slots
        .iter()
        .map(|s| format!("{}={}", s.name, value_text(&s.value)))
        .collect();
    let map = value_map([
        ("kind", Value::Str("answer".into())),
        ("reply", Value::Str(reply.say.as_str().into())),
        ("text", Value::Str(intent.text.clone())),
        ("intent", Value::Str(intent.name.clone())),
        ("confidence", Value::Float(intent.confidence.into())),
        ("slots", Value::Str(slots.join(" ").into())),
        ("cancel", Value::Bool(reply.cancel)),
    ]);
    Message::new(meta, Payload::Value(map))
}

/// An announcement nobody asked for (a finished timer).
pub fn announcement(text: &str) -> Message {
    let map = value_map([
        ("kind", Value::Str("announcement".into())),
        ("reply", Value::Str(text.into())),
    ]);
    Message::new(MessageMeta::default(), Payload::Value(map))
}

/// A value as text (`600`, `kitchen lights`).
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => number(*f),
        Value::Str(s) => s.to_string(),
        Value::List(items) => items.iter().map(value_text).collect::<Vec<_>>().join(","),
        Value::Map(entries) => entries
            .iter()
            .map(|e| format!("{}:{}", e.key, value_text(&e.value)))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// The named entry of a map value.
pub use hark_sdk::value_field as field;

/// The value of slot `name`.
pub fn slot<'a>(intent: &'a IntentMessage, name: &str) -> Option<&'a Value> {
    intent
        .slots
        .iter()
        .find(|s| s.name.as_str() == name)
        .map(|s| &s.value)
}

/// A slot as a number.
pub fn slot_number(intent: &IntentMessage, name: &str) -> Option<f64> {
    match slot(intent, name)? {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A slot as text.
pub fn slot_text(intent: &IntentMessage, name: &str) -> Option<String> {
    slot(intent, name).map(value_text)
}

/// A number as it should be said: integers plainly, others with at most
/// three decimals and no trailing zeros.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{}", value as i64);
    }
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A duration as it should be said: `3 seconds`, `1 hour and 30 seconds`.
pub fn duration(seconds: i64) -> String {
    let units = [
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    let mut parts = Vec::new();
    let mut rest = seconds.max(0);
    for (size, name) in units {
        let n = rest / size;
        rest %= size;
        if n > 0 {
            parts.push(format!("{n} {name}{}", if n == 1 { "" } else { "s" }));
        }
    }
    match parts.len() {
        0 => "0 seconds".into(),
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{} and {last}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_durations_read_well() {
        assert_eq!(number(84.0), "84");
        assert_eq!(number(6.213712), "6.214");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(duration(3), "3 seconds");
        assert_eq!(duration(600), "10 minutes");
        assert_eq!(duration(3630), "1 hour and 30 seconds");
        assert_eq!(duration(3661), "1 hour, 1 minute and 1 second");
    }
}
