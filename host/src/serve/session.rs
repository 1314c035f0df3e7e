//! One connection: Wyoming events in, a stage run per request, answers
//! out. The session keeps what a request builds up over several events
//! (the audio of a `transcribe`, the text of a streamed `synthesize`, the
//! running wake word stage of a `detect`).
//!
//! Bad input ends in an `error` event: a malformed or oversized frame
//! also closes the connection (the stream can no longer be trusted to be
//! in step); a wrong audio format or an unknown request only fails that
//! request.

use std::{
    io::{BufReader, BufWriter, Write},
    net::TcpStream,
    sync::Arc,
    time::Instant,
};

use hark_plugin_api::{
    AudioFrame, ControlEvent, IntentMessage, Message, MessageMeta, Payload, TextMessage, Value,
};
use serde_json::json;

use super::{
    stages::{Next, Running, Service, Stage, StageError},
    wyoming::{f32_from_pcm16, pcm16_from_f32, read_event, write_event, Event, FrameError},
    Shared,
};
use crate::pipeline::{AudioTarget, QueuePolicy};

/// Audio of a request, as announced by `audio-start`.
struct Incoming {
    rate: u32,
    width: u16,
    channels: u16,
    /// One message per chunk.
    frames: Vec<Message>,
    samples: usize,
}

/// A connection's state.
struct Session<'a> {
    shared: &'a Arc<Shared>,
    writer: BufWriter<TcpStream>,
    id: u64,
    /// Requests so far (the `utterance` of their messages).
    requests: u64,
    audio: Option<Incoming>,
    /// Text of a streamed synthesis not yet spoken (`synthesize-start` .. `-stop`).
    streaming: Option<String>,
    /// Whether `audio-start` went out for the streamed synthesis.
    streaming_started: bool,
    /// A `detect` request, from `detect` to `audio-stop`.
    detecting: Option<Detecting>,
    /// The session's own run of the handle stage, started by its first
    /// `transcript` and kept while it answers: its nodes remember the
    /// conversation ("say that again") for as long as the connection.
    dialogue: Option<Running>,
}

/// A wake word request: the stage runs while the audio streams in.
struct Detecting {
    /// The run, from `audio-start` on.
    running: Option<Running>,
    /// The audio's format, as announced.
    format: (u32, u16),
    /// Samples per channel received, for the detections' timestamps.
    samples: u64,
    /// Detections sent.
    detections: u32,
}

/// Audio chunks a wake word stage may have waiting; beyond, the oldest
/// are dropped (a stalled stage never blocks the connection).
const WAKE_QUEUE: usize = 256;

/// Requests a session's handle stage may have waiting: one at a time is
/// sent, so sending never blocks.
const DIALOGUE_QUEUE: usize = 4;

/// Serves one connection until it closes or breaks the protocol.
pub fn serve_connection(shared: Arc<Shared>, stream: TcpStream, id: u64) {
    let options = &shared.options;
    let _ = stream.set_read_timeout(Some(options.idle_timeout));
    let _ = stream.set_write_timeout(Some(options.write_timeout));
    let _ = stream.set_nodelay(true);
    let reader = match stream.try_clone() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("session {id}: {e}");
            return;
        }
    };
    let mut reader = BufReader::new(reader);
    let mut session = Session {
        shared: &shared,
        writer: BufWriter::new(stream),
        id,
        requests: 0,
        audio: None,
        streaming: None,
        streaming_started: false,
        detecting: None,
        dialogue: None,
    };
    loop {
        let event = match read_event(&mut reader, &shared.options.limits) {
            Ok(Some(event)) => event,
            Ok(None) => break,
            Err(e) => {
                session.frame_error(&e);
                break;
            }
        };
        if let Err(gone) = session.on_event(event) {
            tracing::debug!("session {id}: {gone}");
            break;
        }
    }
    tracing::debug!("session {id} closed");
}

type Sent = std::io::Result<()>;

impl Session<'_> {
    fn send(&mut self, event: &Event) -> Sent {
        write_event(&mut self.writer, event)
    }

    fn flush(&mut self) -> Sent {
        self.writer.flush()
    }

    /// An `error` event: `text` for people, `code` for programs.
    fn error(&mut self, code: &'static str, text: &str) -> Sent {
        self.shared.metrics.refused(code);
        tracing::info!("session {}: {code}: {text}", self.id);
        self.send(&Event::with_data(
            "error",
            json!({ "text": text, "code": code }),
        ))?;
        self.flush()
    }

    fn frame_error(&mut self, e: &FrameError) {
        match e {
            FrameError::Io(io) if is_timeout(io) => {
                let _ = self.error("idle", "no complete event for too long; closing");
            }
            FrameError::Io(_) | FrameError::Truncated => {
                self.shared.metrics.refused(e.reason());
            }
            _ => {
                let _ = self.error(e.reason(), &format!("{e}; closing the connection"));
            }
        }
    }

    fn on_event(&mut self, event: Event) -> Sent {
        match event.kind.as_str() {
            "describe" => {
                let info = self.shared.info.clone();
                self.send(&info)?;
                self.flush()
            }
            "ping" => {
                let pong = Event::with_data("pong", json!({ "text": event.str("text") }));
                self.send(&pong)?;
                self.flush()
            }
            "transcribe" => {
                if self.shared.stages.asr.is_none() {
                    return self.error("unsupported", "this pipeline has no speech-to-text stage");
                }
                Ok(())
            }
            "detect" => self.detect(&event),
            "audio-start" if self.detecting.is_some() => self.wake_audio_start(&event),
            "audio-chunk" if self.detecting.is_some() => self.wake_audio_chunk(&event),
            "audio-stop" if self.detecting.is_some() => self.wake_audio_stop(),
            "audio-start" => self.audio_start(&event),
            "audio-chunk" => self.audio_chunk(event),
            "audio-stop" => self.audio_stop(),
            "transcript" => self.handle(&event),
            "recognize" => self.recognize(&event),
            "synthesize" if self.streaming.is_some() => Ok(()), // sent for old servers; the stream has it
            "synthesize" => {
                let text = event.str("text").unwrap_or_default().to_string();
                self.synthesize(&text, true, true)
            }
            "synthesize-start" => {
                self.streaming = Some(String::new());
                self.streaming_started = false;
                Ok(())
            }
            "synthesize-chunk" => self.synthesize_chunk(&event),
            "synthesize-stop" => self.synthesize_stop(),
            other => {
                tracing::debug!("session {}: ignoring `{other}`", self.id);
                Ok(())
            }
        }
    }

    // --- speech to text -------------------------------------------------

    fn audio_start(&mut self, event: &Event) -> Sent {
        if self.shared.stages.asr.is_none() {
            return self.error("unsupported", "this pipeline has no speech-to-text stage");
        }
        self.audio = None;
        let (rate, channels) = match audio_format(event) {
            Ok(format) => format,
            Err(why) => return self.error("audio-format", &why),
        };
        self.audio = Some(Incoming {
            rate,
            width: 2,
            channels,
            frames: Vec::new(),
            samples: 0,
        });
        Ok(())
    }

    fn audio_chunk(&mut self, event: Event) -> Sent {
        let max_samples = self.shared.options.max_audio_seconds as usize * 96_000 * 8;
        // Taken out while checked; put back only if the chunk is good.
        let Some(mut audio) = self.audio.take() else {
            // After a refused `audio-start` the chunks that follow are
            // dropped quietly: the client has had its error.
            return Ok(());
        };
        let same = |key: &str, value: u64| event.u64(key).is_none_or(|v| v == value);
        if !same("rate", audio.rate.into())
            || !same("width", audio.width.into())
            || !same("channels", audio.channels.into())
        {
            return self.error(
                "audio-format",
                "an audio chunk's format differs from its audio-start",
            );
        }
        let frame_bytes = 2 * audio.channels as usize;
        if !event.payload.len().is_multiple_of(frame_bytes) {
            return self.error(
                "audio-format",
                &format!(
                    "an audio chunk of {} bytes is not whole 16-bit frames of {} channel(s)",
                    event.payload.len(),
                    audio.channels
                ),
            );
        }
        let samples = f32_from_pcm16(&event.payload);
        audio.samples += samples.len();
        let limit = (self.shared.options.max_audio_seconds as usize)
            .saturating_mul(audio.rate as usize * audio.channels as usize)
            .min(max_samples);
        if audio.samples > limit {
            return self.error(
                "too-large",
                &format!(
                    "more than {} s of audio in one request",
                    self.shared.options.max_audio_seconds
                ),
            );
        }
        if !samples.is_empty() {
            audio.frames.push(Message::new(
                self.meta(),
                Payload::Audio(AudioFrame {
                    sample_rate: audio.rate,
                    channels: audio.channels,
                    samples: abi_stable::std_types::RArc::new(samples.into()),
                }),
            ));
        }
        self.audio = Some(audio);
        Ok(())
    }

    fn audio_stop(&mut self) -> Sent {
        let Some(audio) = self.audio.take() else {
            return Ok(());
        };
        let Some(stage) = self.shared.stages.asr.clone() else {
            return Ok(());
        };
        self.requests += 1;
        let meta = self.meta();
        let mut messages = vec![Message::new(
            meta,
            Payload::Control(ControlEvent::UtteranceStart),
        )];
        messages.extend(audio.frames);
        messages.push(Message::new(
            meta,
            Payload::Control(ControlEvent::UtteranceEnd),
        ));
        let format = AudioTarget {
            sample_rate: audio.rate,
            channels: audio.channels,
        };
        let mut transcript = None;
        let began = Instant::now();
        let outcome = self.request(&stage, messages, Some(format), |_, message| {
            if let Payload::Text(text) = &message.payload {
                if text.is_final {
                    transcript = Some(text.text.to_string());
                    return Ok(Next::Done);
                }
            }
            Ok(Next::More)
        });
        if self.answered(Service::Asr, outcome, began)? {
            let language = stage.language.clone();
            self.send(&Event::with_data(
                "transcript",
                json!({ "text": transcript.unwrap_or_default(), "language": language }),
            ))?;
            self.flush()?;
        }
        Ok(())
    }

    // --- wake word ------------------------------------------------------------

    /// `detect`: the audio that follows is streamed through the wake word
    /// stage until `audio-stop`, a `detection` sent for each wake word
    /// heard, `not-detected` at the end if none was.
    fn detect(&mut self, event: &Event) -> Sent {
        let Some(stage) = self.shared.stages.wake.clone() else {
            return self.error("unsupported", "this pipeline has no wake word stage");
        };
        let name = stage.model.clone();
        let names: Vec<&str> = event
            .data
            .get("names")
            .and_then(|n| n.as_array())
            .map(|a| a.iter().filter_map(|n| n.as_str()).collect())
            .unwrap_or_default();
        if !names.is_empty() && !names.contains(&name.as_str()) {
            return self.error(
                "unsupported",
                &format!("no wake word {names:?} here; this server listens for `{name}`"),
            );
        }
        self.detecting = Some(Detecting {
            running: None,
            format: (16_000, 1),
            samples: 0,
            detections: 0,
        });
        Ok(())
    }

    fn wake_audio_start(&mut self, event: &Event) -> Sent {
        let Some(stage) = self.shared.stages.wake.clone() else {
            return Ok(());
        };
        let (rate, channels) = match audio_format(event) {
            Ok(format) => format,
            Err(why) => {
                self.detecting = None;
                return self.error("audio-format", &why);
            }
        };
        let shared = self.shared.clone();
        let started = stage.start(
            &shared.plugins,
            Some(shared.metrics.clone()),
            WAKE_QUEUE,
            QueuePolicy::DropOldest,
            Some(AudioTarget {
                sample_rate: rate,
                channels,
            }),
        );
        match started {
            Ok(running) => {
                if let Some(d) = &mut self.detecting {
                    d.running = Some(running);
                    d.format = (rate, channels);
                }
                Ok(())
            }
            Err(e) => {
                self.detecting = None;
                self.shared.metrics.request("wake", "error", 0.0);
                self.error("failed", &format!("wake failed: {e}"))
            }
        }
    }

    fn wake_audio_chunk(&mut self, event: &Event) -> Sent {
        let meta = self.meta();
        let Some(d) = &mut self.detecting else {
            return Ok(());
        };
        let Some(running) = &d.running else {
            return Ok(()); // before `audio-start`, or after a refused one
        };
        let (rate, channels) = d.format;
        let frame_bytes = 2 * channels as usize;
        let same = |key: &str, value: u64| event.u64(key).is_none_or(|v| v == value);
        if !same("rate", rate.into())
            || !same("width", 2)
            || !same("channels", channels.into())
            || !event.payload.len().is_multiple_of(frame_bytes)
        {
            self.detecting = None;
            return self.error(
                "audio-format",
                "an audio chunk's format differs from its audio-start, or is not whole 16-bit frames",
            );
        }
        let samples = f32_from_pcm16(&event.payload);
        d.samples += (samples.len() / channels as usize) as u64;
        running.send(Message::new(
            meta,
            Payload::Audio(AudioFrame {
                sample_rate: rate,
                channels,
                samples: abi_stable::std_types::RArc::new(samples.into()),
            }),
        ));
        self.send_detections(false)
    }

    fn wake_audio_stop(&mut self) -> Sent {
        let Some(d) = &mut self.detecting else {
            return Ok(());
        };
        let Some(running) = &d.running else {
            self.detecting = None;
            return Ok(());
        };
        running.end();
        let stopped = Instant::now();
        self.send_detections(true)?;
        let Some(d) = self.detecting.take() else {
            return Ok(());
        };
        if d.detections == 0 {
            self.send(&Event::new("not-detected"))?;
            self.flush()?;
        }
        self.shared
            .metrics
            .request("wake", "ok", stopped.elapsed().as_secs_f64());
        Ok(())
    }

    /// Sends a `detection` for each wake word the stage has reported;
    /// `to_the_end` waits until the stage has finished its audio.
    fn send_detections(&mut self, to_the_end: bool) -> Sent {
        let timeout = self.shared.options.request_timeout;
        let Some(d) = &mut self.detecting else {
            return Ok(());
        };
        let is_wake = |m: &Message| matches!(m.payload, Payload::Control(ControlEvent::Wake));
        let mut woken = 0u32;
        if to_the_end {
            let Some(running) = d.running.take() else {
                return Ok(());
            };
            let outcome = running.wait(Instant::now() + timeout, timeout, |_, message| {
                woken += u32::from(is_wake(&message));
                Ok(Next::More)
            });
            if let Err(e) = outcome {
                tracing::info!("session {}: wake: {e}", self.id);
            }
        } else if let Some(running) = &d.running {
            running.poll(|_, message| woken += u32::from(is_wake(&message)));
        }
        if woken == 0 {
            return Ok(());
        }
        let d = self.detecting.as_mut().expect("detecting");
        d.detections += woken;
        let timestamp_ms = d.samples * 1000 / u64::from(d.format.0);
        let name = self
            .shared
            .stages
            .wake
            .as_ref()
            .map(|s| s.model.clone())
            .unwrap_or_default();
        for _ in 0..woken {
            self.send(&Event::with_data(
                "detection",
                json!({ "name": name, "timestamp": timestamp_ms }),
            ))?;
        }
        self.flush()
    }

    // --- text in: handle and recognize ------------------------------------

    fn text_request(&mut self, event: &Event) -> Option<Message> {
        let text = event.str("text")?.trim();
        self.requests += 1;
        Some(Message::new(
            self.meta(),
            Payload::Text(abi_stable::std_types::RBox::new(TextMessage {
                text: text.into(),
                is_final: true,
                language: event.str("language").unwrap_or("en").into(),
                confidence: 1.0,
            })),
        ))
    }

    fn handle(&mut self, event: &Event) -> Sent {
        let Some(stage) = self.shared.stages.handle.clone() else {
            return self.error(
                "unsupported",
                "this pipeline has no stage that answers text",
            );
        };
        let Some(request) = self.text_request(event) else {
            return self.error("malformed", "`transcript` needs `text`");
        };
        let key = request_text(&request);
        if self.answer_from_cache(Service::Handle, &key)? {
            return Ok(());
        }
        let replies = stage_replies(&stage);
        let mut said: Vec<String> = Vec::new();
        let mut intent: Option<String> = None;
        let mut replied = false;
        let began = Instant::now();
        let outcome = self.converse(&stage, request, |exit, message| {
            match &message.payload {
                Payload::Intent(i) if exit >= replies => intent = Some(i.name.to_string()),
                Payload::Text(t) if exit < replies => {
                    said.push(t.text.to_string());
                    replied = true;
                }
                // "stop": the answer is to stop speaking.
                Payload::Control(ControlEvent::Cancel) if exit < replies => replied = true,
                _ => {}
            }
            // The answer is complete with the reply; skills may keep the run
            // going (a timer waits to announce), which a request does not.
            Ok(
                if replied && (intent.is_some() || replies == stage.exits_len()) {
                    Next::Done
                } else {
                    Next::More
                },
            )
        });
        if self.answered(Service::Handle, outcome, began)? {
            let text = said.join(" ");
            let kind = if intent.as_deref() == Some("unknown") || !replied {
                "not-handled"
            } else {
                "handled"
            };
            let answer = Event::with_data(kind, json!({ "text": text }));
            self.send(&answer)?;
            self.flush()?;
            self.shared.cache.put(Service::Handle, key, vec![answer]);
        }
        Ok(())
    }

    fn recognize(&mut self, event: &Event) -> Sent {
        let Some(stage) = self.shared.stages.intent.clone() else {
            return self.error("unsupported", "this pipeline has no intent recogniser");
        };
        let Some(request) = self.text_request(event) else {
            return self.error("malformed", "`recognize` needs `text`");
        };
        let key = request_text(&request);
        if self.answer_from_cache(Service::Intent, &key)? {
            return Ok(());
        }
        let mut intent: Option<IntentMessage> = None;
        let began = Instant::now();
        let outcome = self.request(&stage, vec![request], None, |_, message| {
            if let Payload::Intent(i) = message.payload {
                intent = Some(abi_stable::std_types::RBox::into_inner(i));
                return Ok(Next::Done);
            }
            Ok(Next::More)
        });
        if self.answered(Service::Intent, outcome, began)? {
            let answer = match intent {
                Some(i) if i.name.as_str() != "unknown" => Event::with_data(
                    "intent",
                    json!({
                        "name": i.name.as_str(),
                        "entities": i.slots.iter().map(|s| json!({
                            "name": s.name.as_str(),
                            "value": value_json(&s.value, s.raw.as_str()),
                        })).collect::<Vec<_>>(),
                        "text": i.text.as_str(),
                    }),
                ),
                other => Event::with_data(
                    "not-recognized",
                    json!({ "text": other.map(|i| i.text.to_string()).unwrap_or_default() }),
                ),
            };
            self.send(&answer)?;
            self.flush()?;
            self.shared.cache.put(Service::Intent, key, vec![answer]);
        }
        Ok(())
    }

    /// Answers from the cache if it holds `key`; returns whether it did.
    fn answer_from_cache(&mut self, service: Service, key: &str) -> std::io::Result<bool> {
        let began = Instant::now();
        let Some(answer) = self.shared.cache.get(service, key, &self.shared.metrics) else {
            return Ok(false);
        };
        for event in &answer {
            self.send(event)?;
        }
        self.flush()?;
        self.shared
            .metrics
            .request(service.name(), "ok", began.elapsed().as_secs_f64());
        Ok(true)
    }

    // --- text to speech -----------------------------------------------------

    /// Speaks `text`; `start` and `stop` say whether this sends the
    /// `audio-start` and `audio-stop` around it (a streamed synthesis
    /// sends one pair for all its sentences).
    fn synthesize(&mut self, text: &str, start: bool, stop: bool) -> Sent {
        let Some(stage) = self.shared.stages.tts.clone() else {
            return self.error("unsupported", "this pipeline has no text-to-speech stage");
        };
        let max = self.shared.options.limits.max_data;
        if text.len() > max {
            return self.error("too-large", &format!("text over {max} bytes"));
        }
        self.requests += 1;
        let request = Message::new(
            self.meta(),
            Payload::Text(abi_stable::std_types::RBox::new(TextMessage {
                text: text.into(),
                is_final: true,
                language: "".into(),
                confidence: 1.0,
            })),
        );
        let began = Instant::now();
        let mut started = !start;
        let mut format = (22_050u32, 1u16);
        let mut writer_failed = None;
        // The chunks, for the cache.
        let mut chunks: Vec<Event> = Vec::new();
        let cached = self
            .shared
            .cache
            .get(Service::Tts, text, &self.shared.metrics);
        let writer = &mut self.writer;
        let outcome = if let Some(cached) = cached {
            let sent = (|| {
                for chunk in &cached {
                    if !started {
                        let (rate, channels) = (chunk.u64("rate"), chunk.u64("channels"));
                        format = (rate.unwrap_or(22_050) as u32, channels.unwrap_or(1) as u16);
                        write_event(writer, &audio_event("audio-start", format, Vec::new()))?;
                        started = true;
                    }
                    write_event(writer, chunk)?;
                }
                writer.flush()
            })();
            sent?;
            Ok(())
        } else if text.trim().is_empty() {
            Ok(())
        } else {
            let shared = self.shared.clone();
            let permit = shared.limiter.acquire(&shared.metrics);
            match permit {
                Err(refusal) => Err(Refused(refusal)),
                Ok(_permit) => stage
                    .run(
                        &shared.plugins,
                        Some(shared.metrics.clone()),
                        vec![request],
                        None,
                        shared.options.request_timeout,
                        |_, message| {
                            let Payload::Audio(frame) = &message.payload else {
                                return Ok(Next::More);
                            };
                            format = (frame.sample_rate, frame.channels);
                            let sent = (|| {
                                if !started {
                                    write_event(
                                        writer,
                                        &audio_event("audio-start", format, Vec::new()),
                                    )?;
                                    started = true;
                                }
                                let chunk = audio_event(
                                    "audio-chunk",
                                    format,
                                    pcm16_from_f32(&frame.samples),
                                );
                                write_event(writer, &chunk)?;
                                chunks.push(chunk);
                                writer.flush()
                            })();
                            match sent {
                                Ok(()) => Ok(Next::More),
                                Err(e) => {
                                    writer_failed = Some(e);
                                    Err(StageError::Gone)
                                }
                            }
                        },
                    )
                    .map_err(Failed),
            }
        };
        if let Some(e) = writer_failed {
            return Err(e);
        }
        let ok = self.answered(Service::Tts, outcome, began)?;
        if ok && !chunks.is_empty() {
            self.shared
                .cache
                .put(Service::Tts, text.to_string(), chunks);
        }
        if ok {
            if !started {
                self.send(&audio_event("audio-start", format, Vec::new()))?;
            }
            if stop {
                self.send(&audio_event("audio-stop", format, Vec::new()))?;
            }
            self.flush()?;
        }
        if start && !stop {
            self.streaming_started = true;
        }
        Ok(())
    }

    fn synthesize_chunk(&mut self, event: &Event) -> Sent {
        let Some(text) = &mut self.streaming else {
            return self.error("malformed", "`synthesize-chunk` before `synthesize-start`");
        };
        text.push_str(event.str("text").unwrap_or_default());
        if text.len() > self.shared.options.limits.max_data {
            self.streaming = None;
            return self.error("too-large", "the streamed text is too long");
        }
        // Speak each finished sentence as soon as it is complete.
        while let Some(end) = sentence_end(self.streaming.as_deref().unwrap_or_default()) {
            let text = self.streaming.as_mut().expect("streaming");
            let sentence: String = text.drain(..end).collect();
            let start = !self.streaming_started;
            self.synthesize(sentence.trim(), start, false)?;
            self.streaming_started = true;
        }
        Ok(())
    }

    fn synthesize_stop(&mut self) -> Sent {
        let Some(rest) = self.streaming.take() else {
            return Ok(());
        };
        let start = !self.streaming_started;
        self.synthesize(rest.trim(), start, true)?;
        self.streaming_started = false;
        self.send(&Event::new("synthesize-stopped"))?;
        self.flush()
    }

    // --- requests -----------------------------------------------------------

    fn meta(&self) -> MessageMeta {
        MessageMeta {
            session: self.id,
            utterance: self.requests,
            ..MessageMeta::default()
        }
    }

    /// Runs `stage` for one request under the concurrency limit.
    fn request(
        &mut self,
        stage: &Arc<Stage>,
        messages: Vec<Message>,
        audio: Option<AudioTarget>,
        on_output: impl FnMut(usize, Message) -> Result<Next, StageError>,
    ) -> Result<(), RequestError> {
        let shared = self.shared.clone();
        let limiter = match stage.service {
            Service::Asr => &shared.asr_limiter,
            _ => &shared.limiter,
        };
        let _permit = limiter.acquire(&shared.metrics).map_err(Refused)?;
        stage
            .run(
                &shared.plugins,
                Some(shared.metrics.clone()),
                messages,
                audio,
                shared.options.request_timeout,
                on_output,
            )
            .map_err(Failed)
    }

    /// Runs a `handle` request on the session's own run of `stage` (see
    /// `dialogue`), under the concurrency limit. Only outputs made for this
    /// request count (skills carry the request's metadata on their
    /// answers); a late one for an earlier request, or an announcement
    /// nobody asked for, is dropped. A run that failed or missed the
    /// deadline is let go (it ends by itself once its input closes) and
    /// the next request starts a fresh one.
    fn converse(
        &mut self,
        stage: &Arc<Stage>,
        request: Message,
        mut on_output: impl FnMut(usize, Message) -> Result<Next, StageError>,
    ) -> Result<(), RequestError> {
        let shared = self.shared.clone();
        let _permit = shared.limiter.acquire(&shared.metrics).map_err(Refused)?;
        let running = match self.dialogue.take() {
            Some(running) => running,
            None => stage
                .start(
                    &shared.plugins,
                    Some(shared.metrics.clone()),
                    DIALOGUE_QUEUE,
                    QueuePolicy::Block,
                    None,
                )
                .map_err(Failed)?,
        };
        let utterance = request.meta.utterance;
        running.send(request);
        let timeout = shared.options.request_timeout;
        let answered = running
            .until(Instant::now() + timeout, timeout, |exit, message| {
                if message.meta.utterance != utterance || message.meta.session != self.id {
                    return Ok(Next::More);
                }
                on_output(exit, message)
            })
            .map_err(Failed)?;
        if answered {
            self.dialogue = Some(running);
        }
        Ok(())
    }

    /// Counts the outcome and sends the error, if any; returns whether the
    /// caller should send its answer.
    fn answered(
        &mut self,
        service: Service,
        outcome: Result<(), RequestError>,
        started: Instant,
    ) -> std::io::Result<bool> {
        match outcome {
            Ok(()) => {
                self.shared
                    .metrics
                    .request(service.name(), "ok", started.elapsed().as_secs_f64());
                Ok(true)
            }
            Err(RequestError::Refused(refusal)) => {
                self.shared.metrics.request(service.name(), "refused", 0.0);
                self.error(refusal.reason(), &refusal.to_string())?;
                Ok(false)
            }
            Err(RequestError::Failed(StageError::Gone)) => {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            Err(RequestError::Failed(e)) => {
                self.shared.metrics.request(service.name(), "error", 0.0);
                let code = match e {
                    StageError::Timeout(_) => "timeout",
                    _ => "failed",
                };
                self.error(code, &format!("{} failed: {e}", service.name()))?;
                Ok(false)
            }
        }
    }
}

/// Why a request got no answer.
pub enum RequestError {
    /// The concurrency limit refused it.
    Refused(super::limit::Refusal),
    /// The stage failed.
    Failed(StageError),
}
use RequestError::{Failed, Refused};

/// The `(rate, channels)` of an `audio-start` (16-bit only), or why it is
/// refused.
fn audio_format(event: &Event) -> Result<(u32, u16), String> {
    let rate = event.u64("rate").unwrap_or(16_000);
    let width = event.u64("width").unwrap_or(2);
    let channels = event.u64("channels").unwrap_or(1);
    if width != 2 {
        return Err(format!(
            "audio width {width} is not supported: send 16-bit PCM (width 2)"
        ));
    }
    if !(8_000..=96_000).contains(&rate) || !(1..=8).contains(&channels) {
        return Err(format!(
            "{rate} Hz x {channels} channels is out of range: 8000-96000 Hz, 1-8 channels"
        ));
    }
    Ok((rate as u32, channels as u16))
}

/// A text request's text: the cache's key.
fn request_text(request: &Message) -> String {
    match &request.payload {
        Payload::Text(t) => t.text.to_string(),
        _ => String::new(),
    }
}

/// How many of the handle stage's exits are replies (the intent, if
/// any, comes after them).
fn stage_replies(stage: &Stage) -> usize {
    let types = stage.exit_types();
    types.len() - usize::from(types.last() == Some(&hark_plugin_api::MessageType::Intent))
}

/// Where the first sentence of `text` ends (after `.`, `!`, `?` or a new
/// line followed by white space), if it is complete.
fn sentence_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(1)).find_map(|i| {
        (matches!(bytes[i], b'.' | b'!' | b'?' | b'\n') && bytes[i + 1].is_ascii_whitespace())
            .then_some(i + 1)
    })
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

fn audio_event(kind: &str, (rate, channels): (u32, u16), payload: Vec<u8>) -> Event {
    let mut event = Event::with_data(
        kind,
        json!({ "rate": rate, "width": 2, "channels": channels }),
    );
    event.payload = payload;
    event
}

/// A slot value as JSON: its normalised value, or its text.
fn value_json(value: &Value, raw: &str) -> serde_json::Value {
    match value {
        Value::Null => json!(raw),
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Float(f) => json!(f),
        Value::Str(s) => json!(s.as_str()),
        Value::List(items) => items.iter().map(|v| value_json(v, "")).collect(),
        Value::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|e| (e.key.to_string(), value_json(&e.value, "")))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_end_at_punctuation_followed_by_space() {
        assert_eq!(sentence_end("Hello there. How"), Some(12));
        assert_eq!(sentence_end("Hello there."), None, "may go on: 'there.com'");
        assert_eq!(sentence_end("3.5 litres"), None);
        assert_eq!(sentence_end("Really? Yes"), Some(7));
    }
}
