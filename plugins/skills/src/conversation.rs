//! `conversation`: the end of the skill chain.
//!
//! It answers what no skill before it did — `help` ("what can you do"),
//! `repeat`, `stop` (stops speech: a `Cancel` goes out first) and, for
//! anything else, a short polite fallback — then turns every answer into
//! the text to speak (`reply`) and a log line (`log`):
//!
//! ```text
//! heard "set a timer for 3 seconds" → timer.set (1.00) duration=3 → "Timer set for 3 seconds."
//! ```
//!
//! **Barge-in.** Linked to a VAD's `events`, it sends `Cancel` down
//! `reply` when speech starts, so speech over the assistant stops it
//! (the TTS drops its queue, the speaker its buffer).

use hark_sdk::{api::IntentMessage, prelude::*, Value};

use crate::chain::{self, Reply};

/// The `conversation` kind.
pub struct Conversation;

/// Settings of `conversation`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConversationSettings {
    /// Said when nothing understood the request.
    pub fallback: String,
    /// Said for a request understood but that no skill answers.
    pub unsupported: String,
    /// Said for `help`.
    pub help: String,
    /// Stop speaking when the user starts speaking (needs `events`).
    pub barge_in: bool,
}

impl Default for ConversationSettings {
    fn default() -> Self {
        ConversationSettings {
            fallback: "Sorry, I didn't understand that.".into(),
            unsupported: "Sorry, I can't help with that yet.".into(),
            help: "I can tell you the time and the date, set timers, do arithmetic, \
                   convert units, and turn your lights on and off."
                .into(),
            barge_in: true,
        }
    }
}

impl Settings for ConversationSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::string("fallback", "said when nothing understood the request"),
            Field::string(
                "unsupported",
                "said when a request was understood but no skill answers it",
            ),
            Field::string("help", "said when asked what the assistant can do"),
            Field::bool(
                "barge_in",
                "stop speaking when the user starts speaking (link a VAD's events to `events`)",
            ),
        ]
    }
}

/// A running `conversation` node.
pub struct ConversationNode {
    settings: ConversationSettings,
    last_reply: String,
}

impl NodeKind for Conversation {
    type Settings = ConversationSettings;
    type Instance = ConversationNode;

    fn spec() -> KindSpec {
        KindSpec::transform(
            "conversation",
            "End of the skill chain: help, repeat, stop, fallback; replies to speak and log lines",
        )
        .input(Port::new("in", MessageType::Any).doc("intents and answers from the skill chain"))
        .input(
            Port::new("events", MessageType::Control)
                .optional()
                .doc("a VAD's UtteranceStart events, for barge-in"),
        )
        .output(Port::text("reply").doc("what to say, and Cancel to stop saying it"))
        .output(Port::text("log").doc("one line per request: transcript, intent, slots, reply"))
    }

    fn create(settings: ConversationSettings, _: &Context) -> Result<ConversationNode, Error> {
        Ok(ConversationNode {
            settings,
            last_reply: String::new(),
        })
    }
}

impl ConversationNode {
    fn answer(&self, intent: &IntentMessage) -> Reply {
        match intent.name.as_str() {
            "help" => Reply::say(self.settings.help.clone()),
            "repeat" if self.last_reply.is_empty() => Reply::say("I haven't said anything yet."),
            "repeat" => Reply::say(self.last_reply.clone()),
            "stop" => Reply {
                say: String::new(),
                cancel: true,
            },
            "unknown" => Reply::say(self.settings.fallback.clone()),
            _ => Reply::say(self.settings.unsupported.clone()),
        }
    }

    fn cancel(out: &mut Outputs, meta: MessageMeta) -> Result<(), Error> {
        out.emit(
            0,
            Message::new(meta, Payload::Control(ControlEvent::Cancel)),
        )
    }

    /// Speaks and logs an answer map (see [`crate::chain`]).
    fn deliver(
        &mut self,
        meta: MessageMeta,
        answer: &Value,
        out: &mut Outputs,
    ) -> Result<(), Error> {
        let text = |key: &str| {
            chain::field(answer, key)
                .map(chain::value_text)
                .unwrap_or_default()
        };
        let reply = text("reply");
        if matches!(chain::field(answer, "cancel"), Some(Value::Bool(true))) {
            Self::cancel(out, meta)?;
        }
        let line = match text("kind").as_str() {
            "announcement" => format!("announce → \"{reply}\""),
            _ => {
                let slots = text("slots");
                let confidence = match chain::field(answer, "confidence") {
                    Some(Value::Float(c)) => format!(" ({c:.2})"),
                    _ => String::new(),
                };
                let slots = if slots.is_empty() {
                    String::new()
                } else {
                    format!(" {slots}")
                };
                let said = if reply.is_empty() {
                    "(stops speaking)".to_string()
                } else {
                    format!("\"{reply}\"")
                };
                format!(
                    "heard \"{}\" → {}{confidence}{slots} → {said}",
                    text("text"),
                    text("intent")
                )
            }
        };
        if !reply.is_empty() {
            if text("intent") != "repeat" {
                self.last_reply = reply.clone();
            }
            out.emit(0, text_message(meta, reply))?;
        }
        out.emit(1, text_message(meta, line))
    }
}

impl Node for ConversationNode {
    fn on_message(&mut self, port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        match (port, &message.payload) {
            (1, Payload::Control(ControlEvent::UtteranceStart)) if self.settings.barge_in => {
                Self::cancel(out, message.meta)
            }
            (1, _) => Ok(()),
            (_, Payload::Intent(intent)) => {
                let reply = self.answer(intent);
                let answer = chain::answer(message.meta, intent, &reply);
                let Payload::Value(value) = &answer.payload else {
                    return Ok(());
                };
                self.deliver(message.meta, value, out)
            }
            (_, Payload::Value(value)) if chain::field(value, "reply").is_some() => {
                self.deliver(message.meta, value, out)
            }
            (_, Payload::Control(ControlEvent::Cancel)) => out.emit(0, message),
            _ => Ok(()),
        }
    }
}
