//! Constructors for common messages.

use hark_plugin_api::{
    abi_stable::std_types::{RArc, RBox, RString, RVec},
    AudioFrame, Message, MessageMeta, Payload, TextMessage, Value, ValueEntry,
};

/// Sample rates Hark handles, in Hz: telephone-band to studio rates. A
/// rate outside (a corrupt header, a hostile client) is refused where it
/// enters, before it sizes a buffer or a resampler.
pub const SAMPLE_RATES: std::ops::RangeInclusive<u32> = 1_000..=384_000;

/// Most interleaved channels Hark handles in one frame.
pub const MAX_CHANNELS: u16 = 32;

/// Checks an audio format against [`SAMPLE_RATES`] and [`MAX_CHANNELS`];
/// the error says what was found and what is allowed.
///
/// ```
/// assert!(hark_sdk::check_audio_format(16_000, 1).is_ok());
/// assert_eq!(
///     hark_sdk::check_audio_format(4_000_000_000, 1).unwrap_err(),
///     "a sample rate of 4000000000 Hz is outside the 1000 to 384000 Hz Hark handles"
/// );
/// ```
pub fn check_audio_format(sample_rate: u32, channels: u16) -> Result<(), String> {
    if !SAMPLE_RATES.contains(&sample_rate) {
        return Err(format!(
            "a sample rate of {sample_rate} Hz is outside the {} to {} Hz Hark handles",
            SAMPLE_RATES.start(),
            SAMPLE_RATES.end()
        ));
    }
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(format!(
            "{channels} channels is outside the 1 to {MAX_CHANNELS} Hark handles"
        ));
    }
    Ok(())
}

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
