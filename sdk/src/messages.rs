//! Constructors for common messages.

use hark_plugin_api::{
    abi_stable::std_types::{RArc, RBox, RString, RVec},
    AudioFrame, Message, MessageMeta, Payload, TextMessage, Value, ValueEntry,
};

/// An audio message from interleaved samples.
pub fn audio_message(
    meta: MessageMeta,
    sample_rate: u32,
    channels: u16,
    samples: Vec<f32>,
) -> Message {
    Message::new(
        meta,
        Payload::Audio(AudioFrame {
            sample_rate,
            channels,
            samples: RArc::new(RVec::from(samples)),
        }),
    )
}

/// A final text message with no language and full confidence.
pub fn text_message(meta: MessageMeta, text: impl Into<String>) -> Message {
    Message::new(
        meta,
        Payload::Text(RBox::new(TextMessage {
            text: RString::from(text.into()),
            is_final: true,
            language: RString::new(),
            confidence: 1.0,
        })),
    )
}

/// A `Value::Map` of `entries`, in order.
pub fn value_map<'a>(entries: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(key, value)| ValueEntry {
                key: key.into(),
                value,
            })
            .collect(),
    )
}

/// The entry `key` of a map value (`None` for a missing key or a value
/// that is not a map).
pub fn value_field<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Map(entries) => entries
            .iter()
            .find(|e| e.key.as_str() == key)
            .map(|e| &e.value),
        _ => None,
    }
}
