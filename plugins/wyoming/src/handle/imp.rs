//! The running `handle` node.

use hark_sdk::{prelude::*, text_message};
use hark_wyoming::Event;
use serde_json::json;

use super::*;

/// A running `handle` node.
pub struct HandleNode {
    pub(super) remote: Remote,
}

impl Node for HandleNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        match &message.payload {
            Payload::Text(text) if text.is_final && !text.text.trim().is_empty() => {
                let request = [Event::with_data(
                    "transcript",
                    json!({ "text": text.text.as_str() }),
                )];
                let mut reply = None;
                let answered = self.remote.exchange(&request, |event| match event {
                    Some(event) if matches!(event.kind.as_str(), "handled" | "not-handled") => {
                        reply = Some(event.str("text").unwrap_or_default().to_string());
                        true
                    }
                    Some(_) => false,
                    None => {
                        reply = None;
                        false
                    }
                });
                match (answered, reply) {
                    (Ok(()), Some(reply)) if !reply.is_empty() => {
                        out.emit(0, text_message(message.meta, reply))
                    }
                    (Ok(()), _) => Ok(()),
                    (Err(failure), _) => {
                        self.remote.report(failure);
                        Ok(())
                    }
                }
            }
            Payload::Control(_) => out.emit(0, message),
            _ => Ok(()),
        }
    }
}
