//! Implementation of `wav-writer`.

use std::{
    fs::File,
    io::BufWriter,
    time::{Duration, Instant},
};

use hark_sdk::prelude::*;

use super::WavWriterSettings;

/// A running `wav-writer` node.
pub struct WavWriterNode {
    settings: WavWriterSettings,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    format: Option<(u32, u16)>,
    /// `realtime`: when the node's time line starts.
    started: Instant,
    /// Frames written (per channel), silence included.
    written: u64,
}

/// How far ahead of real time a `realtime` writer takes audio: a
/// speaker's buffer.
const LEAD: Duration = Duration::from_millis(100);

impl WavWriterNode {
    pub(super) fn create(settings: WavWriterSettings) -> Result<Self, Error> {
        // Fail now, not at the first frame, if the file cannot be created.
        File::create(&settings.path)
            .map_err(|e| Error::failed(format!("cannot create {}: {e}", settings.path)))?;
        Ok(WavWriterNode {
            settings,
            writer: None,
            format: None,
            started: Instant::now(),
            written: 0,
        })
    }

    fn write(&mut self, samples: &[f32]) -> Result<(), Error> {
        let writer = self.writer.as_mut().expect("created at the first frame");
        let path = &self.settings.path;
        let fail = |e: hound::Error| Error::failed(format!("writing {path}: {e}"));
        if self.settings.format == "f32" {
            for &s in samples {
                writer.write_sample(s).map_err(fail)?;
            }
        } else {
            for &s in samples {
                let v = (s.clamp(-1.0, 1.0) * 32768.0)
                    .round()
                    .clamp(-32768.0, 32767.0) as i16;
                writer.write_sample(v).map_err(fail)?;
            }
        }
        Ok(())
    }

    fn finalize(&mut self) -> Result<(), Error> {
        if let Some(writer) = self.writer.take() {
            writer
                .finalize()
                .map_err(|e| Error::failed(format!("writing {}: {e}", self.settings.path)))?;
        }
        Ok(())
    }
}

impl Node for WavWriterNode {
    fn on_message(
        &mut self,
        _port: u32,
        message: Message,
        _out: &mut Outputs,
    ) -> Result<(), Error> {
        let Payload::Audio(frame) = &message.payload else {
            return Ok(()); // control events carry nothing to write
        };
        let format = (frame.sample_rate, frame.channels);
        match self.format {
            None => {
                let spec = hound::WavSpec {
                    channels: frame.channels,
                    sample_rate: frame.sample_rate,
                    bits_per_sample: if self.settings.format == "f32" {
                        32
                    } else {
                        16
                    },
                    sample_format: if self.settings.format == "f32" {
                        hound::SampleFormat::Float
                    } else {
                        hound::SampleFormat::Int
                    },
                };
                let writer = hound::WavWriter::create(&self.settings.path, spec).map_err(|e| {
                    Error::failed(format!("cannot create {}: {e}", self.settings.path))
                })?;
                self.writer = Some(writer);
                self.format = Some(format);
            }
            Some(first) if first != format => {
                return Err(Error::failed(format!(
                    "audio format changed mid-stream from {} Hz x{} to {} Hz x{}",
                    first.0, first.1, format.0, format.1
                ))
                .with_hint(
                    "put a resampler before the writer, or write each format to its own file",
                ));
            }
            Some(_) => {}
        }
        let rate = frame.sample_rate as f64;
        let channels = frame.channels.max(1) as usize;
        if self.settings.realtime {
            // Silence for the time nothing played.
            let now = (self.started.elapsed().as_secs_f64() * rate) as u64;
            if now > self.written {
                let gap = vec![0.0f32; (now - self.written) as usize * channels];
                self.write(&gap)?;
                self.written = now;
            }
        }
        self.write(&frame.samples)?;
        self.written += (frame.samples.len() / channels) as u64;
        if self.settings.realtime {
            let ahead = Duration::from_secs_f64(self.written as f64 / rate)
                .saturating_sub(self.started.elapsed());
            std::thread::sleep(ahead.saturating_sub(LEAD));
        }
        Ok(())
    }

    fn flush(&mut self, _out: &mut Outputs) -> Result<(), Error> {
        self.finalize()
    }

    fn shutdown(&mut self) -> Result<(), Error> {
        self.finalize()
    }
}
