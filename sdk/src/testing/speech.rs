//! Speech for tests, synthesised on the spot with espeak-ng (installed by
//! `./x setup`), so that tests run on real speech without data files.

use std::process::Command;

/// `text` spoken by espeak-ng (voice `en-us`), as mono f32 samples at
/// `sample_rate` Hz (espeak-ng's 22050 Hz, resampled).
///
/// Fails with a message naming the fix when espeak-ng is missing.
pub fn speech(text: &str, sample_rate: u32) -> Result<Vec<f32>, String> {
    let output = Command::new("espeak-ng")
        .args(["-v", "en-us", "--stdout", text])
        .output()
        .map_err(|e| format!("cannot run espeak-ng ({e}); install it: `apt-get install espeak-ng` (or `./x setup`)"))?;
    if !output.status.success() {
        return Err(format!(
            "espeak-ng failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let (rate, samples) = parse_wav(&output.stdout)?;
    Ok(resample(&samples, rate, sample_rate))
}

/// The PCM16 mono samples of a WAV stream as espeak-ng writes it (its
/// length fields are unset when writing to a pipe, so chunks are walked
/// until `data`, which runs to the end).
fn parse_wav(bytes: &[u8]) -> Result<(u32, Vec<f32>), String> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("espeak-ng did not write a WAV stream".into());
    }
    let mut at = 12;
    let mut rate = 0;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        let body = at + 8;
        if id == b"fmt " && body + 8 <= bytes.len() {
            rate = u32::from_le_bytes([
                bytes[body + 4],
                bytes[body + 5],
                bytes[body + 6],
                bytes[body + 7],
            ]);
        } else if id == b"data" {
            let samples = bytes[body..]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32768.0)
                .collect();
            return Ok((rate, samples));
        }
        at = body + size as usize + (size as usize & 1);
    }
    Err("no data chunk in espeak-ng's WAV stream".into())
}

/// Band-limited resampling (windowed sinc, 16 zero crossings, cut-off at
/// the lower Nyquist frequency): good enough for speech models in tests.
pub fn resample(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || x.is_empty() {
        return x.to_vec();
    }
    let ratio = to as f64 / from as f64;
    let cutoff = ratio.min(1.0);
    let half = 16.0 / cutoff;
    let n = (x.len() as f64 * ratio).round() as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / ratio;
            let lo = (t - half).ceil().max(0.0) as usize;
            let hi = ((t + half).floor() as usize).min(x.len() - 1);
            let mut sum = 0.0;
            for (j, &v) in x.iter().enumerate().take(hi + 1).skip(lo) {
                let d = j as f64 - t;
                let window = 0.5 + 0.5 * (std::f64::consts::PI * d / half).cos();
                let arg = std::f64::consts::PI * d * cutoff;
                let sinc = if arg.abs() < 1e-9 {
                    1.0
                } else {
                    arg.sin() / arg
                };
                sum += v as f64 * cutoff * sinc * window;
            }
            sum as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_a_tone_in_band() {
        let tone: Vec<f32> = (0..22050)
            .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 22050.0).sin())
            .collect();
        let y = resample(&tone, 22050, 16000);
        assert_eq!(y.len(), 16000);
        // Away from the edges, the 440 Hz tone comes through at full level.
        let rms = (y[1000..15000].iter().map(|v| v * v).sum::<f32>() / 14000.0).sqrt();
        assert!(
            (rms - std::f32::consts::FRAC_1_SQRT_2).abs() < 0.01,
            "rms {rms}"
        );
    }
}
