//! Running a pipeline on one recording and watching what comes out:
//! taps on the ports that carry ends of speech, transcripts and intents,
//! each message timed as it leaves its node.

use std::{
    collections::BTreeMap,
    sync::{atomic::AtomicBool, Arc},
    time::Instant,
};

use crossbeam_channel::{Receiver, Select};
use hark_plugin_api::{ControlEvent, Message, MessageType, Payload, Value};

use crate::{
    loader::PluginSet,
    pipeline::Pipeline,
    runtime::{self, RunOptions},
};

/// Which ports of a pipeline are watched, and what they mean.
#[derive(Debug, Clone)]
pub struct Watch {
    /// (node, output port, what it carries).
    taps: Vec<(usize, u32, Tap)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tap {
    /// Control events: `UtteranceEnd` is the end of speech.
    Events,
    /// Final transcripts of a speech-to-text node.
    Transcripts,
    /// Intents.
    Intents,
}

impl Watch {
    /// The ports to watch in `pipeline`: the text outputs of
    /// speech-to-text nodes (an audio input, a text output), every intent
    /// output, and every control output (a VAD's utterance events). `None`
    /// when there is neither a transcript nor an intent to watch.
    pub fn of(pipeline: &Pipeline) -> Option<Watch> {
        let mut taps = Vec::new();
        for (i, node) in pipeline.nodes.iter().enumerate() {
            let hears = node
                .kind
                .inputs
                .iter()
                .any(|p| p.message_type == MessageType::Audio);
            for (port, info) in node.kind.outputs.iter().enumerate() {
                let tap = match info.message_type {
                    MessageType::Text if hears => Tap::Transcripts,
                    MessageType::Intent => Tap::Intents,
                    MessageType::Control => Tap::Events,
                    _ => continue,
                };
                taps.push((i, port as u32, tap));
            }
        }
        taps.iter()
            .any(|(_, _, t)| *t != Tap::Events)
            .then_some(Watch { taps })
    }

    /// The nodes whose outputs give results (not only events).
    pub fn result_nodes(&self) -> Vec<usize> {
        let mut nodes: Vec<usize> = self
            .taps
            .iter()
            .filter(|(_, _, t)| *t != Tap::Events)
            .map(|(n, _, _)| *n)
            .collect();
        nodes.dedup();
        nodes
    }

    /// Whether the pipeline has a speech-to-text node.
    pub fn has_transcripts(&self) -> bool {
        self.taps.iter().any(|(_, _, t)| *t == Tap::Transcripts)
    }

    /// Whether the pipeline has an intent output.
    pub fn has_intents(&self) -> bool {
        self.taps.iter().any(|(_, _, t)| *t == Tap::Intents)
    }
}

/// An intent as recognised.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Recognised {
    /// Its name (`unknown` below the recogniser's threshold).
    pub intent: String,
    /// The recogniser's confidence.
    pub confidence: f32,
    /// Slot values as text.
    pub slots: BTreeMap<String, String>,
}

/// What one utterance gave.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Utterance {
    /// Its final transcript, if any.
    pub transcript: Option<String>,
    /// Its intent, if any.
    pub intent: Option<Recognised>,
    /// From the end of speech (the `UtteranceEnd` event) to the final
    /// transcript, in ms.
    pub transcript_ms: Option<f64>,
    /// From the end of speech to the intent, in ms.
    pub intent_ms: Option<f64>,
}

/// What a run on one recording gave.
#[derive(Debug, Clone)]
pub struct Observation {
    /// Its utterances, in order.
    pub utterances: Vec<Utterance>,
    /// Wall time from the first node running to the last ending.
    pub seconds: f64,
    /// Why nodes failed, if any did.
    pub failures: Vec<String>,
}

/// Runs `pipeline` to its end, watching `watch`'s ports. `Err` when a
/// node could not start.
pub fn observe(
    pipeline: &Pipeline,
    plugins: &PluginSet,
    watch: &Watch,
    stop: Arc<AtomicBool>,
) -> Result<Observation, String> {
    let mut receivers: Vec<(Tap, Receiver<Message>)> = Vec::new();
    let mut taps = Vec::new();
    for &(node, port, tap) in &watch.taps {
        let (tx, rx) = crossbeam_channel::unbounded();
        taps.push((node, port, tx));
        receivers.push((tap, rx));
    }
    let options = RunOptions {
        stats: false,
        stop,
        taps,
        ..RunOptions::default()
    };
    let collector = std::thread::Builder::new()
        .name("eval-collector".into())
        .spawn(move || collect(receivers))
        .expect("spawning the collector thread");
    let outcome = runtime::run(pipeline, plugins, &options);
    drop(options); // the taps' senders: the collector ends when all are gone
    let events = collector.join().expect("the collector does not panic");
    let report = outcome.map_err(|errors| {
        errors
            .iter()
            .map(|e| {
                if e.hint.is_empty() {
                    e.to_string()
                } else {
                    format!("{e} (help: {})", e.hint)
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    Ok(Observation {
        utterances: utterances(events),
        seconds: (report.elapsed - report.startup).as_secs_f64(),
        failures: report.failures().iter().map(|f| f.to_string()).collect(),
    })
}

/// Every watched message, timed as it arrives.
fn collect(receivers: Vec<(Tap, Receiver<Message>)>) -> Vec<(Tap, Instant, Message)> {
    let mut events = Vec::new();
    let mut open: Vec<bool> = vec![true; receivers.len()];
    while open.iter().any(|o| *o) {
        let mut select = Select::new();
        let mut indices = Vec::new();
        for (i, (_, rx)) in receivers.iter().enumerate() {
            if open[i] {
                select.recv(rx);
                indices.push(i);
            }
        }
        let operation = select.select();
        let i = indices[operation.index()];
        match operation.recv(&receivers[i].1) {
            Ok(message) => events.push((receivers[i].0, Instant::now(), message)),
            Err(_) => open[i] = false,
        }
    }
    events
}

/// Groups watched messages by utterance id, in the order utterances
/// began.
fn utterances(events: Vec<(Tap, Instant, Message)>) -> Vec<Utterance> {
    let mut order: Vec<u64> = Vec::new();
    let mut ends: BTreeMap<u64, Instant> = BTreeMap::new();
    let mut found: BTreeMap<u64, Utterance> = BTreeMap::new();
    for (tap, at, message) in events {
        let id = message.meta.utterance;
        if !order.contains(&id) {
            order.push(id);
        }
        let since_end = |ends: &BTreeMap<u64, Instant>| {
            ends.get(&id)
                .map(|end| at.saturating_duration_since(*end).as_secs_f64() * 1e3)
        };
        match (tap, &message.payload) {
            (Tap::Events, Payload::Control(ControlEvent::UtteranceEnd)) => {
                ends.entry(id).or_insert(at);
                found.entry(id).or_default();
            }
            (Tap::Transcripts, Payload::Text(t)) if t.is_final => {
                let u = found.entry(id).or_default();
                let text = t.text.as_str().trim();
                u.transcript = Some(match u.transcript.take() {
                    Some(before) => format!("{before} {text}"),
                    None => text.to_string(),
                });
                u.transcript_ms = since_end(&ends);
            }
            (Tap::Intents, Payload::Intent(i)) => {
                let u = found.entry(id).or_default();
                u.intent = Some(Recognised {
                    intent: i.name.to_string(),
                    confidence: i.confidence,
                    slots: i
                        .slots
                        .iter()
                        .map(|s| (s.name.to_string(), value_text(&s.value)))
                        .collect(),
                });
                u.intent_ms = since_end(&ends);
            }
            _ => {}
        }
    }
    order
        .into_iter()
        .filter_map(|id| found.remove(&id))
        .collect()
}

fn value_text(value: &Value) -> String {
    match value {
        Value::Str(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}
