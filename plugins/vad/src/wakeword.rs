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

use std::{collections::VecDeque, path::PathBuf};

use hark_sdk::{
    api::Directory,
    inference::{Model, Tensor},
    prelude::*,
    ConfigIssue,
};

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

/// Samples per step (80 ms at 16 kHz).
const CHUNK: usize = 1280;
/// Samples of context before each step, for the mel frames at its start.
const CONTEXT: usize = 480;
/// Mel frames per embedding.
const MEL_WINDOW: usize = 76;
/// Embeddings per wake word score.
const EMBEDDINGS: usize = 16;
const MEL_BANDS: usize = 32;
const EMBEDDING: usize = 96;

/// A running `wakeword` node.
pub struct WakeWordNode {
    mel: Model,
    embed: Model,
    wake: Model,
    threshold: f32,
    listen_samples: usize,
    /// Samples not yet stepped, with `CONTEXT` before them.
    raw: Vec<f32>,
    mels: VecDeque<[f32; MEL_BANDS]>,
    embeddings: VecDeque<Vec<f32>>,
    /// Samples still to let through.
    open_for: usize,
    ctx: Context,
    last_score: f32,
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

fn first_f32(outputs: &[Tensor], what: &str) -> Result<Vec<f32>, Error> {
    outputs
        .first()
        .and_then(|t| t.as_f32())
        .map(<[f32]>::to_vec)
        .ok_or_else(|| Error::failed(format!("the {what} model gave no f32 output")))
}

impl WakeWordNode {
    /// One 80 ms step: mel frames, an embedding, a score.
    fn step(&mut self) -> Result<Option<f32>, Error> {
        // openWakeWord feeds int16-scaled samples.
        let x: Vec<f32> = self.raw[..CHUNK + CONTEXT]
            .iter()
            .map(|s| s * 32768.0)
            .collect();
        self.raw.drain(..CHUNK);
        let frames = first_f32(
            &self.mel.run(vec![Tensor::f32(&[1, CHUNK + CONTEXT], x)])?,
            "melspectrogram",
        )?;
        for frame in frames.chunks_exact(MEL_BANDS) {
            let mut f = [0.0; MEL_BANDS];
            for (o, v) in f.iter_mut().zip(frame) {
                *o = v / 10.0 + 2.0;
            }
            self.mels.push_back(f);
        }
        while self.mels.len() > MEL_WINDOW {
            self.mels.pop_front();
        }
        if self.mels.len() < MEL_WINDOW {
            return Ok(None);
        }
        let window: Vec<f32> = self.mels.iter().flatten().copied().collect();
        let embedding = first_f32(
            &self
                .embed
                .run(vec![Tensor::f32(&[1, MEL_WINDOW, MEL_BANDS, 1], window)])?,
            "embedding",
        )?;
        if embedding.len() != EMBEDDING {
            return Err(Error::failed(format!(
                "the embedding model gave {} values, not {EMBEDDING}",
                embedding.len()
            )));
        }
        self.embeddings.push_back(embedding);
        if self.embeddings.len() > EMBEDDINGS {
            self.embeddings.pop_front();
        }
        if self.embeddings.len() < EMBEDDINGS {
            return Ok(None);
        }
        let features: Vec<f32> = self.embeddings.iter().flatten().copied().collect();
        let score = first_f32(
            &self
                .wake
                .run(vec![Tensor::f32(&[1, EMBEDDINGS, EMBEDDING], features)])?,
            "wake word",
        )?;
        Ok(score.first().copied())
    }
}

impl Node for WakeWordNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        let Payload::Audio(frame) = &message.payload else {
            return out.emit(0, message);
        };
        // Audio passes while the gate is open (what is left of it).
        if self.open_for > 0 {
            let n = frame.samples.len().min(self.open_for);
            self.open_for -= n;
            let passed = if n == frame.samples.len() {
                message.clone()
            } else {
                audio_message(
                    message.meta,
                    frame.sample_rate,
                    1,
                    frame.samples[..n].to_vec(),
                )
            };
            out.emit(0, passed)?;
        }
        self.raw.extend_from_slice(&frame.samples);
        while self.raw.len() >= CHUNK + CONTEXT {
            if let Some(score) = self.step()? {
                self.last_score = score;
                if score >= self.threshold && self.open_for == 0 {
                    self.ctx
                        .info(&format!("wake word heard (score {score:.3})"));
                    self.ctx.counter_add("wakes", 1);
                    let wake = Message::new(message.meta, Payload::Control(ControlEvent::Wake));
                    out.emit(1, wake)?;
                    self.open_for = self.listen_samples;
                }
            }
        }
        self.ctx.gauge_set("score", self.last_score as f64);
        Ok(())
    }
}
