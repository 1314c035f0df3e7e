//! The running `conversation` node.

use crate::chain::{self, Reply};
use hark_sdk::{api::IntentMessage, prelude::*, Value};

use super::*;

/// A running `conversation` node.
pub struct ConversationNode {
    pub(super) settings: ConversationSettings,
    pub(super) last_reply: String,
}

impl ConversationNode {
    pub(super) fn answer(&self, intent: &IntentMessage) -> Reply {
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

    pub(super) fn cancel(out: &mut Outputs, meta: MessageMeta) -> Result<(), Error> {
        out.emit(
            0,
            Message::new(meta, Payload::Control(ControlEvent::Cancel)),
        )
    }

    /// Speaks and logs an answer map (see [`crate::chain`]).
    pub(super) fn deliver(
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
