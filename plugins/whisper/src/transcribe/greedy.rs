//! A second decode of the audio whisper.cpp has just encoded: greedy, as
//! whisper.cpp's own decoder is with `best_of: 1` and no timestamps (same
//! prompt, same suppressed tokens), but through Hark's logits filter at
//! every step. The encoder is the expensive half of a transcription; this
//! reuses its output (left in the state by the last `full` call), so a
//! steered reading costs only the decoder's steps.

use whisper_rs::{WhisperContext, WhisperState};

use super::{
    engine::{text_of, Decoded},
    logits::Filter,
};

/// Tokens whisper.cpp never lets into text (its `non_speech_tokens`,
/// with and without a space before), the blank that may not start it,
/// found once per model.
pub struct Suppressed {
    non_speech: Vec<usize>,
    space: Option<usize>,
}

/// whisper.cpp's list of symbols that are not speech.
const NON_SPEECH: [&str; 54] = [
    "\"",
    "#",
    "(",
    ")",
    "*",
    "+",
    "/",
    ":",
    ";",
    "<",
    "=",
    ">",
    "@",
    "[",
    "\\",
    "]",
    "^",
    "_",
    "`",
    "{",
    "|",
    "}",
    "~",
    "「",
    "」",
    "『",
    "』",
    "<<",
    ">>",
    "<<<",
    ">>>",
    "--",
    "---",
    "-(",
    "-[",
    "('",
    "(\"",
    "((",
    "))",
    "(((",
    ")))",
    "[[",
    "]]",
    "{{",
    "}}",
    "♪♪",
    "♪♪♪",
    "♩",
    "♪",
    "♫",
    "♬",
    "♭",
    "♮",
    "♯",
];

impl Suppressed {
    /// The suppressed tokens of `model`'s vocabulary.
    pub fn of(model: &WhisperContext) -> Suppressed {
        let eot = model.token_eot();
        let mut non_speech = Vec::new();
        let mut space = None;
        for id in 0..eot {
            let Ok(bytes) = model.token_to_bytes(id) else {
                continue;
            };
            let Ok(text) = std::str::from_utf8(bytes) else {
                continue;
            };
            if text == " " {
                space = Some(id as usize);
            }
            let symbol = text.strip_prefix(' ').unwrap_or(text);
            // whisper.cpp allows "-" and "'" inside words, not starting one.
            if NON_SPEECH.contains(&symbol) || text == " -" || text == " '" {
                non_speech.push(id as usize);
            }
        }
        Suppressed { non_speech, space }
    }
}

/// How to decode.
pub struct Greedy<'a> {
    pub model: &'a WhisperContext,
    pub suppressed: &'a Suppressed,
    /// Tokens of the initial prompt, if any.
    pub prompt: &'a [i32],
    pub language: Option<i32>,
    pub max_tokens: usize,
    pub threads: usize,
}

impl Greedy<'_> {
    /// Decodes the audio last encoded in `state`, each step's logits
    /// through `filter`.
    pub fn decode(&self, state: &mut WhisperState, filter: &Filter<'_>) -> Result<Decoded, String> {
        let model = self.model;
        let eot = model.token_eot() as usize;
        let mut prompt = Vec::new();
        if !self.prompt.is_empty() {
            // As whisper.cpp does: the previous text, at most half the
            // decoder's context.
            let keep = (model.n_text_ctx() as usize / 2).saturating_sub(1);
            prompt.push(model.token_prev());
            prompt.extend(&self.prompt[self.prompt.len().saturating_sub(keep)..]);
        }
        prompt.push(model.token_sot());
        if model.is_multilingual() {
            prompt.push(model.token_lang(self.language.unwrap_or(0)));
            prompt.push(model.token_transcribe());
        }
        prompt.push(model.token_not());
        // whisper.cpp keeps one row of logits per token of a batch, and
        // `get_logits` reads the first: the prompt but its last token
        // goes as one batch, the last token alone.
        let (last, before) = prompt.split_last().expect("the prompt has sot");
        let decode_error = |e| format!("whisper.cpp could not decode: {e}");
        state
            .decode(before, 0, self.threads)
            .map_err(decode_error)?;
        state
            .decode(&[*last], before.len(), self.threads)
            .map_err(decode_error)?;
        let mut n_past = prompt.len();
        let mut tokens: Vec<i32> = Vec::new();
        let (mut probability, mut log_probability) = (0f32, 0f32);
        // What the model itself, unsteered, gives the tokens chosen.
        let mut model_log_probability = 0f32;
        let mut logits = Vec::new();
        while tokens.len() < self.max_tokens {
            logits.clear();
            logits.extend_from_slice(
                state
                    .get_logits()
                    .map_err(|e| format!("whisper.cpp gave no logits: {e}"))?,
            );
            // Only text and the end of it: no timestamps, no task,
            // language or other special tokens.
            logits.truncate(eot + 1);
            for &i in &self.suppressed.non_speech {
                logits[i] = f32::NEG_INFINITY;
            }
            if tokens.is_empty() {
                logits[eot] = f32::NEG_INFINITY;
                if let Some(space) = self.suppressed.space {
                    logits[space] = f32::NEG_INFINITY;
                }
            }
            let model_log_sum = log_sum_exp(&logits);
            let model_logits = logits.clone();
            filter.apply(&tokens, &mut logits);
            let (best, best_logit) = logits
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, l)| (i, *l))
                .unwrap_or((eot, 0.0));
            if best == eot || !best_logit.is_finite() {
                break;
            }
            let log_sum = log_sum_exp(&logits);
            log_probability += best_logit - log_sum;
            model_log_probability += model_logits[best] - model_log_sum;
            probability += (best_logit - log_sum).exp();
            tokens.push(best as i32);
            state
                .decode(&[best as i32], n_past, self.threads)
                .map_err(decode_error)?;
            n_past += 1;
        }
        let pieces: Vec<&[u8]> = tokens
            .iter()
            .map(|&t| model.token_to_bytes(t).unwrap_or(&[]))
            .collect();
        let n = tokens.len().max(1) as f32;
        Ok(Decoded {
            text: text_of(&pieces),
            tokens: tokens.len(),
            mean_probability: probability / n,
            mean_log_probability: log_probability / n,
            model_log_probability,
        })
    }
}

fn log_sum_exp(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return max;
    }
    max + logits
        .iter()
        .filter(|l| l.is_finite())
        .map(|l| (l - max).exp())
        .sum::<f32>()
        .ln()
}
