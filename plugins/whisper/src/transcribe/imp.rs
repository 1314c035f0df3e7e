//! Implementation of `transcribe`: utterance buffering, partial and final
//! transcripts, latency figures.

use std::time::Instant;

use hark_sdk::{
    api::{abi_stable::std_types::RBox, abi_stable::std_types::RString, TextMessage},
    prelude::*,
};

use super::{
    engine::{Engine, Transcript, SAMPLE_RATE},
    TranscribeSettings,
};

const TEXT: u32 = 0;

/// A running `transcribe` node.
pub struct TranscribeNode {
    engine: Engine,
    ctx: Context,
    /// The utterance so far.
    buffer: Vec<f32>,
    /// Inside UtteranceStart .. UtteranceEnd (or in a stream without VAD
    /// events, once audio has arrived).
    in_utterance: bool,
    /// Whether VAD events were ever seen (then audio outside an utterance
    /// is ignored).
    delimited: bool,
    /// Metadata of the utterance's first message.
    meta: MessageMeta,
    /// Buffer length at the last partial decode.
    partial_at: usize,
    last_partial: String,
    partial_interval: usize,
    max_utterance: usize,
    stats: Stats,
}

/// Latency figures, published as gauges for `hark run --stats`.
#[derive(Default)]
struct Stats {
    utterances: u64,
    latency_ms_sum: f64,
    latency_ms_max: f64,
    rtf_sum: f64,
}

impl TranscribeNode {
    pub(super) fn new(engine: Engine, settings: &TranscribeSettings, ctx: Context) -> Self {
        TranscribeNode {
            engine,
            ctx,
            buffer: Vec::new(),
            in_utterance: false,
            delimited: false,
            meta: MessageMeta::default(),
            partial_at: 0,
            last_partial: String::new(),
            partial_interval: settings.partial_interval_ms as usize * SAMPLE_RATE / 1000,
            max_utterance: settings.max_utterance_s as usize * SAMPLE_RATE,
            stats: Stats::default(),
        }
    }

    fn start(&mut self, meta: MessageMeta) {
        self.buffer.clear();
        self.in_utterance = true;
        self.meta = meta;
        self.partial_at = 0;
        self.last_partial.clear();
    }

    fn message(&self, t: &Transcript, is_final: bool) -> Message {
        Message::new(
            self.meta,
            Payload::Text(RBox::new(TextMessage {
                text: RString::from(t.text.as_str()),
                is_final,
                language: RString::from(t.language.as_str()),
                confidence: t.confidence,
            })),
        )
    }

    /// Re-decodes the utterance so far when enough new audio arrived.
    fn maybe_partial(&mut self, out: &mut Outputs) -> Result<(), Error> {
        if self.partial_interval == 0 || self.buffer.len() < self.partial_at + self.partial_interval
        {
            return Ok(());
        }
        self.partial_at = self.buffer.len();
        let transcript = self.engine.transcribe(&self.buffer)?;
        self.ctx.counter_add("partials", 1);
        if !transcript.text.is_empty() && transcript.text != self.last_partial {
            out.emit(TEXT, self.message(&transcript, false))?;
            self.last_partial = transcript.text;
        }
        Ok(())
    }

    /// Decodes the whole utterance and emits the final transcript;
    /// `ended` is when the end of speech reached this node.
    fn finish(&mut self, ended: Instant, out: &mut Outputs) -> Result<(), Error> {
        self.in_utterance = false;
        if self.buffer.is_empty() {
            return Ok(());
        }
        let audio_s = self.buffer.len() as f64 / SAMPLE_RATE as f64;
        let decode_started = Instant::now();
        let transcript = self.engine.transcribe(&self.buffer)?;
        let decode_s = decode_started.elapsed().as_secs_f64();
        self.buffer.clear();
        match transcript.steered {
            Some(true) => self.ctx.counter_add("steered", 1),
            Some(false) => {
                self.ctx.counter_add("outside_grammar", 1);
                self.ctx.info(&format!(
                    "utterance {}: not a sentence of the grammar; the free reading is kept",
                    self.meta.utterance
                ));
            }
            None => {}
        }
        if let Some(why) = transcript.redecoded {
            self.ctx.counter_add("redecoded", 1);
            self.ctx.info(&format!(
                "utterance {}: the fast decode gave {why}; decoded again with the full 30 s window",
                self.meta.utterance
            ));
        }
        if !transcript.text.is_empty() {
            out.emit(TEXT, self.message(&transcript, true))?;
        }
        let latency_ms = ended.elapsed().as_secs_f64() * 1e3;
        self.record(audio_s, decode_s, latency_ms);
        Ok(())
    }

    fn record(&mut self, audio_s: f64, decode_s: f64, latency_ms: f64) {
        let s = &mut self.stats;
        s.utterances += 1;
        s.latency_ms_sum += latency_ms;
        s.latency_ms_max = s.latency_ms_max.max(latency_ms);
        let rtf = decode_s / audio_s;
        s.rtf_sum += rtf;
        let n = s.utterances as f64;
        self.ctx.counter_add("utterances", 1);
        self.ctx.gauge_set("final_latency_ms.last", latency_ms);
        self.ctx
            .gauge_set("final_latency_ms.mean", s.latency_ms_sum / n);
        self.ctx.gauge_set("final_latency_ms.max", s.latency_ms_max);
        self.ctx.gauge_set("real_time_factor.last", rtf);
        self.ctx.gauge_set("real_time_factor.mean", s.rtf_sum / n);
        self.ctx.info(&format!(
            "utterance {}: {audio_s:.2} s of audio, final transcript {latency_ms:.0} ms after the end of speech (real-time factor {rtf:.3})",
            self.meta.utterance
        ));
    }
}

impl Node for TranscribeNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        match &message.payload {
            Payload::Audio(frame) => {
                if frame.sample_rate != SAMPLE_RATE as u32 || frame.channels != 1 {
                    return Err(Error::failed(format!(
                        "whisper needs 16000 Hz mono audio, got {} Hz with {} channel(s)",
                        frame.sample_rate, frame.channels
                    ))
                    .with_hint("convert the input to 16 kHz mono (e.g. `sox in.wav -r 16000 -c 1 out.wav`)"));
                }
                if !self.in_utterance {
                    if self.delimited {
                        return Ok(()); // between utterances: not speech
                    }
                    self.start(message.meta);
                }
                self.buffer.extend_from_slice(&frame.samples);
                if self.buffer.len() >= self.max_utterance {
                    // Whisper hears 30 s at a time. Without VAD the stream
                    // is transcribed in pieces; behind a VAD that does not
                    // end its utterance (continuous noise), so is the
                    // utterance: the buffer, and what each partial
                    // re-decodes, stay bounded.
                    let meta = self.meta;
                    self.finish(Instant::now(), out)?;
                    if self.delimited {
                        self.start(meta);
                        self.ctx.counter_add("utterances_cut", 1);
                    }
                    return Ok(());
                }
                self.maybe_partial(out)
            }
            Payload::Control(ControlEvent::UtteranceStart) => {
                self.delimited = true;
                self.start(message.meta);
                Ok(())
            }
            Payload::Control(ControlEvent::UtteranceEnd) => {
                self.delimited = true;
                let ended = Instant::now();
                self.meta.utterance = message.meta.utterance;
                self.finish(ended, out)
            }
            Payload::Control(ControlEvent::Cancel) => {
                self.buffer.clear();
                self.in_utterance = false;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), Error> {
        // The stream ended mid-utterance (or there was no VAD at all).
        if self.in_utterance {
            self.finish(Instant::now(), out)?;
        }
        Ok(())
    }
}
