//! The running `faq` node, and the questions' embeddings it shares.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, Weak},
    time::SystemTime,
};

use hark_minilm::{Encoder, Tokenizer, DIM};
use hark_sdk::{
    api::{IntentMessage, Slot},
    prelude::*,
    text_message, Value,
};

use super::*;

/// One entry of the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    questions: Vec<String>,
    answer: String,
}

/// The longest FAQ file read, in bytes.
const MAX_FILE: u64 = 4 << 20;

/// The questions, their embeddings and the encoder, shared by every node
/// of the same file and model in the process.
pub struct FaqIndex {
    tokenizer: Tokenizer,
    encoder: Encoder,
    /// (question, index of its answer).
    questions: Vec<(String, usize)>,
    /// One unit-length embedding per question, `DIM` floats each.
    embeddings: Vec<f32>,
    answers: Vec<String>,
}

/// What identifies an index: the file as it is now, and the model.
#[derive(PartialEq)]
struct Key {
    faq: PathBuf,
    modified: Option<SystemTime>,
    len: u64,
    minilm: PathBuf,
    format: String,
}

type Registry = Mutex<Vec<(Key, Weak<FaqIndex>)>>;
static INDEXES: Registry = Mutex::new(Vec::new());

impl FaqIndex {
    /// The index of `faq`, made now or shared with the nodes that use it.
    pub(super) fn shared(
        faq: &Path,
        minilm: &Path,
        format: &str,
        ctx: &Context,
    ) -> Result<Arc<FaqIndex>, Error> {
        let meta = std::fs::metadata(faq).map_err(|e| {
            Error::config(format!("cannot read {}: {e}", faq.display()))
                .with_hint("write the questions and answers file, or fix `faq`")
        })?;
        if meta.len() > MAX_FILE {
            return Err(Error::config(format!(
                "{} is {} bytes; a FAQ file may have at most {MAX_FILE}",
                faq.display(),
                meta.len()
            )));
        }
        let key = Key {
            faq: faq.to_path_buf(),
            modified: meta.modified().ok(),
            len: meta.len(),
            minilm: minilm.to_path_buf(),
            format: format.to_string(),
        };
        let mut indexes = INDEXES.lock().unwrap_or_else(|e| e.into_inner());
        indexes.retain(|(_, w)| w.strong_count() > 0);
        if let Some(index) = indexes
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, w)| w.upgrade())
        {
            return Ok(index);
        }
        // Made under the lock: nodes created together wait for one index
        // rather than each computing its own.
        let index = Arc::new(FaqIndex::load(faq, minilm, format, ctx)?);
        indexes.push((key, Arc::downgrade(&index)));
        Ok(index)
    }

    fn load(faq: &Path, minilm: &Path, format: &str, ctx: &Context) -> Result<FaqIndex, Error> {
        let text = std::fs::read_to_string(faq)?;
        let entries: Vec<Entry> = ron::from_str(&text).map_err(|e| {
            Error::config(format!(
                "{}:{}:{}: {}",
                faq.display(),
                e.position.line,
                e.position.col,
                e.code
            ))
            .with_hint("a FAQ file is a list of (questions: [\"..\"], answer: \"..\")")
        })?;
        let (tokenizer, encoder) = hark_minilm::load(
            ctx.inference()?,
            minilm,
            crate::minilm::weight_format(format),
        )?;
        let mut index = FaqIndex {
            tokenizer,
            encoder,
            questions: Vec::new(),
            embeddings: Vec::new(),
            answers: Vec::new(),
        };
        for entry in entries {
            let answer = entry.answer.trim().to_string();
            if answer.is_empty() || entry.questions.is_empty() {
                return Err(Error::config(format!(
                    "{}: every entry needs an answer and at least one question",
                    faq.display()
                )));
            }
            for question in entry.questions {
                let embedding = index.embed(&question)?;
                index.embeddings.extend_from_slice(&embedding);
                index.questions.push((question, index.answers.len()));
            }
            index.answers.push(answer);
        }
        if index.questions.is_empty() {
            return Err(Error::config(format!("{} has no questions", faq.display())));
        }
        ctx.info(&format!(
            "{} questions, {} answers from {}",
            index.questions.len(),
            index.answers.len(),
            faq.display()
        ));
        Ok(index)
    }

    fn embed(&self, text: &str) -> Result<Vec<f32>, Error> {
        let max = self.encoder.max_positions().min(128);
        self.encoder.embed(&self.tokenizer.encode(text, max))
    }

    /// The nearest question to `text`: (its index, cosine).
    pub fn nearest(&self, text: &str) -> Result<(usize, f32), Error> {
        let query = self.embed(text)?;
        let best = self
            .embeddings
            .chunks_exact(DIM)
            .map(|q| q.iter().zip(&query).map(|(a, b)| a * b).sum::<f32>())
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("an index has questions");
        Ok(best)
    }
}

/// A running `faq` node.
pub struct FaqNode {
    pub(super) index: Arc<FaqIndex>,
    pub(super) settings: FaqSettings,
}

impl FaqNode {
    /// The reply to `text` and the intent that says why.
    pub fn answer(&self, text: &str) -> Result<(String, IntentMessage), Error> {
        let (best, score) = self.index.nearest(text)?;
        let (question, answer) = &self.index.questions[best];
        let known = score >= self.settings.threshold;
        let intent = IntentMessage {
            name: if known { "faq" } else { "unknown" }.into(),
            confidence: score.clamp(0.0, 1.0),
            text: text.into(),
            slots: if known {
                vec![Slot {
                    name: "question".into(),
                    raw: text.into(),
                    start: 0,
                    end: text.len() as u32,
                    value: Value::Str(question.as_str().into()),
                }]
                .into()
            } else {
                Default::default()
            },
            alternatives: Default::default(),
        };
        let reply = if known {
            self.index.answers[*answer].clone()
        } else {
            self.settings.fallback.clone()
        };
        Ok((reply, intent))
    }
}

impl Node for FaqNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        match &message.payload {
            Payload::Text(text) if text.is_final && !text.text.trim().is_empty() => {
                let (reply, intent) = self.answer(&text.text)?;
                out.emit(
                    1,
                    Message::new(
                        message.meta,
                        Payload::Intent(hark_sdk::api::abi_stable::std_types::RBox::new(intent)),
                    ),
                )?;
                out.emit(0, text_message(message.meta, reply))
            }
            // Barge-in and utterance boundaries travel on with the reply.
            Payload::Control(_) => out.emit(0, message),
            _ => Ok(()),
        }
    }
}
