//! `hark devices`: the sound devices cpal sees, with the formats they
//! offer, and what to do when there are none.

use cpal::traits::{DeviceTrait, HostTrait};

/// Lists input and output devices; returns the exit code.
pub fn main() -> i32 {
    let quiet = QuietStderr::new();
    let host = cpal::default_host();
    let name = |d: &cpal::Device| d.name().unwrap_or_else(|e| format!("<unnamed: {e}>"));
    let default_input = host.default_input_device().map(|d| name(&d));
    let default_output = host.default_output_device().map(|d| name(&d));
    let describe = |d: &cpal::Device, input: bool| -> Vec<String> {
        let ranges: Vec<cpal::SupportedStreamConfigRange> = if input {
            d.supported_input_configs().map(|c| c.collect())
        } else {
            d.supported_output_configs().map(|c| c.collect())
        }
        .unwrap_or_default();
        // One line per rate range and sample format, channel counts
        // folded ("1-16 ch"): ALSA plug devices offer every combination.
        let mut groups: Vec<((u32, u32, String), Vec<u16>)> = Vec::new();
        for r in &ranges {
            let key = (
                r.min_sample_rate().0,
                r.max_sample_rate().0,
                r.sample_format().to_string(),
            );
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, channels)) => channels.push(r.channels()),
                None => groups.push((key, vec![r.channels()])),
            }
        }
        groups
            .into_iter()
            .map(|((min, max, format), mut channels)| {
                channels.sort_unstable();
                channels.dedup();
                let (first, last) = (channels[0], channels[channels.len() - 1]);
                let contiguous = usize::from(last - first) + 1 == channels.len();
                let channels = if channels.len() == 1 {
                    first.to_string()
                } else if contiguous {
                    format!("{first}-{last}")
                } else {
                    channels
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let rates = if min == max {
                    format!("{min} Hz")
                } else {
                    format!("{min}-{max} Hz")
                };
                format!("{channels} ch, {rates}, {format}")
            })
            .collect()
    };
    let inputs: Vec<(String, Vec<String>)> = host
        .input_devices()
        .map(|ds| ds.map(|d| (name(&d), describe(&d, true))).collect())
        .unwrap_or_default();
    let outputs: Vec<(String, Vec<String>)> = host
        .output_devices()
        .map(|ds| ds.map(|d| (name(&d), describe(&d, false))).collect())
        .unwrap_or_default();
    drop(quiet);

    println!("audio host: {}", host.id().name());
    for (title, devices, default) in [
        ("input devices (microphone kind)", &inputs, &default_input),
        ("output devices (speaker kind)", &outputs, &default_output),
    ] {
        println!("\n{title}:");
        if devices.is_empty() {
            println!("  none");
        }
        for (i, (device, formats)) in devices.iter().enumerate() {
            let mark = if default.as_deref() == Some(device.as_str()) {
                " (default)"
            } else {
                ""
            };
            let usable = if formats.is_empty() {
                " — lists no formats: it cannot be opened"
            } else {
                ""
            };
            println!("  {i}: {device}{mark}{usable}");
            for f in formats {
                println!("       {f}");
            }
        }
    }
    let usable = |d: &Vec<(String, Vec<String>)>| d.iter().any(|(_, f)| !f.is_empty());
    if !usable(&inputs) || !usable(&outputs) {
        println!(
            "\nNo usable {} here (no sound card, or no access to it). Pipelines can use WAV files instead: \
             `--set input.path=FILE.wav` / `--set output.path=FILE.wav` on the shipped pipelines, \
             or the `wav-reader` / `wav-writer` kinds.",
            match (usable(&inputs), usable(&outputs)) {
                (false, false) => "microphone or speaker",
                (false, true) => "microphone",
                _ => "speaker",
            }
        );
    }
    println!(
        "\nSelect a device in a pipeline with `device: \"NAME\"` (or part of it, or its index)."
    );
    0
}

/// Sends fd 2 to /dev/null while alive (on Unix; a no-op elsewhere).
pub struct QuietStderr {
    #[cfg(unix)]
    saved: Option<i32>,
}

impl QuietStderr {
    pub fn new() -> QuietStderr {
        #[cfg(unix)]
        {
            // SAFETY: plain fd calls; failures leave stderr as it was.
            let saved = unsafe {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
                if null < 0 {
                    None
                } else {
                    let saved = libc::dup(2);
                    libc::dup2(null, 2);
                    libc::close(null);
                    (saved >= 0).then_some(saved)
                }
            };
            QuietStderr { saved }
        }
        #[cfg(not(unix))]
        QuietStderr {}
    }
}

impl Drop for QuietStderr {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(fd) = self.saved {
            // SAFETY: restores the descriptor saved in `new`.
            unsafe {
                libc::dup2(fd, 2);
                libc::close(fd);
            }
        }
    }
}
