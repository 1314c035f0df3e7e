//! Implementation of `silero`: buffering, the model call, and emitting.

use std::collections::VecDeque;

use hark_sdk::{
    audio_message,
    inference::{Model, Tensor},
    prelude::*,
    Value,
};

use super::{
    detector::{Detector, DetectorConfig, Transition, WINDOW},
    SileroSettings,
};

/// Samples of the previous window the model sees before each new one.
const CONTEXT: usize = 64;
const SAMPLE_RATE: u32 = 16_000;
/// Nanoseconds per window (512 samples at 16 kHz = 32 ms).
const WINDOW_NS: u64 = 32_000_000;

/// At most this many windows (10 s) are held back while speech is being
/// confirmed.
const MAX_RECENT: usize = 312;

const SPEECH: u32 = 0;
const EVENTS: u32 = 1;
const PROBABILITY: u32 = 2;

/// Where each model input and output sits.
struct Io {
    input: usize,
    state: usize,
    sample_rate: Option<usize>,
    output: usize,
    state_out: usize,
}

/// A running `silero` node.
pub struct SileroNode {
    model: Model,
    io: Io,
    detector: Detector,
    ctx: Context,
    /// Recurrent state `[2, 1, 128]`, carried from window to window.
    state: Vec<f32>,
    /// The last `CONTEXT` samples of the previous window.
    context: Vec<f32>,
    /// Samples not yet making a full window.
    pending: Vec<f32>,
    /// Recent windows while no utterance is in progress: what becomes the
    /// start of the next one (pre-roll + the windows that confirm it).
    recent: VecDeque<(u64, Vec<f32>)>,
    pad_windows: u64,
    /// Stream time of the first sample.
    base_ns: Option<u64>,
    session: u64,
    utterance: u64,
}

impl SileroNode {
    pub(super) fn new(
        model: Model,
        settings: &SileroSettings,
        ctx: Context,
    ) -> Result<SileroNode, Error> {
        let io = locate_io(&model)?;
        let windows = |ms: u32| u64::from(ms).div_ceil(32) as u32;
        let config = DetectorConfig {
            threshold: settings.threshold,
            min_speech: windows(settings.min_speech_ms).max(1),
            min_silence: windows(settings.min_silence_ms).max(1),
            max_speech: windows(settings.max_speech_ms).max(1),
        };
        let pad_windows = u64::from(windows(settings.pad_ms));
        Ok(SileroNode {
            model,
            io,
            detector: Detector::new(config),
            ctx,
            state: vec![0.0; 2 * 128],
            context: vec![0.0; CONTEXT],
            pending: Vec::with_capacity(2 * WINDOW),
            recent: VecDeque::new(),
            pad_windows,
            base_ns: None,
            session: 0,
            utterance: 0,
        })
    }

    fn meta(&self, window: u64) -> MessageMeta {
        MessageMeta {
            timestamp_ns: self.base_ns.unwrap_or(0) + window * WINDOW_NS,
            session: self.session,
            utterance: self.utterance,
        }
    }

    /// Runs the model on one window; returns the speech probability.
    fn probability(&mut self, window: &[f32]) -> Result<f32, Error> {
        let mut x = Vec::with_capacity(CONTEXT + WINDOW);
        x.extend_from_slice(&self.context);
        x.extend_from_slice(window);
        self.context.copy_from_slice(&window[WINDOW - CONTEXT..]);
        let mut inputs: Vec<Option<Tensor>> = vec![None; self.model.inputs().len()];
        inputs[self.io.input] = Some(Tensor::f32(&[1, CONTEXT + WINDOW], x));
        inputs[self.io.state] = Some(Tensor::f32(&[2, 1, 128], self.state.clone()));
        if let Some(sr) = self.io.sample_rate {
            inputs[sr] = Some(Tensor::i64(&[], vec![i64::from(SAMPLE_RATE)]));
        }
        let inputs = inputs.into_iter().flatten().collect();
        let outputs = self.model.run(inputs)?;
        let probability = outputs
            .get(self.io.output)
            .and_then(|t| t.as_f32())
            .and_then(|v| v.first().copied())
            .ok_or_else(|| Error::failed("the VAD model gave no probability"))?;
        let state = outputs
            .get(self.io.state_out)
            .and_then(|t| t.as_f32())
            .filter(|v| v.len() == self.state.len())
            .ok_or_else(|| Error::failed("the VAD model gave no state of 2 × 128"))?;
        self.state.copy_from_slice(state);
        Ok(probability)
    }

    /// One full window: probability, transitions, audio.
    fn window(&mut self, samples: Vec<f32>, out: &mut Outputs) -> Result<(), Error> {
        let index = self.detector.windows();
        let probability = self.probability(&samples)?;
        self.ctx.gauge_set("probability", f64::from(probability));
        out.emit(
            PROBABILITY,
            Message::new(
                self.meta(index),
                Payload::Value(Value::Float(probability.into())),
            ),
        )?;
        let was_speaking = self.detector.in_speech();
        match self.detector.push(probability) {
            Transition::Start { at } => {
                self.utterance += 1;
                self.ctx.counter_add("utterances", 1);
                self.event(ControlEvent::UtteranceStart, at, out)?;
                // Pre-roll: from `pad` windows before the start.
                let first = at.saturating_sub(self.pad_windows);
                let recent = std::mem::take(&mut self.recent);
                for (i, w) in recent.into_iter().filter(|(i, _)| *i >= first) {
                    self.audio(i, w, out)?;
                }
                self.audio(index, samples, out)?;
            }
            Transition::End { at } => {
                self.audio(index, samples, out)?;
                self.event(ControlEvent::UtteranceEnd, at, out)?;
            }
            Transition::None if was_speaking => self.audio(index, samples, out)?,
            Transition::None => {
                self.recent.push_back((index, samples));
                // Keep the pre-roll, and everything since an unconfirmed
                // start (bounded: a candidate cannot outlive MAX_RECENT).
                let first = self
                    .detector
                    .candidate()
                    .unwrap_or(index + 1)
                    .saturating_sub(self.pad_windows);
                while self.recent.front().is_some_and(|(i, _)| *i < first)
                    || self.recent.len() > MAX_RECENT
                {
                    self.recent.pop_front();
                }
            }
        }
        Ok(())
    }

    fn audio(&self, window: u64, samples: Vec<f32>, out: &mut Outputs) -> Result<(), Error> {
        out.emit(
            SPEECH,
            audio_message(self.meta(window), SAMPLE_RATE, 1, samples),
        )
    }

    fn event(&self, event: ControlEvent, window: u64, out: &mut Outputs) -> Result<(), Error> {
        let message = Message::new(self.meta(window), Payload::Control(event));
        out.emit(SPEECH, message.clone())?;
        out.emit(EVENTS, message)
    }
}

impl Node for SileroNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        let Payload::Audio(frame) = &message.payload else {
            // Other control events (cancel, ...) go on with the speech.
            return out.emit(SPEECH, message);
        };
        if frame.sample_rate != SAMPLE_RATE || frame.channels != 1 {
            return Err(Error::failed(format!(
                "Silero VAD needs 16000 Hz mono audio, got {} Hz with {} channel(s)",
                frame.sample_rate, frame.channels
            ))
            .with_hint(
                "convert the input to 16 kHz mono (e.g. `sox in.wav -r 16000 -c 1 out.wav`)",
            ));
        }
        if self.base_ns.is_none() {
            self.base_ns = Some(message.meta.timestamp_ns);
            self.session = message.meta.session;
        }
        self.pending.extend_from_slice(&frame.samples);
        let mut start = 0;
        while self.pending.len() - start >= WINDOW {
            let window = self.pending[start..start + WINDOW].to_vec();
            start += WINDOW;
            self.window(window, out)?;
        }
        self.pending.drain(..start);
        Ok(())
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), Error> {
        if !self.pending.is_empty() {
            // The last partial window: judged zero-padded, emitted as is.
            let real = std::mem::take(&mut self.pending);
            let mut window = real.clone();
            window.resize(WINDOW, 0.0);
            let index = self.detector.windows();
            let probability = self.probability(&window)?;
            let was_speaking = self.detector.in_speech();
            match self.detector.push(probability) {
                Transition::End { at } => {
                    self.audio(index, real, out)?;
                    self.event(ControlEvent::UtteranceEnd, at, out)?;
                }
                Transition::None if was_speaking => self.audio(index, real, out)?,
                // Too short to start an utterance of its own.
                _ => {}
            }
        }
        if let Transition::End { at } = self.detector.finish() {
            self.event(ControlEvent::UtteranceEnd, at, out)?;
        }
        Ok(())
    }
}

/// Finds the model's inputs and outputs by name (the exported files name
/// them `input`, `state`, optionally `sr`; `output`, `stateN`).
fn locate_io(model: &Model) -> Result<Io, Error> {
    let find = |specs: &[hark_sdk::inference::TensorSpec], names: &[&str]| {
        specs
            .iter()
            .position(|s| names.iter().any(|n| s.name.as_str() == *n))
    };
    let inputs = model.inputs();
    let outputs = model.outputs();
    let describe = || {
        format!(
            "inputs {:?}, outputs {:?}",
            inputs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            outputs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>()
        )
    };
    let missing = |what: &str| {
        Error::config(format!(
            "this is not a Silero VAD v5/v6 model: no {what} ({})",
            describe()
        ))
        .with_hint("use silero_vad_openvino_16k.onnx from `hark models fetch silero-vad`")
    };
    Ok(Io {
        input: find(inputs, &["input"]).ok_or_else(|| missing("`input`"))?,
        state: find(inputs, &["state", "h"]).ok_or_else(|| missing("`state` input"))?,
        sample_rate: find(inputs, &["sr"]),
        output: find(outputs, &["output"]).unwrap_or(0),
        state_out: find(outputs, &["stateN", "hn"]).unwrap_or(1),
    })
}
