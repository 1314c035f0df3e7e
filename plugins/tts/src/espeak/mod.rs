//! `espeak`: text to speech with espeak-ng.
//!
//! ```ron
//! "tts": (plugin: "tts", kind: "espeak", config: (voice: "en-us", rate: 175)),
//! ```
//!
//! Each final text is spoken sentence by sentence, 100 ms per `produce`,
//! and a `Cancel` stops it between two chunks (`crate::speech`).

mod imp;

pub use crate::speech::sentences;
pub use imp::{EspeakNode, EspeakVoice, SAMPLE_RATE};

pub(crate) mod ffi;

use hark_sdk::{prelude::*, ConfigIssue};

pub use ffi::{Synth, Voice};

/// The `espeak` kind.
pub struct Espeak;

/// Settings of `espeak`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EspeakSettings {
    /// espeak-ng voice (`en-us`, `en-gb`, `de`, `fr`, ...; `espeak-ng --voices` lists them).
    pub voice: String,
    /// Words per minute.
    pub rate: u32,
    /// Base pitch, 0..=100.
    pub pitch: u32,
    /// Volume, 0..=200 (100 normal).
    pub volume: u32,
}

impl Default for EspeakSettings {
    fn default() -> Self {
        EspeakSettings {
            voice: "en-us".to_string(),
            rate: 175,
            pitch: 50,
            volume: 100,
        }
    }
}

impl Settings for EspeakSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::string(
                "voice",
                "espeak-ng voice (en-us, en-gb, de, fr, ...; `espeak-ng --voices` lists them)",
            ),
            Field::integer("rate", "u32", "words per minute (80..=450)"),
            Field::integer("pitch", "u32", "base pitch (0..=100)"),
            Field::integer("volume", "u32", "volume (0..=200, 100 normal)"),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if !(80..=450).contains(&self.rate) {
            return Err(ConfigIssue::field(
                "rate",
                format!(
                    "rate must be within 80..=450 words per minute, not {}",
                    self.rate
                ),
            ));
        }
        if self.pitch > 100 {
            return Err(ConfigIssue::field("pitch", "pitch must be within 0..=100"));
        }
        if self.volume > 200 {
            return Err(ConfigIssue::field(
                "volume",
                "volume must be within 0..=200",
            ));
        }
        Ok(())
    }
}

impl NodeKind for Espeak {
    type Settings = EspeakSettings;
    type Instance = EspeakNode;

    fn spec() -> KindSpec {
        crate::speech::kind_spec(
            "espeak",
            "Text to speech with espeak-ng, sentence by sentence",
            SAMPLE_RATE,
        )
    }

    fn create(settings: EspeakSettings, ctx: &Context) -> Result<EspeakNode, Error> {
        let voice = Voice {
            name: settings.voice.clone(),
            rate: settings.rate,
            pitch: settings.pitch,
            volume: settings.volume,
        };
        // Check the voice now, so a typo fails at start-up, not mid-run.
        let mut synth = Synth::lock().map_err(|e| {
            Error::config(e).with_hint("install espeak-ng (`apt-get install espeak-ng`)")
        })?;
        synth.set_voice(&voice).map_err(|e| {
            Error::config(e).with_hint("`espeak-ng --voices` lists the voices installed")
        })?;
        if synth.sample_rate() != SAMPLE_RATE {
            return Err(Error::config(format!(
                "espeak-ng produces {} Hz audio; this plugin was built for {SAMPLE_RATE} Hz",
                synth.sample_rate()
            )));
        }
        Ok(EspeakNode::new(EspeakVoice::new(voice), *ctx))
    }
}
