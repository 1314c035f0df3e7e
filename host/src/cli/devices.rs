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
        let mut lines: Vec<String> = ranges
            .iter()
            .map(|r| {
                format!(
                    "{} ch, {}-{} Hz, {}",
                    r.channels(),
                    r.min_sample_rate().0,
                    r.max_sample_rate().0,
                    r.sample_format()
                )
            })
            .collect();
        lines.dedup();
        lines
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
