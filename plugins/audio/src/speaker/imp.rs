//! The running `speaker` node: a queue feeding a playback stream.

use crate::device::{choose_config, fill_from_f32, find, Direction, OPEN_TIMEOUT};
use cpal::traits::{DeviceTrait, StreamTrait};
use crossbeam_channel::{RecvTimeoutError, Sender};
use hark_sdk::{prelude::*, PanicGuard};
use parking_lot::Mutex;
use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant},
};

use super::*;

/// An open output stream, on a thread of its own.
pub(super) struct Open {
    pub(super) sample_rate: u32,
    pub(super) channels: u16,
    pub(super) buffer: Arc<Mutex<VecDeque<f32>>>,
    /// cpal calls the data callback on its own thread: a panic there is
    /// caught (the device plays silence from then on) and reported as the
    /// node's failure by the next call.
    pub(super) callback: PanicGuard,
    /// Dropping it closes the device.
    pub(super) _stop: Sender<()>,
}

/// A running `speaker` node.
pub struct SpeakerNode {
    pub(super) settings: SpeakerSettings,
    pub(super) ctx: Context,
    pub(super) open: Option<Open>,
}

impl SpeakerNode {
    pub(super) fn open(&self, sample_rate: u32, channels: u16) -> Result<Open, Error> {
        let buffer = Arc::new(Mutex::new(VecDeque::<f32>::new()));
        let (ready_tx, ready_rx) = crossbeam_channel::bounded::<Result<(), Error>>(1);
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        let device_name = self.settings.device.clone();
        let shared = buffer.clone();
        let callback = PanicGuard::new("the speaker's data callback");
        let callback_thread = callback.clone();
        std::thread::Builder::new()
            .name("hark-speaker".into())
            .spawn(move || {
                let opened = (|| {
                    let device = find(&device_name, Direction::Output)?;
                    let (config, format) =
                        choose_config(&device, Direction::Output, sample_rate, channels)?;
                    let stream = device
                        .build_output_stream_raw(
                            &config,
                            format,
                            move |data: &mut cpal::Data, _: &cpal::OutputCallbackInfo| {
                                let played = callback_thread.run(|| {
                                    let mut buffer = shared.lock();
                                    let n = data.len().min(buffer.len());
                                    let mut samples = buffer.drain(..n);
                                    fill_from_f32(data, &mut samples);
                                });
                                if played.is_none() {
                                    fill_from_f32(data, &mut std::iter::empty());
                                }
                            },
                            |e| eprintln!("speaker: {e}"),
                            None,
                        )
                        .map_err(|e| Error::failed(format!("cannot open the speaker: {e}")))?;
                    stream
                        .play()
                        .map_err(|e| Error::failed(format!("cannot start the speaker: {e}")))?;
                    Ok::<_, Error>(stream)
                })();
                match opened {
                    Ok(stream) => {
                        let _ = ready_tx.send(Ok(()));
                        let _ = stop_rx.recv();
                        drop(stream);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| Error::failed(format!("cannot start the speaker thread: {e}")))?;
        match ready_rx.recv_timeout(OPEN_TIMEOUT) {
            Ok(opened) => opened?,
            Err(RecvTimeoutError::Timeout) => {
                return Err(Error::failed(format!(
                    "the speaker did not open within {} s",
                    OPEN_TIMEOUT.as_secs()
                ))
                .with_hint("the sound server may be hung; `hark devices` lists the devices"))
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Error::failed(
                    "the speaker thread ended before opening the device",
                ))
            }
        }
        self.ctx.info(&format!(
            "speaker open: {sample_rate} Hz, {channels} channel(s)"
        ));
        Ok(Open {
            sample_rate,
            channels,
            buffer,
            callback,
            _stop: stop_tx,
        })
    }

    /// Samples `ms` of audio amount to on the open stream.
    pub(super) fn samples_for(open: &Open, ms: u64) -> usize {
        (u64::from(open.sample_rate) * u64::from(open.channels) * ms / 1000) as usize
    }
}

/// How long the device may take no samples while the node waits for room
/// before the node fails (a device plays continuously: even a long
/// buffer drains steadily).
const DEVICE_STALLED: Duration = Duration::from_secs(2);

impl Node for SpeakerNode {
    fn on_message(
        &mut self,
        _port: u32,
        message: Message,
        _out: &mut Outputs,
    ) -> Result<(), Error> {
        if let Some(open) = &self.open {
            if let Err(e) = open.callback.check() {
                self.open = None; // a fresh stream after the restart
                return Err(e);
            }
        }
        match &message.payload {
            Payload::Audio(frame) => {
                let reopen = self.open.as_ref().is_none_or(|o| {
                    o.sample_rate != frame.sample_rate || o.channels != frame.channels
                });
                if reopen {
                    self.drain();
                    self.open = None;
                    self.open = Some(self.open(frame.sample_rate, frame.channels)?);
                }
                let open = self.open.as_ref().expect("opened above");
                let limit = Self::samples_for(open, u64::from(self.settings.buffer_ms));
                // Backpressure: wait while the device is far enough ahead,
                // but not on a device that stopped taking samples (unplugged,
                // suspended): that would hang the pipeline.
                let mut last = (open.buffer.lock().len(), Instant::now());
                let stalled = loop {
                    let buffered = open.buffer.lock().len();
                    if buffered <= limit || open.callback.has_panicked() {
                        break false;
                    }
                    if buffered < last.0 {
                        last = (buffered, Instant::now());
                    } else if last.1.elapsed() > DEVICE_STALLED {
                        break true;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                };
                if stalled {
                    self.open = None; // reopened with the next audio
                    return Err(Error::failed(format!(
                        "the output device took no samples for {} s",
                        DEVICE_STALLED.as_secs()
                    ))
                    .with_hint(
                        "check that the speaker is still connected and not suspended \
                         (`hark devices` lists what is there)",
                    ));
                }
                let open = self.open.as_ref().expect("opened above");
                if let Err(e) = open.callback.check() {
                    self.open = None;
                    return Err(e);
                }
                open.buffer.lock().extend(frame.samples.iter().copied());
                self.ctx
                    .counter_add("samples_played", frame.samples.len() as u64);
                Ok(())
            }
            Payload::Control(ControlEvent::Cancel) => {
                if let Some(open) = &self.open {
                    let dropped = std::mem::take(&mut *open.buffer.lock()).len();
                    self.ctx.counter_add("samples_cancelled", dropped as u64);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn flush(&mut self, _out: &mut Outputs) -> Result<(), Error> {
        self.drain();
        Ok(())
    }
}

impl SpeakerNode {
    /// Waits until what is buffered has been handed to the device (at most
    /// as long as it takes to play, plus a second).
    pub(super) fn drain(&self) {
        let Some(open) = &self.open else { return };
        let buffered = open.buffer.lock().len() as u64;
        let play_ms =
            buffered * 1000 / (u64::from(open.sample_rate) * u64::from(open.channels)).max(1);
        let deadline = Instant::now() + Duration::from_millis(play_ms + 1000);
        while !open.buffer.lock().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
