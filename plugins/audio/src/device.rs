//! Sound devices through cpal: finding one by name or index, choosing a
//! stream configuration, and the errors that say what to do instead.

use cpal::traits::{DeviceTrait, HostTrait};
use hark_sdk::Error;

/// How long opening a device may take: a hung sound server must fail the
/// node, not hang the pipeline.
pub(crate) const OPEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Which way a device is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Capture (microphone).
    Input,
    /// Playback (speaker).
    Output,
}

impl Direction {
    fn noun(self) -> &'static str {
        match self {
            Direction::Input => "input (microphone)",
            Direction::Output => "output (speaker)",
        }
    }

    fn wav_hint(self) -> &'static str {
        match self {
            Direction::Input => "read a WAV file instead: use the `wav-reader` kind (in the shipped pipelines, `--set input.path=FILE.wav`); `hark devices` lists what this machine has",
            Direction::Output => "write a WAV file instead: use the `wav-writer` kind (in the shipped pipelines, `--set output.path=FILE.wav`); `hark devices` lists what this machine has",
        }
    }
}

fn devices(host: &cpal::Host, direction: Direction) -> Vec<cpal::Device> {
    let listed = match direction {
        Direction::Input => host.input_devices().map(|d| d.collect()),
        Direction::Output => host.output_devices().map(|d| d.collect()),
    };
    listed.unwrap_or_default()
}

/// The device `wanted` names: empty or `default` for the system default,
/// a number for the index in `hark devices`, otherwise an exact name or a
/// unique case-insensitive part of one.
pub fn find(wanted: &str, direction: Direction) -> Result<cpal::Device, Error> {
    let host = cpal::default_host();
    let wanted = wanted.trim();
    let all = devices(&host, direction);
    let names: Vec<String> = all.iter().map(|d| d.name().unwrap_or_default()).collect();
    let no_device = || {
        Error::failed(format!(
            "no usable audio {} device on this machine",
            direction.noun()
        ))
        .with_hint(direction.wav_hint())
    };
    if wanted.is_empty() || wanted == "default" {
        let default = match direction {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        };
        return default.ok_or_else(no_device);
    }
    if all.is_empty() {
        return Err(no_device());
    }
    let index = wanted.parse::<usize>().ok();
    let lower = wanted.to_lowercase();
    let matching: Vec<usize> = match index {
        Some(i) if i < all.len() => vec![i],
        _ => match names.iter().position(|n| n == wanted) {
            Some(i) => vec![i],
            None => (0..names.len())
                .filter(|&i| names[i].to_lowercase().contains(&lower))
                .collect(),
        },
    };
    match matching[..] {
        [i] => Ok(all.into_iter().nth(i).expect("index from the list")),
        [] => Err(Error::config(format!(
            "no audio {} device matches {wanted:?}",
            direction.noun()
        ))
        .with_hint(format!("devices: {}", numbered(&names)))),
        _ => Err(Error::config(format!(
            "{wanted:?} matches several audio {} devices",
            direction.noun()
        ))
        .with_hint(format!(
            "give the full name or the index: {}",
            numbered(&names)
        ))),
    }
}

fn numbered(names: &[String]) -> String {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{i}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A stream configuration the device supports: the requested rate and
/// channels (0 = the device's default), 16-bit or float samples preferred.
pub fn choose_config(
    device: &cpal::Device,
    direction: Direction,
    sample_rate: u32,
    channels: u16,
) -> Result<(cpal::StreamConfig, cpal::SampleFormat), Error> {
    let name = device.name().unwrap_or_default();
    let cannot = |e: String| {
        Error::failed(format!("audio device {name:?} cannot be opened: {e}"))
            .with_hint(direction.wav_hint())
    };
    let default = match direction {
        Direction::Input => device.default_input_config(),
        Direction::Output => device.default_output_config(),
    }
    .map_err(|e| cannot(e.to_string()))?;
    let rate = if sample_rate == 0 {
        default.sample_rate().0
    } else {
        sample_rate
    };
    let channels = if channels == 0 {
        default.channels()
    } else {
        channels
    };
    let ranges: Vec<cpal::SupportedStreamConfigRange> = match direction {
        Direction::Input => device.supported_input_configs().map(|c| c.collect()),
        Direction::Output => device.supported_output_configs().map(|c| c.collect()),
    }
    .map_err(|e| cannot(e.to_string()))?;
    let preference = |f: cpal::SampleFormat| match f {
        cpal::SampleFormat::I16 => 0,
        cpal::SampleFormat::F32 => 1,
        cpal::SampleFormat::I32 => 2,
        _ => 3,
    };
    let mut fitting: Vec<&cpal::SupportedStreamConfigRange> = ranges
        .iter()
        .filter(|r| {
            r.channels() == channels
                && r.min_sample_rate().0 <= rate
                && rate <= r.max_sample_rate().0
                && preference(r.sample_format()) < 3
        })
        .collect();
    fitting.sort_by_key(|r| preference(r.sample_format()));
    let Some(range) = fitting.first() else {
        let offered: Vec<String> = ranges
            .iter()
            .map(|r| {
                format!(
                    "{} ch {}-{} Hz {}",
                    r.channels(),
                    r.min_sample_rate().0,
                    r.max_sample_rate().0,
                    r.sample_format()
                )
            })
            .collect();
        return Err(Error::config(format!(
            "audio device {name:?} does not support {rate} Hz with {channels} channel(s)"
        ))
        .with_hint(format!(
            "set sample_rate and channels to one it offers: {}",
            offered.join("; ")
        )));
    };
    let config = range.with_sample_rate(cpal::SampleRate(rate));
    Ok((config.config(), config.sample_format()))
}

/// Appends `data` (any sample format cpal delivers) as f32 in [-1, 1].
pub fn push_as_f32(data: &cpal::Data, out: &mut Vec<f32>) {
    match data.sample_format() {
        cpal::SampleFormat::I16 => {
            let s = data.as_slice::<i16>().unwrap_or_default();
            out.extend(s.iter().map(|&v| f32::from(v) / 32768.0));
        }
        cpal::SampleFormat::I32 => {
            let s = data.as_slice::<i32>().unwrap_or_default();
            out.extend(s.iter().map(|&v| v as f32 / 2_147_483_648.0));
        }
        cpal::SampleFormat::F32 => {
            out.extend_from_slice(data.as_slice::<f32>().unwrap_or_default())
        }
        _ => {}
    }
}

/// Fills `data` from `source` (f32 in [-1, 1]); silence where it runs out.
pub fn fill_from_f32(data: &mut cpal::Data, source: &mut impl Iterator<Item = f32>) {
    match data.sample_format() {
        cpal::SampleFormat::I16 => {
            for v in data.as_slice_mut::<i16>().unwrap_or_default() {
                // The inverse of `push_as_f32` (and of wav-reader): 16-bit
                // audio passes through bit-exactly.
                *v = (source.next().unwrap_or(0.0) * 32768.0)
                    .round()
                    .clamp(-32768.0, 32767.0) as i16;
            }
        }
        cpal::SampleFormat::I32 => {
            for v in data.as_slice_mut::<i32>().unwrap_or_default() {
                *v = (f64::from(source.next().unwrap_or(0.0).clamp(-1.0, 1.0)) * 2_147_483_647.0)
                    as i32;
            }
        }
        cpal::SampleFormat::F32 => {
            for v in data.as_slice_mut::<f32>().unwrap_or_default() {
                *v = source.next().unwrap_or(0.0);
            }
        }
        _ => {}
    }
}
