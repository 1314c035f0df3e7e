//! The running `tts` node.

use hark_sdk::{audio_message, prelude::*};
use hark_wyoming::{f32_from_pcm16, Event};
use serde_json::json;

use super::*;

/// A running `tts` node.
pub struct TtsNode {
    pub(super) settings: TtsSettings,
    pub(super) remote: Remote,
}

impl TtsNode {
    fn speak(&mut self, meta: MessageMeta, text: &str, out: &mut Outputs) -> Result<(), Error> {
        let mut data = json!({ "text": text });
        if !self.settings.voice.is_empty() {
            data["voice"] = json!({ "name": self.settings.voice });
        }
        let request = [Event::with_data("synthesize", data)];
        // (rate, channels) and the chunks, kept until the answer is whole:
        // a retried exchange starts again from nothing.
        let mut format = (22_050u32, 1u16);
        let mut chunks: Vec<Vec<f32>> = Vec::new();
        let answered = self.remote.exchange(&request, |event| {
            let Some(event) = event else {
                chunks.clear();
                return false;
            };
            match event.kind.as_str() {
                "audio-start" | "audio-chunk" => {
                    let rate = event.u64("rate").unwrap_or(format.0.into());
                    let channels = event.u64("channels").unwrap_or(format.1.into());
                    format = (rate as u32, channels as u16);
                    if !event.payload.is_empty() {
                        chunks.push(f32_from_pcm16(&event.payload));
                    }
                    false
                }
                "audio-stop" => true,
                _ => false,
            }
        });
        if let Err(failure) = answered {
            self.remote.report(failure);
            return Ok(());
        }
        for samples in chunks {
            out.emit(0, audio_message(meta, format.0, format.1, samples))?;
        }
        Ok(())
    }
}

impl Node for TtsNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        match &message.payload {
            Payload::Text(text) if text.is_final && !text.text.trim().is_empty() => {
                let text = text.text.to_string();
                self.speak(message.meta, &text, out)
            }
            Payload::Control(_) => out.emit(0, message),
            _ => Ok(()),
        }
    }
}
