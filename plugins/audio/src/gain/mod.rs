//! `gain`: multiplies audio by a gain given in decibels.
//!
//! ```ron
//! "louder": (plugin: "audio", kind: "gain", config: (gain_db: 6.0)),
//! ```

mod imp;

use hark_sdk::{prelude::*, ConfigIssue};

pub use imp::GainNode;

/// The `gain` kind.
pub struct Gain;

/// Settings of `gain`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GainSettings {
    /// Gain in decibels.
    pub gain_db: f32,
}

impl Settings for GainSettings {
    fn fields() -> Vec<Field> {
        vec![Field::float(
            "gain_db",
            "f32",
            "gain in decibels (-96..=48); negative attenuates, 0 passes audio unchanged",
        )]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if !(-96.0..=48.0).contains(&self.gain_db) {
            return Err(ConfigIssue::field(
                "gain_db",
                format!("gain_db must be within -96..=48, not {}", self.gain_db),
            )
            .with_hint(
                "+6 dB doubles the amplitude; more than +48 dB is almost certainly a mistake",
            ));
        }
        Ok(())
    }
}

impl NodeKind for Gain {
    type Settings = GainSettings;
    type Instance = GainNode;

    fn spec() -> KindSpec {
        KindSpec::transform("gain", "Multiplies audio by a gain in decibels")
            .input(Port::audio("audio"))
            .output(Port::audio("audio").doc("same rate and channels as the input"))
    }

    fn create(settings: GainSettings, _ctx: &Context) -> Result<GainNode, Error> {
        Ok(GainNode::new(settings.gain_db))
    }
}
