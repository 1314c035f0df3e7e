//! The sound devices cpal sees: names, defaults and, when asked, the
//! formats each offers. `hark devices` prints them in full, `hark doctor`
//! summarises them; the `audio` plugin opens them (its own code, in its
//! own library).

use cpal::traits::{DeviceTrait, HostTrait};

/// What the default audio host offers.
#[derive(Debug, Clone)]
pub struct DeviceList {
    /// The audio host (`ALSA`, ...).
    pub host: String,
    /// The default input device's name, if any.
    pub default_input: Option<String>,
    /// The default output device's name, if any.
    pub default_output: Option<String>,
    /// Capture devices.
    pub inputs: Vec<Device>,
    /// Playback devices.
    pub outputs: Vec<Device>,
    /// Why devices could not be listed, if they could not.
    pub error: Option<String>,
}

/// One device.
#[derive(Debug, Clone)]
pub struct Device {
    /// Its name, as pipelines select it (`device: "NAME"`).
    pub name: String,
    /// "1-2 ch, 8000-192000 Hz, i16" lines; empty when not asked for, or
    /// when the device lists none (then it cannot be opened).
    pub formats: Vec<String>,
}

/// Lists the devices, with their formats if `with_formats`. ALSA prints
/// every probe failure (no card, no pulse, ...) to stderr: that is kept
/// quiet, and what matters is in the list.
pub fn probe(with_formats: bool) -> DeviceList {
    let _quiet = QuietStderr::new();
    let host = cpal::default_host();
    let name = |d: &cpal::Device| d.name().unwrap_or_else(|e| format!("<unnamed: {e}>"));
    let mut list = DeviceList {
        host: host.id().name().to_string(),
        default_input: host.default_input_device().map(|d| name(&d)),
        default_output: host.default_output_device().map(|d| name(&d)),
        inputs: Vec::new(),
        outputs: Vec::new(),
        error: None,
    };
    let device = |d: cpal::Device, input: bool| Device {
        name: name(&d),
        formats: if with_formats {
            formats(&d, input)
        } else {
            Vec::new()
        },
    };
    match host.input_devices() {
        Ok(devices) => list.inputs = devices.map(|d| device(d, true)).collect(),
        Err(e) => list.error = Some(e.to_string()),
    }
    match host.output_devices() {
        Ok(devices) => list.outputs = devices.map(|d| device(d, false)).collect(),
        Err(e) => list.error = Some(e.to_string()),
    }
    list
}

/// The formats `d` offers, one line per rate range and sample format.
fn formats(d: &cpal::Device, input: bool) -> Vec<String> {
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
}

/// Sends fd 2 to /dev/null while alive (on Unix; a no-op elsewhere).
struct QuietStderr {
    #[cfg(unix)]
    saved: Option<i32>,
}

impl QuietStderr {
    fn new() -> QuietStderr {
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
