//! Audio format conversion on links: channel mixing and resampling
//! (rubato), so a 48 kHz stereo microphone can feed a 16 kHz mono
//! recogniser, or 22.05 kHz speech a 48 kHz speaker, without a node for
//! it in the pipeline.
//!
//! The validator puts a converter on every link whose input port declares
//! a sample rate or channel count that its output port does not declare
//! identically (`hark check` lists them). Frames already in the target
//! format pass through untouched (no copy); others are mixed to the target
//! channels, then resampled in fixed chunks. Before a control event the
//! converter flushes what it holds, so an utterance's audio is complete
//! before its `UtteranceEnd`; `Cancel` drops it instead.

use crate::pipeline::AudioTarget;
use hark_plugin_api::{
    abi_stable::std_types::{RArc, RVec},
    AudioFrame, ControlEvent, Message, MessageMeta, Payload,
};
use rubato::{audioadapter_buffers::direct::InterleavedSlice, Fft, FixedSync, Indexing, Resampler};

/// Input frames per resampling chunk (~20 ms at 48 kHz).
const CHUNK: usize = 1024;

/// The converter of one link.
pub struct AudioConverter {
    target: AudioTarget,
    stream: Option<ResampleStream>,
    /// Whether a frame in a format out of bounds was dropped (said once).
    refused: bool,
}

/// A resampler for one input rate and its buffered input.
struct ResampleStream {
    from: u32,
    to: u32,
    channels: usize,
    resampler: Fft<f32>,
    /// Interleaved input not yet resampled.
    pending: Vec<f32>,
    /// Output frames still to discard (the resampler's delay).
    delay_left: usize,
    /// Frames in and out since the last reset, to trim the flush exactly.
    frames_in: u64,
    frames_out: u64,
    meta: MessageMeta,
}

impl AudioConverter {
    /// A converter towards `target`.
    pub fn new(target: AudioTarget) -> Self {
        AudioConverter {
            target,
            stream: None,
            refused: false,
        }
    }

    /// Converts `message`; returns what to send (possibly nothing while a
    /// chunk fills, possibly flushed audio before a control event).
    pub fn convert(&mut self, message: Message) -> Vec<Message> {
        match &message.payload {
            Payload::Audio(frame) => self.audio(frame, message.meta),
            Payload::Control(ControlEvent::Cancel) => {
                if let Some(s) = &mut self.stream {
                    s.reset();
                }
                vec![message]
            }
            Payload::Control(_) => {
                let mut out: Vec<Message> = self.flush().into_iter().collect();
                out.push(message);
                out
            }
            _ => vec![message],
        }
    }

    /// Resamples and emits everything held (end of an utterance or stream).
    pub fn flush(&mut self) -> Option<Message> {
        let s = self.stream.as_mut()?;
        let samples = s.finish();
        (!samples.is_empty()).then(|| frame(s.meta, s.to, s.channels, samples))
    }

    fn audio(&mut self, frame_in: &AudioFrame, meta: MessageMeta) -> Vec<Message> {
        // The format sizes the mixing buffer and the resampler's tables: a
        // frame claiming 4 GHz or 60000 channels is dropped, not obeyed.
        let malformed = hark_sdk::check_audio_format(frame_in.sample_rate, frame_in.channels)
            .err()
            .or_else(|| {
                let (len, channels) = (frame_in.samples.len(), usize::from(frame_in.channels));
                (len % channels != 0)
                    .then(|| format!("{len} samples are not whole frames of {channels} channels"))
            });
        if let Some(e) = malformed {
            if !self.refused {
                self.refused = true;
                tracing::error!("a link dropped audio it cannot convert: {e}");
            }
            return Vec::new();
        }
        let to_rate = match self.target.sample_rate {
            0 => frame_in.sample_rate,
            r => r,
        };
        let to_channels = match self.target.channels {
            0 => frame_in.channels,
            c => c,
        };
        if frame_in.sample_rate == to_rate && frame_in.channels == to_channels {
            return vec![Message::new(meta, Payload::Audio(frame_in.clone()))];
        }
        let mixed = mix(&frame_in.samples, frame_in.channels.max(1), to_channels);
        if frame_in.sample_rate == to_rate {
            return vec![frame(meta, to_rate, to_channels as usize, mixed)];
        }
        // A new input rate (or channel count) starts a new stream; what the
        // old one held is flushed first.
        let mut out = Vec::new();
        let stale = self.stream.as_ref().is_some_and(|s| {
            s.from != frame_in.sample_rate || s.to != to_rate || s.channels != to_channels as usize
        });
        if stale {
            out.extend(self.flush());
            self.stream = None;
        }
        let stream = match &mut self.stream {
            Some(s) => s,
            None => {
                match ResampleStream::new(frame_in.sample_rate, to_rate, to_channels as usize) {
                    Some(s) => self.stream.insert(s),
                    None => {
                        tracing::error!(
                        "cannot resample {} Hz to {to_rate} Hz; passing the audio on unconverted",
                        frame_in.sample_rate
                    );
                        return vec![Message::new(meta, Payload::Audio(frame_in.clone()))];
                    }
                }
            }
        };
        if stream.frames_in == 0 && stream.pending.is_empty() {
            stream.meta = meta;
        }
        stream.pending.extend_from_slice(&mixed);
        let samples = stream.process_full_chunks();
        if !samples.is_empty() {
            out.push(frame(stream.meta, to_rate, to_channels as usize, samples));
        }
        out
    }
}

impl ResampleStream {
    fn new(from: u32, to: u32, channels: usize) -> Option<Self> {
        let resampler = Fft::<f32>::new(
            from as usize,
            to as usize,
            CHUNK,
            channels,
            FixedSync::Input,
        )
        .ok()?;
        let delay_left = resampler.output_delay();
        Some(ResampleStream {
            from,
            to,
            channels,
            resampler,
            pending: Vec::new(),
            delay_left,
            frames_in: 0,
            frames_out: 0,
            meta: MessageMeta::default(),
        })
    }

    fn reset(&mut self) {
        self.resampler.reset();
        self.pending.clear();
        self.delay_left = self.resampler.output_delay();
        self.frames_in = 0;
        self.frames_out = 0;
    }

    /// Runs one chunk of `frames` pending frames (fewer than a chunk are
    /// padded with silence); returns the output with the delay trimmed.
    fn run_chunk(&mut self, frames: usize, out: &mut Vec<f32>) {
        let need = self.resampler.input_frames_next();
        let ch = self.channels;
        let mut input = std::mem::take(&mut self.pending);
        let rest = input.split_off((frames * ch).min(input.len()));
        input.resize(need * ch, 0.0);
        let mut output = vec![0f32; self.resampler.output_frames_max() * ch];
        let output_frames = output.len() / ch;
        let result = InterleavedSlice::new(&input[..], ch, need)
            .and_then(|i| {
                Ok((
                    i,
                    InterleavedSlice::new_mut(&mut output[..], ch, output_frames)?,
                ))
            })
            .map_err(|e| e.to_string())
            .and_then(|(i, mut o)| {
                let indexing = Indexing {
                    partial_len: (frames < need).then_some(frames),
                    ..Indexing::default()
                };
                self.resampler
                    .process_into_buffer(&i, &mut o, Some(&indexing))
                    .map_err(|e| e.to_string())
            });
        self.pending = rest;
        self.frames_in += frames as u64;
        let produced = match result {
            Ok((_, produced)) => produced,
            Err(e) => {
                tracing::error!("resampling failed: {e}");
                0
            }
        };
        let skip = self.delay_left.min(produced);
        self.delay_left -= skip;
        out.extend_from_slice(&output[skip * ch..produced * ch]);
        self.frames_out += (produced - skip) as u64;
    }

    fn process_full_chunks(&mut self) -> Vec<f32> {
        let mut out = Vec::new();
        while self.pending.len() / self.channels >= self.resampler.input_frames_next() {
            let need = self.resampler.input_frames_next();
            self.run_chunk(need, &mut out);
        }
        out
    }

    /// Resamples what is pending plus the resampler's delay, trimmed to
    /// exactly the output the input amounts to, then starts afresh.
    fn finish(&mut self) -> Vec<f32> {
        let mut out = self.process_full_chunks();
        let pending_frames = self.pending.len() / self.channels;
        if pending_frames > 0 {
            self.run_chunk(pending_frames, &mut out);
        }
        let expected = (self.frames_in * u64::from(self.to)).div_ceil(u64::from(self.from));
        // Push silence through until the delayed tail is out.
        let mut guard = 0;
        while self.frames_out < expected && guard < 8 {
            self.run_chunk(0, &mut out);
            guard += 1;
        }
        let excess = (self.frames_out.saturating_sub(expected)) as usize * self.channels;
        out.truncate(out.len().saturating_sub(excess));
        self.reset();
        out
    }
}

/// Mixes interleaved `samples` from `from` to `to` channels: averaging
/// down to mono, duplicating up from mono, otherwise channel `i` takes
/// input channel `i % from`.
fn mix(samples: &[f32], from: u16, to: u16) -> Vec<f32> {
    let (from, to) = (from as usize, to.max(1) as usize);
    if from == to {
        return samples.to_vec();
    }
    let frames = samples.len() / from;
    let mut out = Vec::with_capacity(frames * to);
    for f in samples.chunks_exact(from) {
        if to == 1 {
            out.push(f.iter().sum::<f32>() / from as f32);
        } else {
            out.extend((0..to).map(|c| f[c % from]));
        }
    }
    out
}

fn frame(meta: MessageMeta, sample_rate: u32, channels: usize, samples: Vec<f32>) -> Message {
    Message::new(
        meta,
        Payload::Audio(AudioFrame {
            sample_rate,
            channels: channels as u16,
            samples: RArc::new(RVec::from(samples)),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio(rate: u32, channels: u16, samples: Vec<f32>) -> Message {
        frame(MessageMeta::default(), rate, channels as usize, samples)
    }

    fn collect(messages: &[Message]) -> (Vec<f32>, Vec<u32>) {
        let mut samples = Vec::new();
        let mut rates = Vec::new();
        for m in messages {
            if let Payload::Audio(a) = &m.payload {
                samples.extend_from_slice(&a.samples);
                rates.push(a.sample_rate);
            }
        }
        (samples, rates)
    }

    fn tone(rate: u32, hz: f32, frames: usize) -> Vec<f32> {
        (0..frames)
            .map(|i| (i as f32 * hz * std::f32::consts::TAU / rate as f32).sin() * 0.5)
            .collect()
    }

    #[test]
    fn matching_audio_passes_through_without_a_copy() {
        let mut c = AudioConverter::new(AudioTarget {
            sample_rate: 16_000,
            channels: 1,
        });
        let m = audio(16_000, 1, vec![0.1; 320]);
        let Payload::Audio(before) = &m.payload else {
            unreachable!()
        };
        let ptr = before.samples.as_ptr();
        let out = c.convert(m.clone());
        let Payload::Audio(after) = &out[0].payload else {
            unreachable!()
        };
        assert_eq!(after.samples.as_ptr(), ptr);
    }

    #[test]
    fn stereo_is_averaged_to_mono() {
        let mut c = AudioConverter::new(AudioTarget {
            sample_rate: 0,
            channels: 1,
        });
        let out = c.convert(audio(8_000, 2, vec![1.0, 0.0, 0.5, 0.5]));
        assert_eq!(collect(&out).0, vec![0.5, 0.5]);
    }

    #[test]
    fn resampling_keeps_length_and_frequency_and_flushes_before_events() {
        for (from, to) in [(48_000u32, 16_000u32), (22_050, 16_000), (16_000, 44_100)] {
            let mut c = AudioConverter::new(AudioTarget {
                sample_rate: to,
                channels: 1,
            });
            let input = tone(from, 440.0, from as usize); // 1 s
            let mut out = Vec::new();
            // Uneven frames, as sources send them.
            for piece in input.chunks(777) {
                out.extend(c.convert(audio(from, 1, piece.to_vec())));
            }
            out.extend(c.convert(Message::new(
                MessageMeta::default(),
                Payload::Control(ControlEvent::UtteranceEnd),
            )));
            assert!(matches!(
                out.last().unwrap().payload,
                Payload::Control(ControlEvent::UtteranceEnd)
            ));
            let (samples, rates) = collect(&out);
            assert!(rates.iter().all(|&r| r == to));
            assert_eq!(samples.len(), to as usize, "{from} -> {to}");
            // Same tone at the new rate, aligned within half a sample (the
            // FFT resampler's delay is not a whole number of output
            // samples for every ratio: 22 050 -> 16 000 is off by ~0.4).
            let expected = tone(to, 440.0, to as usize);
            let middle = to as usize / 4..3 * to as usize / 4;
            let err = middle
                .clone()
                .map(|i| (samples[i] - expected[i]).abs())
                .fold(0f32, f32::max);
            assert!(err < 0.05, "{from} -> {to}: max error {err}");
        }
    }

    #[test]
    fn cancel_drops_held_audio() {
        let mut c = AudioConverter::new(AudioTarget {
            sample_rate: 16_000,
            channels: 1,
        });
        let out = c.convert(audio(48_000, 1, vec![0.1; 500]));
        assert!(collect(&out).0.is_empty(), "less than a chunk is held");
        let out = c.convert(Message::new(
            MessageMeta::default(),
            Payload::Control(ControlEvent::Cancel),
        ));
        assert_eq!(out.len(), 1);
        assert!(c.flush().is_none());
    }

    #[test]
    fn formats_out_of_bounds_are_dropped_not_obeyed() {
        let mut c = AudioConverter::new(AudioTarget {
            sample_rate: 16_000,
            channels: 1,
        });
        for (rate, channels, len) in [
            (4_000_000_000, 1, 64),
            (0, 1, 64),
            (48_000, 60_000, 64),
            (48_000, 0, 64),
            (48_000, 2, 63), // not whole frames
        ] {
            assert!(
                c.convert(audio(rate, channels, vec![0.0; len])).is_empty(),
                "{rate} Hz, {channels} channels, {len} samples"
            );
        }
        // The link still converts what it can.
        let out = c.convert(audio(16_000, 2, vec![0.5; 64]));
        assert_eq!(out.len(), 1);
    }
}
