//! The running `wakeword` node.

use hark_sdk::{
    inference::{Model, Tensor},
    prelude::*,
};
use std::collections::VecDeque;

/// Samples per step (80 ms at 16 kHz).
pub(super) const CHUNK: usize = 1280;

/// Samples of context before each step, for the mel frames at its start.
pub(super) const CONTEXT: usize = 480;

/// Mel frames per embedding.
pub(super) const MEL_WINDOW: usize = 76;

/// Embeddings per wake word score.
pub(super) const EMBEDDINGS: usize = 16;

pub(super) const MEL_BANDS: usize = 32;

pub(super) const EMBEDDING: usize = 96;

/// A running `wakeword` node.
pub struct WakeWordNode {
    pub(super) mel: Model,
    pub(super) embed: Model,
    pub(super) wake: Model,
    pub(super) threshold: f32,
    pub(super) listen_samples: usize,
    /// Samples not yet stepped, with `CONTEXT` before them.
    pub(super) raw: Vec<f32>,
    pub(super) mels: VecDeque<[f32; MEL_BANDS]>,
    pub(super) embeddings: VecDeque<Vec<f32>>,
    /// Samples still to let through.
    pub(super) open_for: usize,
    pub(super) ctx: Context,
    pub(super) last_score: f32,
}

pub(super) fn first_f32(outputs: &[Tensor], what: &str) -> Result<Vec<f32>, Error> {
    outputs
        .first()
        .and_then(|t| t.as_f32())
        .map(<[f32]>::to_vec)
        .ok_or_else(|| Error::failed(format!("the {what} model gave no f32 output")))
}

impl WakeWordNode {
    /// One 80 ms step: mel frames, an embedding, a score.
    pub(super) fn step(&mut self) -> Result<Option<f32>, Error> {
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
