//! Constructors for common messages.

use hark_plugin_api::{
    abi_stable::std_types::{RArc, RBox, RString, RVec},
    AudioFrame, Message, MessageMeta, Payload, TextMessage,
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
