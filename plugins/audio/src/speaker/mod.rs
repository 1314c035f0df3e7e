//! `speaker`: plays audio on a sound device (cpal).
//!
//! ```ron
//! "speaker": (plugin: "audio", kind: "speaker", config: (device: "default")),
//! ```
//!
//! The device opens at the rate and channels of the first frame (ALSA's
//! `default` converts whatever it gets). The node keeps at most
//! `buffer_ms` of audio ahead of the device and waits beyond that, so the
//! pipeline runs at the pace of playback. `Cancel` drops what is buffered
//! (barge-in); at the end of the stream the node waits for the buffer to
//! play out.

mod imp;

pub use imp::SpeakerNode;

use hark_sdk::{prelude::*, ConfigIssue};

use crate::device::{choose_config, find, Direction};

/// The `speaker` kind.
pub struct Speaker;

/// Settings of `speaker`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeakerSettings {
    /// Device: empty or "default", an index from `hark devices`, or (part of) a name.
    pub device: String,
    /// Audio kept ahead of the device (ms): more is smoother, less reacts faster to Cancel.
    pub buffer_ms: u32,
}

impl Default for SpeakerSettings {
    fn default() -> Self {
        SpeakerSettings {
            device: String::new(),
            buffer_ms: 200,
        }
    }
}

impl Settings for SpeakerSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::string(
                "device",
                "device: empty/\"default\", an index from `hark devices`, or (part of) its name",
            ),
            Field::integer(
                "buffer_ms",
                "u32",
                "audio kept ahead of the device (20..=5000)",
            ),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if !(20..=5000).contains(&self.buffer_ms) {
            return Err(ConfigIssue::field(
                "buffer_ms",
                "buffer_ms must be within 20..=5000",
            ));
        }
        Ok(())
    }
}

impl NodeKind for Speaker {
    type Settings = SpeakerSettings;
    type Instance = SpeakerNode;

    fn spec() -> KindSpec {
        KindSpec::sink("speaker", "Plays audio on a sound device")
            .input(Port::audio("audio").doc("audio to play; a Cancel event drops what is buffered"))
    }

    fn create(settings: SpeakerSettings, ctx: &Context) -> Result<SpeakerNode, Error> {
        // Find the device and its default format now: a missing or
        // unusable one fails at start-up, not at the first reply (ALSA
        // names a "default" device even on machines without a card).
        let device = find(&settings.device, Direction::Output)?;
        choose_config(&device, Direction::Output, 0, 0)?;
        Ok(SpeakerNode {
            settings,
            ctx: *ctx,
            open: None,
        })
    }
}
