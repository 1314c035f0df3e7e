//! The running `asr` node.

use hark_sdk::{api::AudioFrame, prelude::*, text_message};
use hark_wyoming::{pcm16_from_f32, Event};
use serde_json::json;

use super::*;

/// An utterance being collected.
pub(super) struct Utterance {
    meta: MessageMeta,
    rate: u32,
    channels: u16,
    samples: Vec<f32>,
    /// Samples beyond `max_seconds`, dropped.
    dropped: usize,
}

/// A running `asr` node.
pub struct AsrNode {
    pub(super) settings: AsrSettings,
    pub(super) remote: Remote,
    pub(super) utterance: Option<Utterance>,
    /// Whether utterance events were seen (then audio outside an
    /// utterance is silence, and is not sent).
    pub(super) delimited: bool,
}

/// Samples per `audio-chunk` (Home Assistant sends 1024).
const CHUNK: usize = 1024;

impl AsrNode {
    fn audio(&mut self, meta: MessageMeta, frame: &AudioFrame) {
        if self.utterance.is_none() && !self.delimited {
            self.start(meta);
        }
        let max = self.settings.max_seconds as usize;
        let Some(u) = &mut self.utterance else { return };
        if u.samples.is_empty() {
            (u.rate, u.channels) = (frame.sample_rate, frame.channels);
        }
        if (frame.sample_rate, frame.channels) != (u.rate, u.channels) {
            u.dropped += frame.samples.len();
            return;
        }
        let room = (max * u.rate as usize * u.channels as usize).saturating_sub(u.samples.len());
        let take = frame.samples.len().min(room);
        u.samples.extend_from_slice(&frame.samples[..take]);
        u.dropped += frame.samples.len() - take;
    }

    fn start(&mut self, meta: MessageMeta) {
        self.utterance = Some(Utterance {
            meta,
            rate: 16_000,
            channels: 1,
            samples: Vec::new(),
            dropped: 0,
        });
    }

    fn finish(&mut self, out: &mut Outputs) -> Result<(), Error> {
        let Some(u) = self.utterance.take() else {
            return Ok(());
        };
        if u.samples.is_empty() {
            return Ok(());
        }
        if u.dropped > 0 {
            self.remote.ctx().warn(&format!(
                "an utterance was cut to {} s ({} samples of another format or beyond it dropped)",
                self.settings.max_seconds, u.dropped
            ));
        }
        let format = json!({ "rate": u.rate, "width": 2, "channels": u.channels });
        let mut request = vec![Event::with_data(
            "transcribe",
            match self.settings.language.as_str() {
                "" => json!({}),
                language => json!({ "language": language }),
            },
        )];
        request.push(Event::with_data("audio-start", format.clone()));
        for piece in u.samples.chunks(CHUNK * u.channels as usize) {
            let mut chunk = Event::with_data("audio-chunk", format.clone());
            chunk.payload = pcm16_from_f32(piece);
            request.push(chunk);
        }
        request.push(Event::new("audio-stop"));
        let mut transcript = None;
        let answered = self.remote.exchange(&request, |event| match event {
            Some(event) if event.kind == "transcript" => {
                transcript = Some(event.str("text").unwrap_or_default().trim().to_string());
                true
            }
            Some(_) => false,
            None => {
                transcript = None;
                false
            }
        });
        match (answered, transcript) {
            (Ok(()), Some(text)) if !text.is_empty() => out.emit(0, text_message(u.meta, text)),
            (Ok(()), _) => Ok(()),
            (Err(failure), _) => {
                self.remote.report(failure);
                Ok(())
            }
        }
    }
}

impl Node for AsrNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        match &message.payload {
            Payload::Audio(frame) => {
                self.audio(message.meta, frame);
                Ok(())
            }
            Payload::Control(ControlEvent::UtteranceStart) => {
                self.delimited = true;
                self.start(message.meta);
                Ok(())
            }
            Payload::Control(ControlEvent::UtteranceEnd) => {
                self.delimited = true;
                self.finish(out)
            }
            _ => Ok(()),
        }
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), Error> {
        self.finish(out)
    }
}
