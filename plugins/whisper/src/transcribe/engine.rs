//! whisper.cpp behind a small safe API: a model shared by every node of
//! the process, a decoding state per node, one call per transcription.
//!
//! A short utterance is decoded first with a shrunk audio context (the
//! encoder sees only the audio and a margin, not 30 s: several times
//! faster). whisper was trained on full windows, and now and then a
//! shrunk decode goes wrong: the decoder loops ("Turn on the living room
//! ... Turn on the living room ..."), writes far more than the audio can
//! hold, is unsure of every word, or ends inside a character. Such a
//! transcript is suspect ([`Decoded::suspect`]) and the utterance is
//! decoded again with the full window, so the fast path costs accuracy
//! nothing. The text is put together from the tokens' bytes as a whole,
//! so a character split across two tokens is never broken.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, OnceLock, Weak},
};

use hark_nlu::templates::Grammar;
use hark_sdk::prelude::*;
use parking_lot::Mutex;
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use super::{
    greedy::{Greedy, Suppressed},
    logits::{self, Filter, Steer, TokenTrie},
    TranscribeSettings,
};

/// Audio samples per second whisper expects.
pub const SAMPLE_RATE: usize = 16_000;
/// Encoder frames per second of audio (10 ms mel hop, stride-2 conv).
const FRAMES_PER_SECOND: usize = 50;
/// The encoder's full context: 30 s.
const FULL_AUDIO_CONTEXT: usize = 1500;
/// Utterances up to this long are decoded with a shrunk audio context;
/// past it the saving is small and accuracy starts to suffer.
const SHRINK_UP_TO_S: usize = 15;
/// Frames of context beyond the audio when shrinking. The less margin,
/// the more often tiny.en loops, saying the utterance again and again;
/// the logits filter stops such loops (see `logits`), and what is still
/// suspect is decoded again with the full window. Measured on 150 real
/// spoken orders (docs/performance.md): a 1 s margin left 4 utterances
/// to decode again, 2 s none, at 235 ms median (4 s: 285 ms).
const CONTEXT_MARGIN_FRAMES: usize = 2 * FRAMES_PER_SECOND;
/// whisper.cpp returns nothing for input under 1 s; shorter audio is
/// padded with silence to this many samples.
const MIN_SAMPLES: usize = SAMPLE_RATE + SAMPLE_RATE / 10;

/// A loaded model, and its vocabulary as a trie (made the first time a
/// node steers with a grammar).
pub struct Model {
    context: WhisperContext,
    vocabulary: OnceLock<(TokenTrie, Suppressed)>,
}

impl Model {
    /// The vocabulary as a trie, and the tokens never let into text.
    fn vocabulary(&self) -> &(TokenTrie, Suppressed) {
        self.vocabulary
            .get_or_init(|| (TokenTrie::of(&self.context), Suppressed::of(&self.context)))
    }
}

/// Models loaded in this process, by canonical path. Weak: a model is
/// freed with the last node using it.
static MODELS: Mutex<Vec<(PathBuf, Weak<Model>)>> = Mutex::new(Vec::new());

/// The model at `path`, loaded once per process; `log` hears about a load.
fn shared_model(path: &Path, log: &dyn Fn(&str)) -> Result<Arc<Model>, Error> {
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
    let model = Arc::new(Model {
        context: model,
        vocabulary: OnceLock::new(),
    });
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
    /// Why the shrunk-context decode was set aside and the full window
    /// used, if it was.
    pub redecoded: Option<Suspicion>,
    /// With a grammar: whether the steered reading was taken (it only
    /// respelled the free one) or not (the speech is not in the grammar).
    pub steered: Option<bool>,
}

/// Why a transcript looks wrong on its face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suspicion {
    /// Bytes that are not UTF-8 (U+FFFD): the decoder stopped inside a
    /// character, or wandered into byte tokens.
    BrokenCharacter,
    /// The same words over and over: the decoder is looping.
    Loop,
    /// More tokens than the audio can hold.
    TooLong,
    /// The decoder was unsure of its tokens (mean log probability below
    /// whisper's own threshold, -1).
    Unlikely,
}

impl std::fmt::Display for Suspicion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Suspicion::BrokenCharacter => "a broken character",
            Suspicion::Loop => "a repetition loop",
            Suspicion::TooLong => "more text than the audio holds",
            Suspicion::Unlikely => "an unlikely transcript",
        })
    }
}

/// What one decode gave.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The text as decoded (not cleaned).
    pub text: String,
    /// Text tokens.
    pub tokens: usize,
    /// Mean probability of the text tokens.
    pub mean_probability: f32,
    /// Mean log probability of the text tokens.
    pub mean_log_probability: f32,
    /// Sum of the log probabilities the model itself gives the text
    /// tokens, without steering: how well the text explains the audio.
    pub model_log_probability: f32,
}

/// Tokens a second of speech can hold: people say at most about five
/// words (six or seven tokens) a second; twice that is a decoder that
/// is not following the audio.
const MAX_TOKENS_PER_SECOND: f64 = 12.0;
/// whisper's own threshold on the mean log probability of a decode.
const MIN_MEAN_LOG_PROBABILITY: f32 = -1.0;

impl Decoded {
    /// Why this decode of `seconds` of audio looks wrong, if it does.
    pub fn suspect(&self, seconds: f64) -> Option<Suspicion> {
        if self.text.contains('\u{FFFD}') {
            return Some(Suspicion::BrokenCharacter);
        }
        if hark_nlu::text::repeats_itself(&self.text) {
            return Some(Suspicion::Loop);
        }
        if self.tokens as f64 > 8.0 + MAX_TOKENS_PER_SECOND * seconds {
            return Some(Suspicion::TooLong);
        }
        if self.tokens > 0 && self.mean_log_probability < MIN_MEAN_LOG_PROBABILITY {
            return Some(Suspicion::Unlikely);
        }
        None
    }
}

/// The grammar recognition is steered by, and how hard.
struct Guide {
    grammar: Grammar,
    penalty: f32,
    masks: logits::Masks,
}

/// A model and a decoding state: what one node decodes with.
pub struct Engine {
    model: Arc<Model>,
    state: WhisperState,
    language: Option<String>,
    threads: i32,
    initial_prompt: String,
    /// `initial_prompt` as tokens, for the steered decode.
    prompt_tokens: Vec<i32>,
    shrink_audio_context: bool,
    redecode_suspect: bool,
    strategy: SamplingStrategy,
    guide: Option<Guide>,
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
        if !model.context.is_multilingual() && language.as_deref().is_none_or(|l| l != "en") {
            return Err(Error::config(format!(
                "{} is an English-only model; language {:?} needs a multilingual one",
                path.display(),
                settings.language
            ))
            .with_hint(
                "set language: \"en\", or use model: \"base\" (`hark models fetch whisper-base`)",
            ));
        }
        let guide = match settings.grammar.trim() {
            "" => None,
            file => Some(Guide {
                grammar: load_grammar(Path::new(file))?.grammar(),
                penalty: settings.grammar_penalty,
                masks: logits::Masks::default(),
            }),
        };
        if guide.is_some() {
            model.vocabulary(); // made now, not during the first utterance
        }
        let prompt_tokens = if settings.initial_prompt.is_empty() {
            Vec::new()
        } else {
            model
                .context
                .tokenize(
                    &settings.initial_prompt,
                    model.context.n_text_ctx() as usize,
                )
                .map_err(|e| Error::config(format!("cannot tokenize initial_prompt: {e}")))?
        };
        let state = model
            .context
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
            prompt_tokens,
            shrink_audio_context: settings.shrink_audio_context,
            redecode_suspect: settings.redecode_suspect,
            strategy,
            guide,
        })
    }

    /// The encoder frames to use for `samples` of audio: what short
    /// utterances need plus a margin (whisper was trained on full 30 s
    /// windows and misbehaves on a context cut right at the end of
    /// speech), rounded up to 64 frames; 0, the full window, otherwise.
    fn audio_context(&self, samples: usize) -> i32 {
        if !self.shrink_audio_context || samples > SHRINK_UP_TO_S * SAMPLE_RATE {
            return 0; // whisper.cpp's default: the model's full context
        }
        let frames = samples.div_ceil(SAMPLE_RATE / FRAMES_PER_SECOND);
        ((frames + CONTEXT_MARGIN_FRAMES).div_ceil(64) * 64).min(FULL_AUDIO_CONTEXT) as i32
    }

    /// Transcribes 16 kHz mono `samples`: with the shrunk context when the
    /// utterance is short, again with the full window when that decode is
    /// suspect.
    pub fn transcribe(&mut self, samples: &[f32]) -> Result<Transcript, Error> {
        let mut padded;
        let audio = if samples.len() < MIN_SAMPLES {
            padded = samples.to_vec();
            padded.resize(MIN_SAMPLES, 0.0);
            &padded[..]
        } else {
            samples
        };
        let seconds = samples.len() as f64 / SAMPLE_RATE as f64;
        let context = self.audio_context(audio.len());
        let mut decoded = self.decode(audio, context)?;
        let mut redecoded = None;
        if context != 0 && self.redecode_suspect {
            if let Some(why) = decoded.suspect(seconds) {
                decoded = self.decode(audio, 0)?;
                redecoded = Some(why);
            }
        }
        let language = match &self.language {
            Some(l) => l.clone(),
            None => whisper_rs::get_lang_str(self.state.full_lang_id_from_state())
                .unwrap_or("")
                .to_string(),
        };
        let mut steered = None;
        if let Some(guide) = &self.guide {
            // Read as it will be written: a loop's fragment dropped.
            let free_fit = logits::fit(&guide.grammar, &written(&decoded.text));
            if free_fit.is_some_and(|f| f.complete && f.stray_words == 0) {
                // A sentence of the grammar: the steered decode would give
                // the same (the grammar never stood in its way).
                steered = Some(true);
            } else {
                // The steered reading is kept when it fits the grammar
                // better, and either only respells the free one or is about
                // as likely to the model itself: the grammar chose between
                // readings the audio allows, and did not force one.
                let reading = self.decode_steered(audio.len())?;
                let guide = self.guide.as_ref().expect("checked above");
                let better = logits::fit(&guide.grammar, &written(&reading.text))
                    .is_some_and(|f| f.better_than(free_fit));
                let loss = decoded.model_log_probability - reading.model_log_probability;
                let taken = better
                    && reading.suspect(seconds).is_none()
                    && (loss <= MAX_LIKELIHOOD_LOSS
                        || respelling(&clean(&decoded.text), &clean(&reading.text)));
                if taken {
                    decoded = reading;
                }
                steered = Some(taken);
            }
        }
        Ok(Transcript {
            text: clean(&decoded.text),
            confidence: decoded.mean_probability,
            language,
            redecoded,
            steered,
        })
    }

    /// Decodes again the audio the last `decode` encoded, steered by the
    /// grammar.
    fn decode_steered(&mut self, samples: usize) -> Result<Decoded, Error> {
        let guide = self.guide.as_ref().expect("called with a grammar");
        let (trie, suppressed) = self.model.vocabulary();
        let filter = Filter {
            model: &self.model.context,
            eot: self.model.context.token_eot() as usize,
            break_loops: true,
            steer: Some(Steer {
                grammar: &guide.grammar,
                trie,
                penalty: guide.penalty,
                masks: &guide.masks,
            }),
        };
        let greedy = Greedy {
            model: &self.model.context,
            suppressed,
            prompt: &self.prompt_tokens,
            language: self.language.as_deref().and_then(whisper_rs::get_lang_id),
            max_tokens: max_tokens(samples),
            threads: self.threads as usize,
        };
        greedy
            .decode(&mut self.state, &filter)
            .map_err(|e| Error::failed(format!("steered decode: {e}")))
    }

    /// One whisper.cpp decode with `audio_context` encoder frames (0: the
    /// full window).
    pub fn decode(&mut self, audio: &[f32], audio_context: i32) -> Result<Decoded, Error> {
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
        params.set_audio_ctx(audio_context);
        if audio_context != 0 && self.redecode_suspect {
            // A shrunk decode that goes wrong is decoded again with the
            // full window: no sampling at higher temperatures first.
            params.set_temperature_inc(0.0);
        }
        params.set_max_tokens(max_tokens(audio.len()) as i32);
        if !self.initial_prompt.is_empty() {
            params.set_initial_prompt(&self.initial_prompt);
        }
        let filter = Filter {
            model: &self.model.context,
            eot: self.model.context.token_eot() as usize,
            break_loops: true,
            steer: None,
        };
        // SAFETY: `filter` outlives `full` below, the only call that uses
        // the callback, and the callback only reads it.
        unsafe {
            params.set_filter_logits_callback(Some(logits::filter_logits));
            params.set_filter_logits_callback_user_data(
                &filter as *const Filter<'_> as *mut std::ffi::c_void,
            );
        }
        let outcome = self.state.full(params, audio);
        outcome.map_err(|e| Error::failed(format!("whisper.cpp failed to transcribe: {e}")))?;

        let eot = self.model.context.token_eot();
        let mut pieces: Vec<&[u8]> = Vec::new();
        let (mut probability, mut log_probability, mut tokens) = (0f32, 0f32, 0usize);
        for segment in self.state.as_iter() {
            for i in 0..segment.n_tokens() {
                let Some(token) = segment.get_token(i) else {
                    continue;
                };
                if token.token_id() >= eot {
                    continue;
                }
                // The model's own bytes, valid as long as the model.
                pieces.push(
                    self.model
                        .context
                        .token_to_bytes(token.token_id())
                        .unwrap_or(&[]),
                );
                let data = token.token_data();
                probability += data.p;
                log_probability += data.plog;
                tokens += 1;
            }
        }
        let n = tokens.max(1) as f32;
        Ok(Decoded {
            text: text_of(&pieces),
            tokens,
            mean_probability: probability / n,
            mean_log_probability: log_probability / n,
            model_log_probability: log_probability,
        })
    }
}

/// The text of tokens, from all their bytes at once: a character split
/// over two tokens (byte-level BPE does that to "é", "€", CJK) is decoded
/// whole, where decoding token by token would break it into U+FFFD.
pub fn text_of(tokens: &[&[u8]]) -> String {
    String::from_utf8_lossy(&tokens.concat()).into_owned()
}

/// A bound on repetition loops: people say at most ~5 tokens a second;
/// whisper.cpp counts the limit per segment.
fn max_tokens(samples: usize) -> usize {
    samples / SAMPLE_RATE * 8 + 32
}

/// Whether `steered` only respells `free` (two readings of the same audio,
/// without and with the grammar): "Dark Rows ... Smaka" as "Dark Roast
/// ... Mocha", not "ask not what your country" as "I'd like a medium
/// americano". Speech the grammar does not cover is pushed into it only
/// by rewriting; then the free reading stands.
fn respelling(free: &str, steered: &str) -> bool {
    // Lower case letters and digits, one space between words ("12-ounce"
    // is two words).
    let letters = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .flat_map(char::to_lowercase)
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (free, steered) = (letters(free), letters(steered));
    let longer = free.chars().count().max(steered.chars().count());
    let words = |s: &str| s.split(' ').filter(|w| !w.is_empty()).count();
    let added = words(&steered).abs_diff(words(&free));
    let distance = strsim::levenshtein(&free, &steered);
    added <= MAX_WORDS_ADDED && distance as f64 <= MAX_RESPELLING * longer as f64
}

/// How much less likely (in nats, summed over its tokens) the model
/// itself may find a steered reading than the free one and still have it
/// kept whatever it changed: "I'd like a dark rose 12 oz" → "... dark roast
/// 12-ounce iced mocha" costs 1.7 here; a sentence forced into the grammar
/// ("and so my fellow Americans" → "I want a small, small, ...") costs 20
/// to 50.
const MAX_LIKELIHOOD_LOSS: f32 = 5.0;

/// The share of characters a steered reading may change ("Soynoke" →
/// "soy milk"), and the words it may add or drop ("Gimea" → "give me
/// a"): on real orders, steering changed at most 29 % and two words.
const MAX_RESPELLING: f64 = 0.35;
const MAX_WORDS_ADDED: usize = 2;

/// Reads and compiles a templates file for steering.
fn load_grammar(path: &Path) -> Result<hark_nlu::templates::Templates, Error> {
    let source = std::fs::read_to_string(path).map_err(|e| {
        Error::config(format!(
            "cannot read the grammar's templates file {}: {e}",
            path.display()
        ))
        .with_hint("`grammar` names a templates file, as the nlu node's `templates` does")
    })?;
    hark_nlu::templates::Templates::parse(&source)
        .map_err(|e| Error::config(format!("{}:{e}", path.display())))
}

/// `text` cleaned, with the space the decoder writes before a word.
fn written(text: &str) -> String {
    format!(" {}", clean(text))
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
    let key = |s: &str| s.trim().trim_end_matches(['.', '?', '!']).to_lowercase();
    let mut kept: Vec<&str> = Vec::new();
    for sentence in sentences(text) {
        if kept.last().is_none_or(|last| key(last) != key(sentence)) {
            kept.push(sentence);
        }
    }
    // A last, unfinished sentence that only begins the one before it
    // again: where a looping decoder was stopped.
    if let [.., before, last] = kept.as_slice() {
        let unfinished = !last.trim_end().ends_with(['.', '?', '!']);
        let (before, last) = (key(before), key(last));
        let begins_again = before
            .strip_prefix(&last)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '));
        if unfinished && !last.is_empty() && begins_again {
            kept.pop();
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

    #[test]
    fn a_character_split_over_two_tokens_is_decoded_whole() {
        // "café €": "é" and "€" each split over two tokens.
        let e = "é".as_bytes();
        let euro = "€".as_bytes();
        let tokens: [&[u8]; 6] = [b" caf", &e[..1], &e[1..], b" ", &euro[..2], &euro[2..]];
        assert_eq!(super::text_of(&tokens), " café €");
        let piecewise: String = tokens.iter().map(|t| String::from_utf8_lossy(t)).collect();
        assert!(
            piecewise.contains('\u{FFFD}'),
            "decoded token by token: {piecewise}"
        );
    }

    #[test]
    fn loops_broken_characters_and_runaway_text_are_suspect() {
        use super::{Decoded, Suspicion};
        let decoded = |text: &str, tokens, lp| Decoded {
            text: text.into(),
            tokens,
            mean_probability: 0.5,
            mean_log_probability: lp,
            model_log_probability: lp * tokens as f32,
        };
        // What tiny.en wrote with the shrunk context for a 1.6 s "turn on
        // the living room lamp", and for a slow "one, two, three".
        let lamp = " T nap On The Living Room Love........ turn on The Living Room Lam";
        assert_eq!(decoded(lamp, 20, -0.4).suspect(1.6), Some(Suspicion::Loop));
        let count = " 1. \u{FFFD} Christine one. 1. i f 1 1 1. 1";
        assert_eq!(
            decoded(count, 18, -0.6).suspect(3.0),
            Some(Suspicion::BrokenCharacter)
        );
        assert_eq!(
            decoded(" Turn on the lamp.", 60, -0.2).suspect(2.0),
            Some(Suspicion::TooLong)
        );
        assert_eq!(
            decoded(" Turn on the lamp.", 6, -1.6).suspect(2.0),
            Some(Suspicion::Unlikely)
        );
        assert_eq!(decoded(" Turn on the lamp.", 6, -0.2).suspect(2.0), None);
    }

    #[test]
    fn a_steered_reading_may_respell_but_not_rewrite() {
        use super::respelling;
        // Real pairs (free, steered) from the barista recordings and JFK.
        assert!(respelling(
            "Get me a Dark Rows Double Shot 8 and Smaka with some Swi Milk.",
            "Get me a Dark Roast Double Shot 8-ounce Mocha with some Swee Milk."
        ));
        assert!(respelling(
            "Gimea double shot house coffee.",
            "Give me a double shot house coffee."
        ));
        assert!(!respelling(
            "and so my fellow americans",
            "i'd like medium americano"
        ));
        assert!(!respelling(
            "ask what you can do for your country",
            ". I want, I want to ask what you can do for your country."
        ));
        assert!(!respelling(
            "Set a timer for 10 minutes.",
            "I'd like I'm a 8. ounce."
        ));
        assert!(respelling("", ""));
    }

    #[test]
    fn a_loop_stopped_mid_sentence_leaves_no_fragment() {
        assert_eq!(
            clean(" Give me a large cappuccino with sugar. Give me a large"),
            "Give me a large cappuccino with sugar."
        );
        assert_eq!(
            clean(" Can I get a latte? Can I get a latte? Can"),
            "Can I get a latte?"
        );
        // A new sentence that is not the last one again stays.
        assert_eq!(
            clean(" Give me a latte. With milk"),
            "Give me a latte. With milk"
        );
        assert_eq!(clean(" Give me a latte. Give me"), "Give me a latte.");
    }
}
