//! `reader`: "read this" / "what does it say". The same intent that
//! reaches this skill through the chain also reaches an image source
//! beside it (the vision plugin's `snapshot`, which takes a picture on
//! that intent, then `ocr`); the skill waits for the text on `document`
//! and answers with it, so the conversation node speaks it and logs it
//! like any other answer. (The image path is not fed by this skill:
//! pipelines have no cycles.)
//!
//! ```ron
//! "reader": (plugin: "skills", kind: "reader", config: (timeout_ms: 20000)),
//! "look": (plugin: "vision", kind: "snapshot", config: (intent: "read.this", from: "folder", path: "~/Pictures")),
//! // links: "nlu.intent -> look.trigger", "look.image -> ocr.image",
//! //        "ocr.text -> reader.document", "look.error -> reader.document",
//! //        "calculator.out -> reader.in", "reader.out -> home.in",
//! ```

use std::time::{Duration, Instant};

use hark_sdk::{api::IntentMessage, prelude::*, ConfigIssue, Value};

use crate::chain::{answer, field, skill_spec, value_text, Reply};

/// The `reader` kind.
pub struct Reader;

/// Settings of `reader`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReaderSettings {
    /// The intent that asks for reading.
    pub intent: String,
    /// How long to wait for the text (ms) before saying it did not come.
    pub timeout_ms: u32,
}

impl Default for ReaderSettings {
    fn default() -> Self {
        ReaderSettings {
            intent: "read.this".into(),
            timeout_ms: 20_000,
        }
    }
}

impl Settings for ReaderSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::string(
                "intent",
                "the intent that asks to read the latest image (read.this)",
            ),
            Field::integer(
                "timeout_ms",
                "u32",
                "how long to wait for the image's text before giving up",
            ),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if self.intent.is_empty() {
            return Err(ConfigIssue::field("intent", "`intent` is empty"));
        }
        if !(100..=600_000).contains(&self.timeout_ms) {
            return Err(ConfigIssue::field(
                "timeout_ms",
                "timeout_ms must be within 100..=600000",
            ));
        }
        Ok(())
    }
}

/// How long a document that came before its request is kept.
const EARLY_KEPT: Duration = Duration::from_secs(5);

/// A request waiting for its text.
struct Pending {
    meta: MessageMeta,
    intent: IntentMessage,
    deadline: Instant,
}

/// A running `reader`.
pub struct ReaderNode {
    settings: ReaderSettings,
    pending: Option<Pending>,
    /// A document that came before its request (the image path was
    /// faster than the chain), with its utterance and when it came.
    early: Option<(u64, String, Instant)>,
}

impl NodeKind for Reader {
    type Settings = ReaderSettings;
    type Instance = ReaderNode;

    fn spec() -> KindSpec {
        skill_spec(
            "reader",
            "Reads the latest image aloud on \"read this\" (with the vision plugin)",
        )
        .input(
            Port::any("document")
                .doc("the image's text (Text, from `ocr`), or `{error: ...}` (from `snapshot`)"),
        )
    }

    fn create(settings: ReaderSettings, _ctx: &Context) -> Result<ReaderNode, Error> {
        Ok(ReaderNode {
            settings,
            pending: None,
            early: None,
        })
    }
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
    fn finish(&mut self, say: String, out: &mut Outputs) -> Result<(), Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_sentences() {
        assert_eq!(
            reply_for("EXIT\nKeep door closed"),
            "It says: EXIT. Keep door closed"
        );
        assert_eq!(reply_for("Hello.\nWorld"), "It says: Hello. World");
        assert_eq!(reply_for(" \n"), "I can't see any text in the image.");
    }
}
