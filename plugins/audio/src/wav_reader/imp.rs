//! Implementation of `wav-reader`.

use std::{
    fs::File,
    io::BufReader,
    time::{Duration, Instant},
};

use hark_sdk::{prelude::*, AudioFrame};

use super::WavReaderSettings;

/// Frames in flight that a reader may recycle. Downstream nodes drop their
/// references as they finish; a buffer nobody else holds is reused
/// instead of allocating a new one (allocating on one core and freeing on
/// another costs microseconds per frame).
const POOL_SIZE: usize = 8;

/// A running `wav-reader` node.
pub struct WavReaderNode {
    path: String,
    reader: hound::WavReader<BufReader<File>>,
    spec: hound::WavSpec,
    samples_per_frame: usize,
    frames_sent: u64,
    pool: Vec<RArc<RVec<f32>>>,
    realtime_start: Option<Instant>,
}

impl WavReaderNode {
    pub(super) fn open(settings: WavReaderSettings) -> Result<Self, Error> {
        let reader = hound::WavReader::open(&settings.path).map_err(|e| {
            let hint = match &e {
                hound::Error::IoError(io) if io.kind() == std::io::ErrorKind::NotFound => {
                    "check the `path` setting (relative paths start at the working directory)"
                }
                hound::Error::IoError(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
                    "check the file's permissions"
                }
                _ => "the file is not a valid WAV file (convert it with e.g. `sox in.x -c 1 -r 16000 out.wav`)",
            };
            Error::failed(format!("cannot read WAV file {}: {e}", settings.path)).with_hint(hint)
        })?;
        let spec = reader.spec();
        // The header sizes every buffer below: check it first.
        if let Err(e) = hark_sdk::check_audio_format(spec.sample_rate, spec.channels) {
            return Err(Error::failed(format!(
                "cannot read WAV file {}: invalid header: {e}",
                settings.path
            ))
            .with_hint("the file is damaged or not audio Hark can use (convert it with e.g. `sox in.x -c 1 -r 16000 out.wav`)"));
        }
        let frames = (spec.sample_rate as u64 * settings.frame_ms as u64 / 1000).max(1) as usize;
        Ok(WavReaderNode {
            path: settings.path,
            reader,
            spec,
            samples_per_frame: frames * spec.channels as usize,
            frames_sent: 0,
            pool: Vec::with_capacity(POOL_SIZE),
            realtime_start: settings.realtime.then(Instant::now),
        })
    }

    /// A buffer no other node still holds, or a new one.
    fn take_buffer(&mut self) -> RArc<RVec<f32>> {
        if let Some(i) = self
            .pool
            .iter_mut()
            .position(|b| RArc::get_mut(b).is_some())
        {
            let mut buffer = self.pool.swap_remove(i);
            RArc::get_mut(&mut buffer).expect("unique").clear();
            return buffer;
        }
        RArc::new(RVec::with_capacity(self.samples_per_frame))
    }

    fn read_into(&mut self, buffer: &mut RVec<f32>) -> Result<(), Error> {
        let spec = self.spec;
        let path = &self.path;
        let bad =
            |e: hound::Error| Error::failed(format!("{path}: corrupt or truncated WAV data: {e}"));
        match spec.sample_format {
            hound::SampleFormat::Float => {
                for s in self.reader.samples::<f32>().take(self.samples_per_frame) {
                    buffer.push(s.map_err(bad)?);
                }
            }
            hound::SampleFormat::Int => {
                let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
                for s in self.reader.samples::<i32>().take(self.samples_per_frame) {
                    buffer.push(s.map_err(bad)? as f32 * scale);
                }
            }
        }
        Ok(())
    }
}

impl Node for WavReaderNode {
    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        let mut buffer = self.take_buffer();
        let samples = RArc::get_mut(&mut buffer).expect("fresh or recycled buffers are unique");
        self.read_into(samples)?;
        if samples.is_empty() {
            return Ok(Produce::Finished);
        }
        let channels = self.spec.channels as u64;
        let rate = self.spec.sample_rate as u64;
        let first_sample = self.frames_sent * (self.samples_per_frame as u64 / channels);
        let timestamp_ns = first_sample * 1_000_000_000 / rate;
        if let Some(start) = self.realtime_start {
            let due = start + Duration::from_nanos(timestamp_ns);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        self.frames_sent += 1;
        self.pool.push(buffer.clone());
        let message = Message::new(
            MessageMeta {
                timestamp_ns,
                ..MessageMeta::default()
            },
            Payload::Audio(AudioFrame {
                sample_rate: self.spec.sample_rate,
                channels: self.spec.channels,
                samples: buffer,
            }),
        );
        if self.pool.len() > POOL_SIZE {
            self.pool.remove(0);
        }
        Ok(if out.try_emit(0, message)? {
            Produce::More
        } else {
            Produce::Finished
        })
    }
}
