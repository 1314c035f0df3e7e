//! whisper.cpp behind a small safe API: a model shared by every node of
//! the process, a decoding state per node, one call per transcription.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Weak},
};

use hark_sdk::prelude::*;
use parking_lot::Mutex;
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use super::TranscribeSettings;

/// Audio samples per second whisper expects.
pub const SAMPLE_RATE: usize = 16_000;
/// Encoder frames per second of audio (10 ms mel hop, stride-2 conv).
const FRAMES_PER_SECOND: usize = 50;
/// The encoder's full context: 30 s.
const FULL_AUDIO_CONTEXT: usize = 1500;
/// Utterances up to this long are decoded with a shrunk audio context;
/// past it the saving is small and accuracy starts to suffer.
const SHRINK_UP_TO_S: usize = 15;
/// Frames of context beyond the audio when shrinking. Measured on JFK's
/// utterances with tiny.en: a 1 s margin sends the decoder into repetition
/// loops on some utterances; 4 s transcribes like the full window.
const CONTEXT_MARGIN_FRAMES: usize = 4 * FRAMES_PER_SECOND;
/// whisper.cpp returns nothing for input under 1 s; shorter audio is
/// padded with silence to this many samples.
const MIN_SAMPLES: usize = SAMPLE_RATE + SAMPLE_RATE / 10;

/// Models loaded in this process, by canonical path. Weak: a model is
/// freed with the last node using it.
static MODELS: Mutex<Vec<(PathBuf, Weak<WhisperContext>)>> = Mutex::new(Vec::new());

/// The model at `path`, loaded once per process; `log` hears about a load.
fn shared_model(path: &Path, log: &dyn Fn(&str)) -> Result<Arc<WhisperContext>, Error> {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mut models = MODELS.lock();
    models.retain(|(_, m)| m.strong_count() > 0);
    if let Some(model) = models
        .iter()
        .find(|(p, _)| *p == canonical)
        .and_then(|(_, m)| m.upgrade())
    {
        return Ok(model);
    }
    // whisper.cpp logs every step of loading to stderr; route it nowhere
    // (whisper-rs sends it to `log`, which this plugin does not set up).
    whisper_rs::install_logging_hooks();
    let started = std::time::Instant::now();
    let model = WhisperContext::new_with_params(&canonical, WhisperContextParameters::default())
        .map_err(|e| {
            Error::config(format!(
                "could not load the whisper model {}: {e}",
                canonical.display()
            ))
            .with_hint("the file may be truncated or not a whisper.cpp ggml model; fetch it again with `hark models fetch`")
        })?;
    log(&format!(
        "model loaded: {} in {} ms",
        canonical.display(),
        started.elapsed().as_millis()
    ));
    let model = Arc::new(model);
    models.push((canonical, Arc::downgrade(&model)));
    Ok(model)
}

/// whisper.cpp here is built for x86-64-v3 (see `.cargo/config.toml`):
/// refuse clearly on a CPU without those instructions rather than die of
/// SIGILL in the middle of a pipeline.
pub fn check_cpu() -> Result<(), Error> {
    #[cfg(target_arch = "x86_64")]
    {
        let missing: Vec<&str> = [
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
            ("f16c", std::arch::is_x86_feature_detected!("f16c")),
        ]
        .into_iter()
        .filter(|(_, has)| !has)
        .map(|(name, _)| name)
        .collect();
        if !missing.is_empty() {
            return Err(Error::config(format!(
                "this build of whisper.cpp needs a CPU with AVX2, FMA and F16C; this one lacks {}",
                missing.join(", ")
            ))
            .with_hint(
                "rebuild the plugin for this CPU: `GGML_NATIVE=ON cargo build --release -p hark-plugin-whisper`",
            ));
        }
    }
    Ok(())
}

/// A transcription.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// The text, trimmed; empty when nothing was said.
    pub text: String,
    /// Mean probability of the text's tokens.
    pub confidence: f32,
    /// Detected or configured language.
    pub language: String,
}

/// A model and a decoding state: what one node decodes with.
pub struct Engine {
    model: Arc<WhisperContext>,
    state: WhisperState,
    language: Option<String>,
    threads: i32,
    initial_prompt: String,
    shrink_audio_context: bool,
    strategy: SamplingStrategy,
}

impl Engine {
    /// Loads (or shares) the model at `path` and makes a state for it;
    /// `log` hears about the model being loaded.
    pub fn new(
        path: &Path,
        settings: &TranscribeSettings,
        log: &dyn Fn(&str),
    ) -> Result<Self, Error> {
        let model = shared_model(path, log)?;
        let language = match settings.language.trim() {
            "" | "auto" => None,
            code => Some(code.to_string()),
        };
        if !model.is_multilingual() && language.as_deref().is_none_or(|l| l != "en") {
            return Err(Error::config(format!(
                "{} is an English-only model; language {:?} needs a multilingual one",
                path.display(),
                settings.language
            ))
            .with_hint(
                "set language: \"en\", or use model: \"base\" (`hark models fetch whisper-base`)",
            ));
        }
        let state = model
            .create_state()
            .map_err(|e| Error::failed(format!("whisper.cpp could not allocate a state: {e}")))?;
        let threads = match settings.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
            n => n as usize,
        };
        let strategy = match settings.strategy.as_str() {
            "beam" => SamplingStrategy::BeamSearch {
                beam_size: settings.beam_size as i32,
                patience: -1.0,
            },
            _ => SamplingStrategy::Greedy { best_of: 1 },
        };
        Ok(Engine {
            model,
            state,
            language,
            threads: threads as i32,
            initial_prompt: settings.initial_prompt.clone(),
            shrink_audio_context: settings.shrink_audio_context,
            strategy,
        })
    }

    /// The encoder frames to use for `samples` of audio: what short
    /// utterances need plus a margin (whisper was trained on full 30 s
    /// windows and misbehaves on a context cut right at the end of
    /// speech), rounded up to 64 frames; the full window otherwise.
    fn audio_context(&self, samples: usize) -> i32 {
        if !self.shrink_audio_context || samples > SHRINK_UP_TO_S * SAMPLE_RATE {
            return 0; // whisper.cpp's default: the model's full context
        }
        let frames = samples.div_ceil(SAMPLE_RATE / FRAMES_PER_SECOND);
        ((frames + CONTEXT_MARGIN_FRAMES).div_ceil(64) * 64).min(FULL_AUDIO_CONTEXT) as i32
    }

    /// Transcribes 16 kHz mono `samples`.
    pub fn transcribe(&mut self, samples: &[f32]) -> Result<Transcript, Error> {
        let mut padded;
        let audio = if samples.len() < MIN_SAMPLES {
            padded = samples.to_vec();
            padded.resize(MIN_SAMPLES, 0.0);
            &padded[..]
        } else {
            samples
        };
        let mut params = FullParams::new(self.strategy.clone());
        params.set_n_threads(self.threads);
        params.set_language(Some(self.language.as_deref().unwrap_or("auto")));
        params.set_detect_language(false);
        params.set_translate(false);
        params.set_no_context(true);
        params.set_no_timestamps(true);
        params.set_single_segment(audio.len() <= 30 * SAMPLE_RATE);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_audio_ctx(self.audio_context(audio.len()));
        // A bound on repetition loops: people say at most ~5 tokens a
        // second; whisper.cpp counts the limit per segment.
        params.set_max_tokens((audio.len() / SAMPLE_RATE * 8 + 32) as i32);
        if !self.initial_prompt.is_empty() {
            params.set_initial_prompt(&self.initial_prompt);
        }
        self.state
            .full(params, audio)
            .map_err(|e| Error::failed(format!("whisper.cpp failed to transcribe: {e}")))?;

        let eot = self.model.token_eot();
        let mut text = String::new();
        let (mut probability_sum, mut tokens) = (0f32, 0u32);
        for segment in self.state.as_iter() {
            text.push_str(&segment.to_str_lossy().unwrap_or_default());
            for i in 0..segment.n_tokens() {
                if let Some(token) = segment.get_token(i) {
                    if token.token_id() < eot {
                        probability_sum += token.token_probability();
                        tokens += 1;
                    }
                }
            }
        }
        let language = match &self.language {
            Some(l) => l.clone(),
            None => whisper_rs::get_lang_str(self.state.full_lang_id_from_state())
                .unwrap_or("")
                .to_string(),
        };
        Ok(Transcript {
            text: clean(&text),
            confidence: if tokens == 0 {
                0.0
            } else {
                probability_sum / tokens as f32
            },
            language,
        })
    }
}

/// Trims the text, drops whole-text non-speech annotations whisper
/// writes for silence or noise (`[BLANK_AUDIO]`, `(music)`, `[ Silence ]`),
/// and drops a sentence that repeats the one before it word for word
/// (whisper's decoder loops that way, more so with an initial prompt:
/// "Turn on the lamp. Turn on the lamp." for one request).
fn clean(text: &str) -> String {
    let text = text.trim();
    let annotation = |open, close| {
        text.starts_with(open) && text.ends_with(close) && text.matches(open).count() == 1
    };
    if annotation('[', ']') || annotation('(', ')') {
        return String::new();
    }
    let mut kept: Vec<&str> = Vec::new();
    for sentence in sentences(text) {
        let same = |a: &str, b: &str| {
            let key = |s: &str| s.trim().trim_end_matches(['.', '?', '!']).to_lowercase();
            key(a) == key(b)
        };
        if !kept.last().is_some_and(|last| same(last, sentence)) {
            kept.push(sentence);
        }
    }
    kept.concat().trim().to_string()
}

/// `text` cut after each `.`, `?` or `!` that ends a word (the pieces,
/// concatenated, give `text` back).
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate() {
        let ends_word = chars.get(i + 1).is_none_or(|(_, n)| n.is_whitespace());
        if matches!(c, '.' | '?' | '!') && ends_word {
            let end = at + c.len_utf8();
            out.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn non_speech_annotations_are_dropped() {
        assert_eq!(clean(" [BLANK_AUDIO]"), "");
        assert_eq!(clean("(upbeat music)"), "");
        assert_eq!(clean(" Turn on the lights. "), "Turn on the lights.");
        assert_eq!(clean("[a] and [b]"), "[a] and [b]");
    }

    #[test]
    fn a_sentence_repeated_word_for_word_is_kept_once() {
        assert_eq!(
            clean(" What is 12 times 7? What is 12 times 7?"),
            "What is 12 times 7?"
        );
        assert_eq!(clean("No. No. Yes."), "No. Yes.");
        assert_eq!(clean("It is 3.5 meters. Ok."), "It is 3.5 meters. Ok.");
        assert_eq!(clean("Turn on. Turn off."), "Turn on. Turn off.");
    }
}
