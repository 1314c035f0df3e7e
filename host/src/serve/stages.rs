//! What a pipeline offers a Wyoming client, and one request run through it.
//!
//! A **stage** is the part of the pipeline that does one service, found
//! from the port types (so any pipeline shaped like the voice assistant
//! serves, whatever its plugins):
//!
//! - `asr`: the first node with an audio input and a text output
//!   (`whisper/transcribe`);
//! - `tts`: the first node with a text input and an audio output
//!   (`tts/espeak`);
//! - `handle`: from the inputs the asr's text feeds (or, without an asr, the
//!   inputs a text source feeds) to the outputs that feed the tts's text
//!   input: every node downstream of the first and upstream of the second
//!   (`nlu` → skills → `conversation`);
//! - `intent`: the same start, up to the first intent output inside the
//!   handle stage (`nlu`);
//! - `wake`: the first node of a kind named `wakeword` (audio in, `Wake`
//!   control events out: `vad/wakeword`). Types alone cannot tell it from
//!   a VAD, which has the same ports.
//!
//! A request is a short run of its stage (`runtime::run` on that part of
//! the pipeline): the request's messages go in, then end of stream, and
//! the stage's outputs come back as they are made. A wake word request
//! streams instead ([`Stage::start`]): the audio goes in as it arrives,
//! for as long as the client sends it, and detections come back meanwhile. So every request has
//! its own nodes and state (its own utterance in whisper) while models are
//! loaded once per process by the model service, and a node that fails or
//! panics fails that request only.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, Select};
use hark_plugin_api::{Message, MessageType};

use crate::{
    loader::PluginSet,
    metrics::Metrics,
    pipeline::{AudioTarget, Pipeline, QueuePolicy},
    runtime::{self, RunOptions, RunReport},
};

/// A Wyoming service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Speech to text (`transcribe`).
    Asr,
    /// Text to speech (`synthesize`).
    Tts,
    /// Text in, reply out (`transcript` → `handled`).
    Handle,
    /// Text in, intent out (`recognize` → `intent`).
    Intent,
    /// Audio in, wake word detections out (`detect` → `detection`).
    Wake,
}

impl Service {
    /// The name Wyoming's `info` uses, and the metrics label.
    pub fn name(self) -> &'static str {
        match self {
            Service::Asr => "asr",
            Service::Tts => "tts",
            Service::Handle => "handle",
            Service::Intent => "intent",
            Service::Wake => "wake",
        }
    }
}

/// The part of a pipeline that serves one service.
#[derive(Debug)]
pub struct Stage {
    /// What it serves.
    pub service: Service,
    /// Its nodes and the links between them.
    pub pipeline: Pipeline,
    /// Where a request's messages go: (node, input port) in `pipeline`.
    entries: Vec<(usize, u32)>,
    /// The audio format the entry wants (0 = any), for `asr`.
    pub entry_audio: AudioTarget,
    /// Where answers come from: (node, output port) in `pipeline`; an
    /// answer's exit is its index here.
    exits: Vec<(usize, u32)>,
    /// The language of the speech-to-text node's config (`en` otherwise).
    pub language: String,
    /// What the stage's model is called in `info` and `detection`s (wake:
    /// the wake word model's file stem, `hey_jarvis_v0.1`).
    pub model: String,
}

/// Everything a pipeline serves.
#[derive(Debug, Default)]
pub struct Stages {
    /// Speech to text.
    pub asr: Option<Arc<Stage>>,
    /// Text to speech.
    pub tts: Option<Arc<Stage>>,
    /// Text in, reply out; exits are the replies, then the intent (if any).
    pub handle: Option<Arc<Stage>>,
    /// Text in, intent out.
    pub intent: Option<Arc<Stage>>,
    /// Audio in, wake word detections out.
    pub wake: Option<Arc<Stage>>,
}

impl Stages {
    /// Every stage the pipeline offers.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Stage>> {
        [&self.asr, &self.tts, &self.handle, &self.intent, &self.wake]
            .into_iter()
            .flatten()
    }

    /// Finds the stages of `pipeline` (see the module documentation).
    pub fn discover(pipeline: &Pipeline) -> Stages {
        let port = |ports: &[crate::loader::PortInfo], ty: MessageType| {
            ports.iter().position(|p| p.message_type == ty)
        };
        // The first node (of `kind`, if named) with these input and output
        // types: (node, input port, output port).
        let find = |kind: Option<&str>, input: MessageType, output: MessageType| {
            pipeline.nodes.iter().enumerate().find_map(|(i, n)| {
                if kind.is_some_and(|k| k != n.kind.name) {
                    return None;
                }
                Some((
                    i,
                    port(&n.kind.inputs, input)?,
                    port(&n.kind.outputs, output)?,
                ))
            })
        };
        let language = |node: usize| config_string(&pipeline.nodes[node].config, "language");
        let asr_node = find(None, MessageType::Audio, MessageType::Text);
        let tts_node = find(None, MessageType::Text, MessageType::Audio);
        let wake_node = find(Some("wakeword"), MessageType::Audio, MessageType::Control);
        let mut stages = Stages::default();
        if let Some((n, input, output)) = wake_node {
            let mut wake = Stage::audio_in(pipeline, Service::Wake, n, input, output);
            // The kind's default wake word unless the config names one.
            let file = config_string(&pipeline.nodes[n].config, "wake_word")
                .unwrap_or_else(|| "hey_jarvis_v0.1.onnx".into());
            wake.model = file.strip_suffix(".onnx").unwrap_or(&file).to_string();
            stages.wake = Some(Arc::new(wake));
        }
        if let Some((n, input, output)) = asr_node {
            let mut asr = Stage::audio_in(pipeline, Service::Asr, n, input, output);
            asr.language = language(n).unwrap_or_else(|| "en".into());
            stages.asr = Some(Arc::new(asr));
        }
        if let Some((n, input, output)) = tts_node {
            stages.tts = Some(Arc::new(Stage::single(
                pipeline,
                Service::Tts,
                n,
                input,
                output,
            )));
        }

        // The handle stage: from what the asr's text (or a text source) feeds
        // to what feeds the tts.
        let ends = [asr_node.map(|a| a.0), tts_node.map(|t| t.0)];
        let entries: Vec<(usize, usize)> = pipeline
            .links
            .iter()
            .filter(|l| match asr_node {
                Some((a, _, out)) => l.from == (a, out),
                None => {
                    let from = &pipeline.nodes[l.from.0];
                    from.kind.inputs.is_empty()
                        && from.kind.outputs[l.from.1].message_type == MessageType::Text
                }
            })
            .map(|l| l.to)
            .filter(|(n, _)| !ends.contains(&Some(*n)))
            .collect();
        let Some((tts, tts_input, _)) = tts_node else {
            return stages;
        };
        let replies: Vec<(usize, usize)> = pipeline
            .links
            .iter()
            .filter(|l| l.to == (tts, tts_input) && !ends.contains(&Some(l.from.0)))
            .map(|l| l.from)
            .collect();
        if entries.is_empty() || replies.is_empty() {
            return stages;
        }
        let entry_nodes: Vec<usize> = entries.iter().map(|e| e.0).collect();
        let downstream = pipeline.downstream(&entry_nodes);
        let reply_nodes: Vec<usize> = replies.iter().map(|r| r.0).collect();
        let upstream = pipeline.upstream(&reply_nodes);
        let keep: Vec<bool> = (0..pipeline.nodes.len())
            .map(|i| downstream[i] && upstream[i] && !ends.contains(&Some(i)))
            .collect();
        let intent = (0..pipeline.nodes.len()).find_map(|i| {
            let out = port(&pipeline.nodes[i].kind.outputs, MessageType::Intent)?;
            keep[i].then_some((i, out))
        });
        let mut exits = replies.clone();
        exits.extend(intent);
        stages.handle = Some(Arc::new(Stage::part(
            pipeline,
            Service::Handle,
            &keep,
            &entries,
            &exits,
        )));
        if let Some((i, out)) = intent {
            let upstream = pipeline.upstream(&[i]);
            let keep: Vec<bool> = (0..pipeline.nodes.len())
                .map(|n| downstream[n] && upstream[n])
                .collect();
            stages.intent = Some(Arc::new(Stage::part(
                pipeline,
                Service::Intent,
                &keep,
                &entries,
                &[(i, out)],
            )));
        }
        stages
    }
}

/// The value of `field: "..."` in a RON config, if it is a plain string.
pub(super) fn config_string(config: &str, field: &str) -> Option<String> {
    let at = config.find(&format!("{field}:"))? + field.len() + 1;
    let rest = config[at..].trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string()).filter(|s| !s.is_empty())
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// A node of the stage could not be created.
    #[error("{0}")]
    Start(String),
    /// A node failed while running.
    #[error("{0}")]
    Failed(String),
    /// No answer before the deadline.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The answer could not be sent (the client went away).
    #[error("the client went away")]
    Gone,
}

/// What [`Stage::run`]'s caller says after each output.
pub enum Next {
    /// Keep the outputs coming.
    More,
    /// The answer is complete: stop waiting (the run finishes on its own).
    Done,
}

impl Stage {
    fn single(
        pipeline: &Pipeline,
        service: Service,
        node: usize,
        input: usize,
        output: usize,
    ) -> Stage {
        let mut keep = vec![false; pipeline.nodes.len()];
        keep[node] = true;
        Stage::part(
            pipeline,
            service,
            &keep,
            &[(node, input)],
            &[(node, output)],
        )
    }

    /// [`Stage::single`] whose entry takes audio in the format of the
    /// node's `input` port (what arrives is converted to it).
    fn audio_in(
        pipeline: &Pipeline,
        service: Service,
        node: usize,
        input: usize,
        output: usize,
    ) -> Stage {
        let audio = pipeline.nodes[node].kind.inputs[input].audio;
        let mut stage = Stage::single(pipeline, service, node, input, output);
        stage.entry_audio = AudioTarget {
            sample_rate: audio.sample_rate,
            channels: audio.channels,
        };
        stage
    }

    fn part(
        pipeline: &Pipeline,
        service: Service,
        keep: &[bool],
        entries: &[(usize, usize)],
        exits: &[(usize, usize)],
    ) -> Stage {
        let (part, index) = pipeline.subset(keep);
        let moved = |&(n, p): &(usize, usize)| Some((index[n]?, p as u32));
        Stage {
            service,
            entries: entries.iter().filter_map(moved).collect(),
            exits: exits.iter().filter_map(moved).collect(),
            pipeline: part,
            entry_audio: AudioTarget {
                sample_rate: 0,
                channels: 0,
            },
            language: "en".into(),
            model: String::new(),
        }
    }

    /// How many exits the stage has.
    pub fn exits_len(&self) -> usize {
        self.exits.len()
    }

    /// What each exit carries.
    pub fn exit_types(&self) -> Vec<MessageType> {
        self.exits
            .iter()
            .map(|&(n, p)| self.pipeline.nodes[n].kind.outputs[p as usize].message_type)
            .collect()
    }

    /// The names of the stage's nodes, for logs and `describe`.
    pub fn node_names(&self) -> Vec<&str> {
        self.pipeline
            .nodes
            .iter()
            .map(|n| n.name.as_str())
            .collect()
    }

    /// Runs one request: `messages` into every entry, then end of stream;
    /// `on_output(exit, message)` is called for each answer as it comes,
    /// until it says [`Next::Done`], every output has ended, or `timeout`
    /// has passed. `audio` is the format of the request's audio, converted
    /// on the way in to what the entry wants.
    ///
    /// The run has a thread of its own: a caller that stops waiting (done,
    /// deadline, client gone) leaves it to finish by itself.
    pub fn run(
        self: &Arc<Self>,
        plugins: &Arc<PluginSet>,
        metrics: Option<Arc<Metrics>>,
        messages: Vec<Message>,
        audio: Option<AudioTarget>,
        timeout: Duration,
        on_output: impl FnMut(usize, Message) -> Result<Next, StageError>,
    ) -> Result<(), StageError> {
        let deadline = Instant::now() + timeout;
        // Room for every message (resampling may split one in two): the
        // request is in memory already, so sending never blocks.
        let running = self.start(
            plugins,
            metrics,
            2 * messages.len() + 4,
            QueuePolicy::Block,
            audio,
        )?;
        for m in messages {
            running.send(m);
        }
        running.end();
        running.wait(deadline, timeout, on_output)
    }

    /// Starts a run of the stage whose input stays open: messages go in
    /// with [`Running::send`] as they come, at most `capacity` waiting
    /// under `policy`, until [`Running::end`] (or the `Running` is
    /// dropped: a client gone).
    pub fn start(
        self: &Arc<Self>,
        plugins: &Arc<PluginSet>,
        metrics: Option<Arc<Metrics>>,
        capacity: usize,
        policy: QueuePolicy,
        audio: Option<AudioTarget>,
    ) -> Result<Running, StageError> {
        let convert = audio.and_then(|arriving| {
            let wanted = self.entry_audio;
            let differs = (wanted.sample_rate != 0 && wanted.sample_rate != arriving.sample_rate)
                || (wanted.channels != 0 && wanted.channels != arriving.channels);
            differs.then_some(wanted)
        });
        let mut feeds = Vec::new();
        let mut senders = Vec::new();
        for &(node, port) in &self.entries {
            let (tx, rx, _) = runtime::link(capacity, policy, false, convert);
            senders.push(tx);
            feeds.push((node, port, rx));
        }
        let mut taps = Vec::new();
        let mut receivers: Vec<Receiver<Message>> = Vec::new();
        for &(node, port) in &self.exits {
            let (tx, rx) = crossbeam_channel::unbounded();
            taps.push((node, port, tx));
            receivers.push(rx);
        }
        let (done_tx, done) = crossbeam_channel::bounded(1);
        let (stage, plugins) = (self.clone(), plugins.clone());
        std::thread::Builder::new()
            .name(format!("serve:{}", self.service.name()))
            .spawn(move || {
                let options = RunOptions {
                    feeds,
                    taps,
                    metrics,
                    ..RunOptions::default()
                };
                let result = runtime::run(&stage.pipeline, &plugins, &options);
                drop(options); // ends the taps: the caller sees every output ended
                let _ = done_tx.send(result);
            })
            .map_err(|e| StageError::Start(format!("cannot start a thread: {e}")))?;
        Ok(Running {
            senders,
            receivers,
            done,
        })
    }
}

/// A run of a stage, started by [`Stage::start`].
pub struct Running {
    senders: Vec<runtime::LinkSender>,
    receivers: Vec<Receiver<Message>>,
    done: Receiver<Result<RunReport, Vec<runtime::StartError>>>,
}

impl Running {
    /// Sends `message` into every entry.
    pub fn send(&self, message: Message) {
        for tx in &self.senders {
            tx.send(message.clone());
        }
    }

    /// Ends the input: the stage finishes what it has and stops.
    pub fn end(&self) {
        for tx in &self.senders {
            tx.send_end_of_stream();
        }
    }

    /// Calls `on_output(exit, message)` for the outputs made so far,
    /// without waiting.
    pub fn poll(&self, mut on_output: impl FnMut(usize, Message)) {
        for (exit, rx) in self.receivers.iter().enumerate() {
            while let Ok(message) = rx.try_recv() {
                if !message.is_end_of_stream() {
                    on_output(exit, message);
                }
            }
        }
    }

    /// Calls `on_output(exit, message)` for each output as it comes, until
    /// it says [`Next::Done`], every output has ended (then the run's
    /// failures are the error), or `deadline` (`timeout` after the start,
    /// for the error) has passed.
    pub fn wait(
        self,
        deadline: Instant,
        timeout: Duration,
        on_output: impl FnMut(usize, Message) -> Result<Next, StageError>,
    ) -> Result<(), StageError> {
        self.until(deadline, timeout, on_output).map(|_| ())
    }

    /// [`Running::wait`] that leaves the run going: `Ok(true)` when
    /// `on_output` said [`Next::Done`] (more requests may follow),
    /// `Ok(false)` when the run has ended.
    pub fn until(
        &self,
        deadline: Instant,
        timeout: Duration,
        mut on_output: impl FnMut(usize, Message) -> Result<Next, StageError>,
    ) -> Result<bool, StageError> {
        let mut select = Select::new();
        for rx in &self.receivers {
            select.recv(rx);
        }
        let mut open = self.receivers.len();
        while open > 0 {
            let Ok(op) = select.select_deadline(deadline) else {
                return Err(StageError::Timeout(timeout));
            };
            let exit = op.index();
            match op.recv(&self.receivers[exit]) {
                Ok(message) if message.is_end_of_stream() => {}
                Ok(message) => {
                    if let Next::Done = on_output(exit, message)? {
                        return Ok(true);
                    }
                }
                Err(_) => {
                    select.remove(exit);
                    open -= 1;
                }
            }
        }
        let result = self
            .done
            .recv_deadline(deadline)
            .map_err(|_| StageError::Timeout(timeout))?;
        check(result).map(|()| false)
    }
}

fn check(result: Result<RunReport, Vec<runtime::StartError>>) -> Result<(), StageError> {
    match result {
        Err(errors) => Err(StageError::Start(
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )),
        Ok(report) => match report.failures().as_slice() {
            [] => Ok(()),
            failures => Err(StageError::Failed(failures.join("; "))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_string_is_found_by_its_field() {
        let config = r#"(model: "tiny.en", language: "de", partial_interval_ms: 0)"#;
        assert_eq!(config_string(config, "language").as_deref(), Some("de"));
        assert_eq!(config_string(config, "model").as_deref(), Some("tiny.en"));
        assert_eq!(config_string(config, "voice"), None);
        assert_eq!(config_string("(language: 3)", "language"), None);
    }
}
