//! The running `intent` node: templates first, then the learned model.

use hark_nlu::{
    learned::{Featurizer, Model},
    templates::{SlotValue, Templates},
    text, values,
};
use hark_sdk::{
    api::{Directory, IntentAlternative, IntentMessage, Slot},
    prelude::*,
    Value,
};
use std::{path::PathBuf, time::Instant};

use super::*;

/// A running `intent` node.
pub struct IntentNode {
    pub(super) recogniser: Recogniser,
    pub(super) ctx: Context,
}

/// Templates and/or a learned model: text in, intent out.
pub struct Recogniser {
    pub(super) templates: Templates,
    pub(super) learned: Option<(Featurizer, Model)>,
    pub(super) threshold: f32,
    pub(super) alternatives: usize,
}

impl Recogniser {
    /// Recognises `utterance`.
    pub fn recognise(&self, utterance: &str) -> Result<IntentMessage, Error> {
        let words = text::words(utterance);
        let mut message = IntentMessage {
            name: "unknown".into(),
            confidence: 0.0,
            text: utterance.into(),
            slots: Vec::new().into(),
            alternatives: Vec::new().into(),
        };
        if let Some(m) = self.templates.recognise(&words) {
            message.name = m.intent.as_str().into();
            message.confidence = m.confidence();
            message.slots = m
                .slots
                .iter()
                .map(|s| {
                    let value = match &s.value {
                        SlotValue::Text(t) | SlotValue::Named(t) => Value::Str(t.as_str().into()),
                        SlotValue::Number(n) => number_value(*n),
                        SlotValue::Seconds(s) => Value::Int(*s),
                    };
                    slot(utterance, &words, &s.name, s.first, s.end, value)
                })
                .collect::<Vec<_>>()
                .into();
        } else if let Some((featurizer, model)) = &self.learned {
            let raw: Vec<&str> = words.iter().map(|w| w.text).collect();
            if raw.is_empty() {
                return Ok(message);
            }
            let prediction = model.predict(&featurizer.encode(&raw)?, &raw);
            let (best, confidence) = prediction.intents[0].clone();
            message.name = best.as_str().into();
            message.confidence = confidence;
            message.alternatives = prediction.intents[1..]
                .iter()
                .take(self.alternatives)
                .map(|(name, confidence)| IntentAlternative {
                    name: name.as_str().into(),
                    confidence: *confidence,
                })
                .collect::<Vec<_>>()
                .into();
            message.slots = prediction
                .slots
                .iter()
                .map(|(name, first, end)| {
                    let folded: Vec<String> =
                        raw[*first..*end].iter().map(|w| text::fold(w)).collect();
                    let folded: Vec<&str> = folded.iter().map(String::as_str).collect();
                    let value = match values::parse_all(&folded) {
                        Some(values::Parsed::Number(n)) => number_value(n),
                        Some(values::Parsed::Seconds(s)) => Value::Int(s),
                        Some(values::Parsed::Time { hour, minute }) => {
                            Value::Str(format!("{hour:02}:{minute:02}").into())
                        }
                        Some(values::Parsed::Day(d)) => Value::Str(d.into()),
                        None => Value::Str(folded.join(" ").into()),
                    };
                    slot(utterance, &words, name, *first, *end, value)
                })
                .collect::<Vec<_>>()
                .into();
        }
        if message.confidence < self.threshold && message.name.as_str() != "unknown" {
            let mut alternatives = vec![IntentAlternative {
                name: message.name.clone(),
                confidence: message.confidence,
            }];
            alternatives.extend(message.alternatives.iter().cloned());
            alternatives.truncate(self.alternatives);
            message.alternatives = alternatives.into();
            message.name = "unknown".into();
            message.slots = Vec::new().into();
        }
        Ok(message)
    }
}

pub(super) fn number_value(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        Value::Int(n as i64)
    } else {
        Value::Float(n)
    }
}

pub(super) fn slot(
    utterance: &str,
    words: &[text::Word],
    name: &str,
    first: usize,
    end: usize,
    value: Value,
) -> Slot {
    let (start, stop) = (words[first].start, words[end - 1].end);
    Slot {
        name: name.into(),
        raw: utterance[start..stop].into(),
        start: start as u32,
        end: stop as u32,
        value,
    }
}

impl Recogniser {
    /// Loads what `settings` name.
    pub fn load(settings: &IntentSettings, ctx: &Context) -> Result<Recogniser, Error> {
        let templates = if settings.templates.is_empty() {
            Templates::default()
        } else {
            let path = PathBuf::from(&settings.templates);
            let source = std::fs::read_to_string(&path).map_err(|e| {
                Error::config(format!(
                    "cannot read the templates file {}: {e}",
                    path.display()
                ))
            })?;
            Templates::parse(&source)
                .map_err(|e| Error::config(format!("{}:{e}", path.display())))?
        };
        let learned = if settings.model.is_empty() {
            None
        } else {
            let model = Model::load(&PathBuf::from(&settings.model))?;
            let dir = if settings.minilm.is_empty() {
                ctx.directory(Directory::Models).join("minilm-l6")
            } else {
                PathBuf::from(&settings.minilm)
            };
            let featurizer = Featurizer::load(ctx.inference()?, &dir, &model.encoder_format)?;
            Some((featurizer, model))
        };
        ctx.info(&format!(
            "{} templates, learned model: {}",
            templates.len(),
            learned
                .as_ref()
                .map_or("none".to_string(), |(_, m)| format!(
                    "{} intents",
                    m.intents.len()
                ))
        ));
        Ok(Recogniser {
            templates,
            learned,
            threshold: settings.threshold,
            alternatives: settings.alternatives as usize,
        })
    }
}

impl Node for IntentNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        match &message.payload {
            Payload::Text(t) if t.is_final && !t.text.trim().is_empty() => {
                let started = Instant::now();
                let intent = self.recogniser.recognise(&t.text)?;
                let ms = started.elapsed().as_secs_f64() * 1e3;
                self.ctx.gauge_set("latency_ms.last", ms);
                self.ctx.counter_add("intents", 1);
                out.emit(
                    0,
                    Message::new(
                        message.meta,
                        Payload::Intent(hark_sdk::api::abi_stable::std_types::RBox::new(intent)),
                    ),
                )
            }
            Payload::Control(_) => out.emit(0, message),
            _ => Ok(()),
        }
    }
}
