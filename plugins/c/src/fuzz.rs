//! The door for the `c_bridge` fuzz target (`hark-tests`' `src/fuzz.rs`):
//! the conversions between Hark's messages and settings and what C code
//! sees and hands back. Not part of the plugin's API.
//!
//! A C library is code Hark does not control: what it passes to
//! `hark_emit` may claim any payload, length, rate or channel count. The
//! bridge must refuse what is malformed with an error (the node's
//! failure), never panic or read past what the library gave.

use std::ffi::c_char;

use hark_sdk::api::{MessageMeta, Payload};

use crate::{
    bridge::{c_view, setting_text, to_message},
    ffi::{self, HarkMessage},
};

/// A message from C built from `data` (payload tag, flags, rate,
/// channels, then the bytes both the text and the samples are read
/// from), converted as `hark_emit` converts it; when accepted, converted
/// back to the view a C node gets and again to a message, which must be
/// the same. Then `data` as a setting's RON value, turned into the text
/// `hark_setting` returns. Panics when an invariant breaks.
pub fn message_conversion(data: &[u8]) {
    let [tag, flags, r0, r1, r2, r3, c0, c1, bytes @ ..] = data else {
        return;
    };
    let payload = match tag % 4 {
        0 => ffi::PAYLOAD_TEXT,
        1 => ffi::PAYLOAD_AUDIO,
        _ => u32::from(*tag),
    };
    let sample_rate = u32::from_le_bytes([*r0, *r1, *r2, *r3]);
    let channels = u16::from_le_bytes([*c0, *c1]);
    let samples: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    // Lengths never exceed what the pointers hold (the header's contract,
    // which C code that breaks it breaks for any host); NULL with a
    // length, and lengths of zero with or without a pointer, are fair.
    let text_len = if flags & 1 != 0 { 0 } else { bytes.len() };
    let sample_count = if flags & 2 != 0 { 0 } else { samples.len() };
    let m = HarkMessage {
        payload,
        text: if flags & 4 != 0 {
            std::ptr::null()
        } else {
            bytes.as_ptr() as *const c_char
        },
        text_len,
        samples: if flags & 8 != 0 {
            std::ptr::null()
        } else {
            samples.as_ptr()
        },
        sample_count,
        sample_rate,
        channels,
    };
    let meta = MessageMeta::default();
    // SAFETY: every pointer is NULL or valid for the length beside it.
    let converted = unsafe { to_message(&m, meta) };
    let well_formed = match payload {
        ffi::PAYLOAD_TEXT => text_len == 0 || flags & 4 == 0,
        ffi::PAYLOAD_AUDIO => {
            sample_rate > 0
                && channels > 0
                && sample_count.is_multiple_of(usize::from(channels))
                && (sample_count == 0 || flags & 8 == 0)
        }
        _ => false,
    };
    let message = match converted {
        Ok(message) => {
            assert!(well_formed, "accepted a malformed message from C");
            message
        }
        Err(e) => {
            assert!(!well_formed, "refused a well-formed message from C: {e}");
            assert!(e.message().starts_with("hark_emit: "), "{}", e.message());
            return setting(bytes);
        }
    };
    match &message.payload {
        Payload::Text(t) => {
            assert_eq!(t.text.as_str(), String::from_utf8_lossy(&bytes[..text_len]))
        }
        Payload::Audio(a) => {
            assert_eq!((a.sample_rate, a.channels), (sample_rate, channels));
            assert!(bits(&a.samples).eq(bits(&samples[..sample_count])));
        }
        other => panic!("C handed text or audio, the bridge made {other:?}"),
    }

    // Back to what a C node is handed, and into a message again.
    let mut text_with_nul = Vec::new();
    let view = c_view(&message.payload, &mut text_with_nul).expect("text and audio have a view");
    if view.payload == ffi::PAYLOAD_TEXT {
        assert_eq!(text_with_nul.last(), Some(&0), "C strings end with NUL");
        assert_eq!(view.text_len + 1, text_with_nul.len());
    }
    // SAFETY: the view points into `message` and `text_with_nul`, alive.
    let again = unsafe { to_message(&view, meta) }.expect("a view of a message converts back");
    match (&message.payload, &again.payload) {
        (Payload::Text(a), Payload::Text(b)) => assert_eq!(a.text, b.text),
        (Payload::Audio(a), Payload::Audio(b)) => {
            assert_eq!((a.sample_rate, a.channels), (b.sample_rate, b.channels));
            assert!(bits(&a.samples).eq(bits(&b.samples)));
        }
        (a, b) => panic!("{a:?} came back as {b:?}"),
    }
    setting(bytes);
}

/// `bytes` as a setting's value: the text C code reads has no NUL in it,
/// and a string setting reads as itself.
fn setting(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let Ok(value) = ron::from_str::<ron::Value>(&text) else {
        return;
    };
    match setting_text(&value) {
        Ok(c) => {
            if let ron::Value::String(s) = &value {
                assert_eq!(c.to_str().ok(), Some(s.as_str()));
            }
        }
        Err(why) => assert_eq!(why, "contains a NUL character", "{value:?}"),
    }
}

/// Samples by their bits (NaN equals itself).
fn bits(samples: &[f32]) -> impl Iterator<Item = u32> + '_ {
    samples.iter().map(|s| s.to_bits())
}
