//! `microphone`: captures audio from a sound device (cpal).
//!
//! ```ron
//! "mic": (plugin: "audio", kind: "microphone", config: (device: "default", sample_rate: 16000, channels: 1)),
//! ```
//!
//! The device runs on a thread of its own (cpal streams may not move
//! between threads); its callback hands samples over a bounded queue, and
//! the node cuts them into frames of `frame_ms`. If the pipeline falls
//! behind by more than the queue holds (256 device buffers), the device's
//! new audio is dropped and counted (`overruns`): the device callback
//! never waits.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use cpal::traits::{DeviceTrait, StreamTrait};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use hark_sdk::{audio_message, prelude::*, ConfigIssue};

use crate::device::{choose_config, find, push_as_f32, Direction};

/// The `microphone` kind.
pub struct Microphone;

/// Settings of `microphone`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MicrophoneSettings {
    /// Device: empty or "default", an index from `hark devices`, or (part of) a name.
    pub device: String,
    /// Samples per second; 0 for the device's default.
    pub sample_rate: u32,
    /// Channels; 0 for the device's default.
    pub channels: u16,
    /// Frame length in milliseconds.
    pub frame_ms: u32,
    /// Stop after this many seconds of audio; 0 runs until the pipeline stops.
    pub max_seconds: f32,
}

impl Default for MicrophoneSettings {
    fn default() -> Self {
        MicrophoneSettings {
            device: String::new(),
            sample_rate: 0,
            channels: 0,
            frame_ms: 20,
            max_seconds: 0.0,
        }
    }
}

impl Settings for MicrophoneSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::string(
                "device",
                "device: empty/\"default\", an index from `hark devices`, or (part of) its name",
            ),
            Field::integer(
                "sample_rate",
                "u32",
                "samples per second; 0: the device's default (links convert to what nodes need)",
            ),
            Field::integer("channels", "u16", "channels; 0: the device's default"),
            Field::integer("frame_ms", "u32", "frame length in milliseconds (1..=1000)"),
            Field::float(
                "max_seconds",
                "f32",
                "stop after this much audio; 0: until the pipeline stops",
            ),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        validate_frame_ms(self.frame_ms)?;
        if self.max_seconds < 0.0 || !self.max_seconds.is_finite() {
            return Err(ConfigIssue::field(
                "max_seconds",
                "max_seconds must be 0 or positive",
            ));
        }
        Ok(())
    }
}

pub(crate) fn validate_frame_ms(frame_ms: u32) -> Result<(), ConfigIssue> {
    if !(1..=1000).contains(&frame_ms) {
        return Err(ConfigIssue::field(
            "frame_ms",
            format!("frame_ms must be within 1..=1000, not {frame_ms}"),
        ));
    }
    Ok(())
}

impl NodeKind for Microphone {
    type Settings = MicrophoneSettings;
    type Instance = MicrophoneNode;

    fn spec() -> KindSpec {
        KindSpec::source("microphone", "Captures audio from a sound device").output(
            Port::audio("audio").doc("interleaved f32 frames at the device's rate and channels"),
        )
    }

    fn create(settings: MicrophoneSettings, ctx: &Context) -> Result<MicrophoneNode, Error> {
        MicrophoneNode::open(&settings, *ctx)
    }
}

/// Messages from the device thread.
enum Captured {
    Samples(Vec<f32>),
    Failed(String),
}

/// A running `microphone` node.
pub struct MicrophoneNode {
    samples: Receiver<Captured>,
    /// Dropping it stops the device thread (at the end, or with the node).
    stop: Option<Sender<()>>,
    overruns: Arc<AtomicU64>,
    sample_rate: u32,
    channels: u16,
    samples_per_frame: usize,
    pending: Vec<f32>,
    /// Samples still allowed by `max_seconds` (None: unlimited).
    remaining: Option<u64>,
    sent: u64,
    ctx: Context,
}

impl MicrophoneNode {
    fn open(settings: &MicrophoneSettings, ctx: Context) -> Result<Self, Error> {
        let (ready_tx, ready_rx) = crossbeam_channel::bounded::<Result<(u32, u16), Error>>(1);
        let (samples_tx, samples_rx) = crossbeam_channel::bounded::<Captured>(256);
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        let overruns = Arc::new(AtomicU64::new(0));
        let settings_thread = settings.clone();
        let overruns_thread = overruns.clone();
        std::thread::Builder::new()
            .name("hark-microphone".into())
            .spawn(move || {
                let opened = (|| {
                    let device = find(&settings_thread.device, Direction::Input)?;
                    let (config, format) = choose_config(
                        &device,
                        Direction::Input,
                        settings_thread.sample_rate,
                        settings_thread.channels,
                    )?;
                    let data_tx = samples_tx.clone();
                    let error_tx = samples_tx.clone();
                    let stream = device
                        .build_input_stream_raw(
                            &config,
                            format,
                            move |data: &cpal::Data, _: &cpal::InputCallbackInfo| {
                                let mut chunk = Vec::with_capacity(data.len());
                                push_as_f32(data, &mut chunk);
                                if data_tx.try_send(Captured::Samples(chunk)).is_err() {
                                    overruns_thread.fetch_add(1, Ordering::Relaxed);
                                }
                            },
                            move |e| {
                                let _ = error_tx.try_send(Captured::Failed(e.to_string()));
                            },
                            None,
                        )
                        .map_err(|e| Error::failed(format!("cannot open the microphone: {e}")))?;
                    stream
                        .play()
                        .map_err(|e| Error::failed(format!("cannot start the microphone: {e}")))?;
                    Ok::<_, Error>((stream, config))
                })();
                match opened {
                    Ok((stream, config)) => {
                        let _ = ready_tx.send(Ok((config.sample_rate.0, config.channels)));
                        // Capture until the node is dropped.
                        let _ = stop_rx.recv();
                        drop(stream);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| Error::failed(format!("cannot start the microphone thread: {e}")))?;
        let (sample_rate, channels) = ready_rx.recv().map_err(|_| {
            Error::failed("the microphone thread ended before opening the device")
        })??;
        ctx.info(&format!(
            "microphone open: {sample_rate} Hz, {channels} channel(s)"
        ));
        let frames = (u64::from(sample_rate) * u64::from(settings.frame_ms) / 1000).max(1);
        Ok(MicrophoneNode {
            samples: samples_rx,
            stop: Some(stop_tx),
            overruns,
            sample_rate,
            channels,
            samples_per_frame: frames as usize * channels as usize,
            pending: Vec::new(),
            remaining: (settings.max_seconds > 0.0).then(|| {
                (f64::from(settings.max_seconds) * f64::from(sample_rate)) as u64
                    * u64::from(channels)
            }),
            sent: 0,
            ctx,
        })
    }

    fn emit_frame(&mut self, samples: Vec<f32>, out: &mut Outputs) -> Result<bool, Error> {
        let frames = samples.len() as u64 / u64::from(self.channels);
        let meta = MessageMeta {
            timestamp_ns: self.sent * 1_000_000_000 / u64::from(self.sample_rate),
            ..MessageMeta::default()
        };
        self.sent += frames;
        out.try_emit(
            0,
            audio_message(meta, self.sample_rate, self.channels, samples),
        )
    }
}

impl Node for MicrophoneNode {
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        match self.samples.recv_timeout(Duration::from_millis(100)) {
            Ok(Captured::Samples(chunk)) => self.pending.extend(chunk),
            Ok(Captured::Failed(e)) => {
                return Err(Error::failed(format!("the microphone failed: {e}")))
            }
            Err(RecvTimeoutError::Timeout) => return Ok(Produce::More),
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Error::failed("the microphone stopped"))
            }
        }
        let overruns = self.overruns.swap(0, Ordering::Relaxed);
        if overruns > 0 {
            self.ctx.counter_add("overruns", overruns);
        }
        if let Some(remaining) = &mut self.remaining {
            let allowed = (*remaining as usize).min(self.pending.len());
            self.pending.truncate(allowed);
            *remaining -= allowed as u64;
        }
        let mut start = 0;
        while self.pending.len() - start >= self.samples_per_frame {
            let frame = self.pending[start..start + self.samples_per_frame].to_vec();
            start += self.samples_per_frame;
            if !self.emit_frame(frame, out)? {
                return Ok(Produce::Finished);
            }
        }
        self.pending.drain(..start);
        if self.remaining == Some(0) {
            self.stop = None; // close the device now
            let rest = std::mem::take(&mut self.pending);
            if !rest.is_empty() {
                self.emit_frame(rest, out)?;
            }
            return Ok(Produce::Finished);
        }
        Ok(Produce::More)
    }
}
