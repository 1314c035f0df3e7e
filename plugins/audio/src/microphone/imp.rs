//! The running `microphone` node: a capture stream feeding a queue.

use crate::device::{choose_config, find, push_as_f32, Direction};
use cpal::traits::{DeviceTrait, StreamTrait};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use hark_sdk::{audio_message, prelude::*, PanicGuard};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use super::*;

/// Messages from the device thread.
pub(super) enum Captured {
    Samples(Vec<f32>),
    Failed(String),
}

/// A running `microphone` node.
pub struct MicrophoneNode {
    pub(super) samples: Receiver<Captured>,
    /// Dropping it stops the device thread (at the end, or with the node).
    pub(super) stop: Option<Sender<()>>,
    pub(super) overruns: Arc<AtomicU64>,
    /// cpal calls the data callback on its own thread: a panic there is
    /// caught, and reported as the node's failure by the next `produce`.
    pub(super) callback: PanicGuard,
    pub(super) sample_rate: u32,
    pub(super) channels: u16,
    pub(super) samples_per_frame: usize,
    pub(super) pending: Vec<f32>,
    /// Samples still allowed by `max_seconds` (None: unlimited).
    pub(super) remaining: Option<u64>,
    pub(super) sent: u64,
    pub(super) ctx: Context,
}

impl MicrophoneNode {
    pub(super) fn open(settings: &MicrophoneSettings, ctx: Context) -> Result<Self, Error> {
        let (ready_tx, ready_rx) = crossbeam_channel::bounded::<Result<(u32, u16), Error>>(1);
        let (samples_tx, samples_rx) = crossbeam_channel::bounded::<Captured>(256);
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        let overruns = Arc::new(AtomicU64::new(0));
        let settings_thread = settings.clone();
        let overruns_thread = overruns.clone();
        let callback = PanicGuard::new("the microphone's data callback");
        let callback_thread = callback.clone();
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
                                callback_thread.run(|| {
                                    let mut chunk = Vec::with_capacity(data.len());
                                    push_as_f32(data, &mut chunk);
                                    if data_tx.try_send(Captured::Samples(chunk)).is_err() {
                                        overruns_thread.fetch_add(1, Ordering::Relaxed);
                                    }
                                });
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
        let (sample_rate, channels) = match ready_rx.recv_timeout(crate::device::OPEN_TIMEOUT) {
            Ok(opened) => opened?,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                return Err(Error::failed(format!(
                    "the microphone did not open within {} s",
                    crate::device::OPEN_TIMEOUT.as_secs()
                ))
                .with_hint("the sound server may be hung; `hark devices` lists the devices"))
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                return Err(Error::failed(
                    "the microphone thread ended before opening the device",
                ))
            }
        };
        ctx.info(&format!(
            "microphone open: {sample_rate} Hz, {channels} channel(s)"
        ));
        let frames = (u64::from(sample_rate) * u64::from(settings.frame_ms) / 1000).max(1);
        Ok(MicrophoneNode {
            samples: samples_rx,
            stop: Some(stop_tx),
            overruns,
            callback,
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

    pub(super) fn emit_frame(
        &mut self,
        samples: Vec<f32>,
        out: &mut Outputs,
    ) -> Result<bool, Error> {
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
        self.callback.check()?;
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
