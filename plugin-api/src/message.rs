//! What flows between nodes.
//!
//! A [`Message`] is metadata plus one [`Payload`]. Bulk data (audio samples,
//! image pixels) sits behind an `RArc`, so forwarding a message to several
//! links or through a pass-through node copies a pointer, never the data.
//!
//! Messages are moved through queues and across the boundary by value, so
//! [`Message`] is kept small (72 bytes): payloads larger than a few words
//! (text, intents) are boxed. `hark bench` measured the difference: each
//! copy of a 176-byte message cost about 5 ns per hop.
//!
//! The set of payload variants is fixed for an ABI major version: adding a
//! variant changes the enum's layout. New kinds of data travel as
//! [`Value`] until the next major version.

use abi_stable::{
    std_types::{RArc, RBox, RString, RVec},
    StableAbi,
};

/// Metadata every message carries.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MessageMeta {
    /// Stream time of the message's start, in nanoseconds since the source
    /// began (for audio: the first sample's time).
    pub timestamp_ns: u64,
    /// Conversation/session id; 0 when the pipeline has a single session.
    pub session: u64,
    /// Utterance id within the session, assigned by the node that segments
    /// speech; 0 before any segmentation.
    pub utterance: u64,
    /// Only present when plugin-api is built with the `test-altered-layout`
    /// feature, to give hark's own tests a plugin with a different ABI.
    #[cfg(feature = "test-altered-layout")]
    pub sequence: u64,
}

/// One message.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct Message {
    /// Time and ids.
    pub meta: MessageMeta,
    /// The data.
    pub payload: Payload,
}

/// The data a message carries.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone)]
pub enum Payload {
    /// PCM audio.
    Audio(AudioFrame),
    /// Text (a transcript, a reply, a line of a file).
    Text(RBox<TextMessage>),
    /// A recognised intent with slots.
    Intent(RBox<IntentMessage>),
    /// A picture.
    Image(ImageFrame),
    /// A control event; may travel on any link.
    Control(ControlEvent),
    /// A structured value for everything else.
    Value(Value),
}

/// Interleaved 32-bit float PCM audio.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct AudioFrame {
    /// Samples per second per channel.
    pub sample_rate: u32,
    /// Number of interleaved channels.
    pub channels: u16,
    /// Interleaved samples in [-1, 1]; shared, never copied by the host.
    pub samples: RArc<RVec<f32>>,
}

/// Text, possibly a partial transcript.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct TextMessage {
    /// The text, UTF-8.
    pub text: RString,
    /// `false` for a partial result that a later message replaces.
    pub is_final: bool,
    /// BCP 47 language tag (`"en"`), empty when unknown.
    pub language: RString,
    /// Confidence in [0, 1]; 1 when not applicable.
    pub confidence: f32,
}

/// A recognised intent.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct IntentMessage {
    /// Intent name, `"unknown"` below the recogniser's threshold.
    pub name: RString,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// The text the intent was recognised from.
    pub text: RString,
    /// Slots found in `text`.
    pub slots: RVec<Slot>,
    /// Other intents considered, best first.
    pub alternatives: RVec<IntentAlternative>,
}

/// A slot of an intent.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct Slot {
    /// Slot name (`"room"`).
    pub name: RString,
    /// The slot's text as found in the utterance.
    pub raw: RString,
    /// Byte offset of `raw` in the intent's `text`.
    pub start: u32,
    /// Byte offset one past the end of `raw`.
    pub end: u32,
    /// Normalised value (`"ten minutes"` -> `Int(600)` seconds, ...).
    pub value: Value,
}

/// Another intent a recogniser considered.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct IntentAlternative {
    /// Intent name.
    pub name: RString,
    /// Confidence in [0, 1].
    pub confidence: f32,
}

/// Layout of an image's pixel bytes.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// 8-bit grey, one byte per pixel.
    Gray8 = 0,
    /// 8-bit RGB, three bytes per pixel.
    Rgb8 = 1,
    /// 8-bit RGBA, four bytes per pixel.
    Rgba8 = 2,
}

/// A picture.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ImageFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixel layout.
    pub format: PixelFormat,
    /// Row-major pixel bytes without padding; shared, never copied.
    pub data: RArc<RVec<u8>>,
}

/// An in-band control event.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlEvent {
    /// Speech started (emitted by a voice activity detector).
    UtteranceStart = 0,
    /// Speech ended.
    UtteranceEnd = 1,
    /// A wake word was heard.
    Wake = 2,
    /// Cancel what is in progress (barge-in, "stop").
    Cancel = 3,
    /// No more messages will come on this link. The host generates it when
    /// an upstream node finishes and turns it into a `flush` call; nodes do
    /// not see it in `on_message`.
    EndOfStream = 4,
}

/// A structured value, for data without a dedicated payload type.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub enum Value {
    /// Nothing.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(RString),
    /// A list.
    List(RVec<Value>),
    /// An ordered map with string keys.
    Map(RVec<ValueEntry>),
}

/// One entry of a [`Value::Map`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct ValueEntry {
    /// The key.
    pub key: RString,
    /// The value.
    pub value: Value,
}

// Keep messages small: they are copied on every hop.
#[cfg(not(feature = "test-altered-layout"))]
const _: () = assert!(std::mem::size_of::<Message>() <= 72);

impl Message {
    /// A message with the given metadata and payload.
    pub fn new(meta: MessageMeta, payload: Payload) -> Self {
        Message { meta, payload }
    }

    /// The end-of-stream marker the host sends down a link.
    pub fn end_of_stream() -> Self {
        Message::new(
            MessageMeta::default(),
            Payload::Control(ControlEvent::EndOfStream),
        )
    }

    /// Whether this is the end-of-stream marker.
    pub fn is_end_of_stream(&self) -> bool {
        matches!(self.payload, Payload::Control(ControlEvent::EndOfStream))
    }

    /// The [`crate::MessageType`] of the payload.
    pub fn message_type(&self) -> crate::MessageType {
        match self.payload {
            Payload::Audio(_) => crate::MessageType::Audio,
            Payload::Text(_) => crate::MessageType::Text,
            Payload::Intent(_) => crate::MessageType::Intent,
            Payload::Image(_) => crate::MessageType::Image,
            Payload::Control(_) => crate::MessageType::Control,
            Payload::Value(_) => crate::MessageType::Value,
        }
    }
}
