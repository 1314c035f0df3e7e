//! `transcribe`: speech to text with whisper.cpp, one utterance at a time.
//!
//! ```ron
//! "stt": (plugin: "whisper", kind: "transcribe", config: (model: "tiny.en", language: "en")),
//! ```
//!
//! The input is 16 kHz mono audio. Behind a VAD, each utterance arrives
//! as `UtteranceStart`, its audio, `UtteranceEnd`: the node re-decodes
//! the growing buffer every `partial_interval_ms` (partial transcripts,
//! `is_final: false`) and decodes it once more at the end (the final
//! transcript, carrying the utterance id). Without VAD events the whole
//! stream is one utterance, cut every `max_utterance_s`, so a WAV file
//! can be transcribed directly; an utterance the VAD does not end within
//! `max_utterance_s` is cut the same way (each piece a final transcript
//! with the utterance's id), so the buffer never grows without bound.
//!
//! Short utterances are decoded with a shrunk audio context (the encoder
//! sees only as many frames as the audio needs, instead of a full 30 s
//! window): several times faster for a 2 s command. A decoder that starts
//! its sentence over is stopped, and a suspect transcript is decoded again
//! with the full window (`engine`).
//!
//! With `grammar` (a templates file, as the `nlu` node reads), the audio
//! is read a second time steered towards the templates' sentences, and
//! that reading is kept when it only respells the free one:
//!
//! ```ron
//! "stt": (plugin: "whisper", kind: "transcribe", config: (model: "tiny.en",
//!     grammar: "pipelines/coffee-maker/intents.ron")),
//! ```

mod engine;
mod greedy;
mod imp;
mod logits;

use std::path::PathBuf;

use hark_sdk::{api::Directory, prelude::*, ConfigIssue};

pub use engine::{Decoded, Engine, Suspicion, Transcript};
pub use imp::TranscribeNode;

/// The `transcribe` kind.
pub struct Transcribe;

/// Settings of `transcribe`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TranscribeSettings {
    /// A model name (`tiny.en`, `tiny.en-q8_0`, `base`: installed by
    /// `hark models fetch whisper-NAME`) or the path of a ggml `.bin` file.
    pub model: String,
    /// Spoken language (`en`, `de`, ...), or `auto` to detect it
    /// (multilingual models only).
    pub language: String,
    /// Decoding threads; 0 for one per core (at most 4).
    pub threads: u32,
    /// Text that primes the decoder (names, jargon, spelling style).
    pub initial_prompt: String,
    /// Shrink the encoder's audio context to the utterance's length.
    pub shrink_audio_context: bool,
    /// Decode again with the full window when a shrunk-context transcript
    /// looks wrong (a loop, a broken character, more text than the audio
    /// holds, an unlikely decode).
    pub redecode_suspect: bool,
    /// A sentence templates file (as the nlu node's `templates`) whose
    /// sentences recognition is steered towards; empty for none.
    pub grammar: String,
    /// How hard the grammar steers: tokens it has no place for lose this
    /// much from their logit (0: not at all; 100: never chosen).
    pub grammar_penalty: f32,
    /// `greedy` or `beam`.
    pub strategy: String,
    /// Beams for `strategy: "beam"`.
    pub beam_size: u32,
    /// Re-decode the growing utterance this often for partial
    /// transcripts (ms of audio); 0 turns partials off.
    pub partial_interval_ms: u32,
    /// Without VAD events, cut the stream into pieces this long (s).
    pub max_utterance_s: u32,
}

impl Default for TranscribeSettings {
    fn default() -> Self {
        TranscribeSettings {
            model: "tiny.en".to_string(),
            language: "en".to_string(),
            threads: 0,
            initial_prompt: String::new(),
            shrink_audio_context: true,
            redecode_suspect: true,
            grammar: String::new(),
            grammar_penalty: 10.0,
            strategy: "greedy".to_string(),
            beam_size: 5,
            partial_interval_ms: 1000,
            max_utterance_s: 30,
        }
    }
}

impl Settings for TranscribeSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::string(
                "model",
                "model name (tiny.en, tiny.en-q8_0, base; see `hark models list`) or path of a whisper.cpp ggml .bin",
            ),
            Field::string("language", "spoken language code (en, de, ...), or auto (multilingual models)"),
            Field::integer("threads", "u32", "decoding threads; 0: one per core, at most 4"),
            Field::string("initial_prompt", "text that primes the decoder (names, jargon)"),
            Field::bool(
                "shrink_audio_context",
                "encode only as much audio context as a short utterance needs (faster)",
            ),
            Field::bool(
                "redecode_suspect",
                "decode again with the full 30 s window when a shrunk-context transcript looks wrong",
            ),
            Field::path(
                "grammar",
                "sentence templates file (as the nlu node's `templates`) that steers recognition towards its sentences; empty: none",
            ),
            Field::float(
                "grammar_penalty",
                "f32",
                "how hard the grammar steers: logit taken from tokens it has no place for (0..=100)",
            ),
            Field::choice("strategy", &["greedy", "beam"], "decoding strategy"),
            Field::integer("beam_size", "u32", "beams for strategy: \"beam\""),
            Field::integer(
                "partial_interval_ms",
                "u32",
                "re-decode the growing utterance this often for partial transcripts; 0: off",
            ),
            Field::integer(
                "max_utterance_s",
                "u32",
                "transcribe at most this much audio at once: without VAD events the stream, and an utterance a VAD has not ended, go in pieces this long",
            ),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if self.model.trim().is_empty() {
            return Err(ConfigIssue::field("model", "model must not be empty")
                .with_hint("use \"tiny.en\", or the path of a ggml .bin file"));
        }
        if !matches!(self.strategy.as_str(), "greedy" | "beam") {
            return Err(ConfigIssue::field(
                "strategy",
                format!(
                    "strategy must be \"greedy\" or \"beam\", not {:?}",
                    self.strategy
                ),
            ));
        }
        if !(1..=16).contains(&self.beam_size) {
            return Err(ConfigIssue::field(
                "beam_size",
                "beam_size must be within 1..=16",
            ));
        }
        if !(0.0..=100.0).contains(&self.grammar_penalty) {
            return Err(ConfigIssue::field(
                "grammar_penalty",
                format!(
                    "grammar_penalty must be within 0..=100, not {}",
                    self.grammar_penalty
                ),
            )
            .with_hint("10 steers and still lets other speech through; 100 forces the grammar"));
        }
        if self.threads > 64 {
            return Err(ConfigIssue::field("threads", "threads must be at most 64"));
        }
        if !(1..=30).contains(&self.max_utterance_s) {
            return Err(ConfigIssue::field(
                "max_utterance_s",
                "max_utterance_s must be within 1..=30 (whisper sees 30 s at a time)",
            ));
        }
        if self.partial_interval_ms != 0 && self.partial_interval_ms < 200 {
            return Err(ConfigIssue::field(
                "partial_interval_ms",
                "partial_interval_ms must be 0 (off) or at least 200",
            )
            .with_hint("each partial re-decodes the whole utterance so far"));
        }
        Ok(())
    }
}

impl TranscribeSettings {
    /// The model file these settings name.
    pub fn model_path(&self, models_dir: &std::path::Path) -> PathBuf {
        let m = self.model.trim();
        if m.ends_with(".bin") || m.contains('/') {
            PathBuf::from(m)
        } else {
            models_dir.join(format!("whisper-{m}/ggml-{m}.bin"))
        }
    }
}

impl NodeKind for Transcribe {
    type Settings = TranscribeSettings;
    type Instance = TranscribeNode;

    fn spec() -> KindSpec {
        KindSpec::transform("transcribe", "Speech to text with whisper.cpp, per utterance")
            .input(
                Port::audio("audio")
                    .sample_rate(16_000)
                    .channels(1)
                    .doc("16 kHz mono speech; UtteranceStart/UtteranceEnd events (from `vad`) delimit utterances"),
            )
            .output(Port::text("text").doc(
                "partial transcripts (is_final: false) while speech goes on, then the final one",
            ))
    }

    fn create(settings: TranscribeSettings, ctx: &Context) -> Result<TranscribeNode, Error> {
        engine::check_cpu()?;
        let path = settings.model_path(&ctx.directory(Directory::Models));
        if !path.is_file() {
            let hint = if settings.model.ends_with(".bin") || settings.model.contains('/') {
                "check the path, or use a model name such as \"tiny.en\"".to_string()
            } else {
                format!(
                    "run `hark models fetch whisper-{}` (see `hark models list`)",
                    settings.model.trim()
                )
            };
            return Err(
                Error::config(format!("the whisper model {} is missing", path.display()))
                    .with_hint(hint),
            );
        }
        let engine = Engine::new(&path, &settings, &|line| ctx.info(line))?;
        Ok(TranscribeNode::new(engine, &settings, *ctx))
    }
}
