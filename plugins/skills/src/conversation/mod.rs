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

mod imp;

pub use imp::ConversationNode;

use hark_sdk::prelude::*;

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
