//! The running `reader` node.

use crate::chain::{answer, field, value_text, Reply};
use hark_sdk::{api::IntentMessage, prelude::*, Value};
use std::time::{Duration, Instant};

use super::*;

/// How long a document that came before its request is kept.
pub(super) const EARLY_KEPT: Duration = Duration::from_secs(5);

/// A request waiting for its text.
pub(super) struct Pending {
    pub(super) meta: MessageMeta,
    pub(super) intent: IntentMessage,
    pub(super) deadline: Instant,
}

/// A running `reader`.
pub struct ReaderNode {
    pub(super) settings: ReaderSettings,
    pub(super) pending: Option<Pending>,
    /// A document that came before its request (the image path was
    /// faster than the chain), with its utterance and when it came.
    pub(super) early: Option<(u64, String, Instant)>,
}

/// What to say for the text read in an image.
pub fn reply_for(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return "I can't see any text in the image.".into();
    }
    // Rows become sentences, so the voice pauses between them.
    let mut said = String::from("It says: ");
    for (i, line) in lines.iter().enumerate() {
        said.push_str(line);
        let ends = line.ends_with(['.', '!', '?', ':', ';', '。', '！', '？']);
        if i + 1 < lines.len() && !ends {
            said.push('.');
        }
        if i + 1 < lines.len() {
            said.push(' ');
        }
    }
    said
}

impl ReaderNode {
    pub(super) fn finish(&mut self, say: String, out: &mut Outputs) -> Result<(), Error> {
        if let Some(p) = self.pending.take() {
            out.emit(0, answer(p.meta, &p.intent, &Reply::say(say)))?;
        }
        Ok(())
    }
}

impl Node for ReaderNode {
    fn on_message(&mut self, port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        if port == 1 {
            // The document: only wanted while a request waits for it.
            let say = match &message.payload {
                Payload::Text(t) => reply_for(&t.text),
                Payload::Value(value @ Value::Map(_)) => {
                    let error =
                        field(value, "error").map_or_else(|| "no reason given".into(), value_text);
                    format!("I could not get an image to read: {error}.")
                }
                _ => return Ok(()),
            };
            if self.pending.is_none() {
                self.early = Some((message.meta.utterance, say, Instant::now()));
                return Ok(());
            }
            return self.finish(say, out);
        }
        match &message.payload {
            Payload::Intent(intent) if intent.name.as_str() == self.settings.intent => {
                if self.pending.is_some() {
                    // One at a time: the newer request replaces the older.
                    self.finish("Never mind that one.".into(), out)?;
                }
                self.pending = Some(Pending {
                    meta: message.meta,
                    intent: (**intent).clone(),
                    deadline: Instant::now()
                        + Duration::from_millis(u64::from(self.settings.timeout_ms)),
                });
                match self.early.take() {
                    Some((utterance, say, at))
                        if utterance == message.meta.utterance && at.elapsed() < EARLY_KEPT =>
                    {
                        self.finish(say, out)
                    }
                    _ => Ok(()),
                }
            }
            _ => out.emit(0, message),
        }
    }

    /// While a request waits, keep the node (and a WAV run) alive, and
    /// give up at the deadline.
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        let Some(p) = &self.pending else {
            return Ok(Produce::Finished);
        };
        let now = Instant::now();
        if now >= p.deadline {
            self.finish("I could not read the image in time.".into(), out)?;
            return Ok(Produce::Finished);
        }
        std::thread::sleep((p.deadline - now).min(Duration::from_millis(50)));
        Ok(Produce::More)
    }
}
