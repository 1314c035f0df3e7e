//! `wakeword`: lets audio through only after a wake word ("hey jarvis"),
//! with openWakeWord's three ONNX models run by the host's model service:
//!
//! 1. `melspectrogram.onnx`: every 80 ms (1280 samples, plus 480 of
//!    context) → 32-band mel frames, scaled `x / 10 + 2`;
//! 2. `embedding_model.onnx`: the last 76 frames → a 96-dim embedding,
//!    once per 80 ms;
//! 3. the wake word model (`hey_jarvis_v0.1.onnx`): the last 16
//!    embeddings (1.28 s) → a score in 0..1.
//!
//! When the score reaches `threshold` the gate opens for `listen_ms` of
//! audio (a `Wake` event goes out first); otherwise nothing passes.
//! Put it between the microphone and the VAD; without it the assistant
//! listens to everything, so the stage is optional and swappable.
//!
//! **Licence**: openWakeWord's models are CC BY-NC-SA 4.0, for
//! non-commercial use only (`hark models fetch openwakeword`).
//!
//! ```ron
//! "wake": (plugin: "vad", kind: "wakeword", config: (threshold: 0.5, listen_ms: 6000)),
//! ```

mod imp;

pub use imp::WakeWordNode;
use imp::*;

use std::{collections::VecDeque, path::PathBuf};

use hark_sdk::{api::Directory, prelude::*, ConfigIssue};

/// The `wakeword` kind.
pub struct WakeWord;

/// Settings of `wakeword`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WakeWordSettings {
    /// Directory with the three models; empty for the installed `openwakeword`.
    pub models: String,
    /// The wake word model's file name in `models`.
    pub wake_word: String,
    /// Score (0..1) that wakes.
    pub threshold: f32,
    /// How long the gate stays open after the wake word, in ms.
    pub listen_ms: u32,
}

impl Default for WakeWordSettings {
    fn default() -> Self {
        WakeWordSettings {
            models: String::new(),
            wake_word: "hey_jarvis_v0.1.onnx".into(),
            threshold: 0.5,
            listen_ms: 6000,
        }
    }
}

impl Settings for WakeWordSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::path("models", "directory with melspectrogram.onnx, embedding_model.onnx and the wake word model; empty: the one `hark models fetch openwakeword` installs (CC BY-NC-SA 4.0: non-commercial)"),
            Field::string("wake_word", "the wake word model's file name (hey_jarvis_v0.1.onnx)"),
            Field::float("threshold", "f32", "score (0..1) at which the wake word is heard"),
            Field::integer("listen_ms", "u32", "how long audio passes after the wake word"),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if !(self.threshold > 0.0 && self.threshold < 1.0) {
            return Err(ConfigIssue::field(
                "threshold",
                format!("threshold must be within 0..1, not {}", self.threshold),
            ));
        }
        if self.listen_ms < 500 {
            return Err(ConfigIssue::field(
                "listen_ms",
                "listen_ms must be at least 500",
            ));
        }
        Ok(())
    }
}

impl NodeKind for WakeWord {
    type Settings = WakeWordSettings;
    type Instance = WakeWordNode;

    fn spec() -> KindSpec {
        KindSpec::transform(
            "wakeword",
            "Lets audio through after a wake word (openWakeWord, CC BY-NC-SA: non-commercial)",
        )
        .input(Port::audio("audio").sample_rate(16_000).channels(1))
        .output(
            Port::audio("audio")
                .sample_rate(16_000)
                .channels(1)
                .doc("the audio after each wake word, for listen_ms"),
        )
        .output(Port::new("events", MessageType::Control).doc("Wake, when the wake word is heard"))
    }

    fn create(settings: WakeWordSettings, ctx: &Context) -> Result<WakeWordNode, Error> {
        let dir = if settings.models.is_empty() {
            ctx.directory(Directory::Models).join("openwakeword")
        } else {
            PathBuf::from(&settings.models)
        };
        let core = ctx.inference()?;
        let load = |name: &str| {
            let path = dir.join(name);
            if !path.is_file() {
                return Err(Error::config(format!("the wake word model {} is missing", path.display()))
                    .with_hint("run `hark models fetch openwakeword` (CC BY-NC-SA 4.0: non-commercial use only), or set `models`"));
            }
            core.load_model(&path, &[])
        };
        Ok(WakeWordNode {
            mel: load("melspectrogram.onnx")?,
            embed: load("embedding_model.onnx")?,
            wake: load(&settings.wake_word)?,
            threshold: settings.threshold,
            listen_samples: settings.listen_ms as usize * 16,
            raw: vec![0.0; CONTEXT],
            mels: VecDeque::new(),
            embeddings: VecDeque::new(),
            open_for: 0,
            ctx: *ctx,
            last_score: 0.0,
        })
    }
}
