//! `wav-reader` and `wav-writer` through the sdk harness.

use hark_plugin_audio::{wav_reader::WavReader, wav_writer::WavWriter};
use hark_sdk::{testing::Harness, Payload};

fn write_i16(path: &std::path::Path, rate: u32, channels: u16, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn reader_emits_frames_with_timestamps_and_a_short_last_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.wav");
    // 0.05 s of stereo at 8 kHz: 400 frames of 2 samples.
    let samples: Vec<i16> = (0..800).map(|i| (i * 37 % 2000 - 1000) as i16).collect();
    write_i16(&path, 8_000, 2, &samples);
    let config = format!("(path: {:?}, frame_ms: 20)", path.display().to_string());
    let mut h = Harness::new::<WavReader>(&config).unwrap();
    h.run_source(100).unwrap();
    let out = h.finish().unwrap();
    // 20 ms at 8 kHz = 160 frames = 320 samples; 400 frames -> 160 + 160 + 80.
    let lengths: Vec<usize> = out
        .iter()
        .map(|(_, m)| match &m.payload {
            Payload::Audio(a) => {
                assert_eq!((a.sample_rate, a.channels), (8_000, 2));
                a.samples.len()
            }
            _ => panic!(),
        })
        .collect();
    assert_eq!(lengths, [320, 320, 160]);
    let stamps: Vec<u64> = out
        .iter()
        .map(|(_, m)| m.meta.timestamp_ns / 1_000_000)
        .collect();
    assert_eq!(stamps, [0, 20, 40]);
    let Payload::Audio(first) = &out[0].1.payload else {
        panic!()
    };
    assert_eq!(first.samples[1], samples[1] as f32 / 32768.0);
}

#[test]
fn writer_refuses_a_format_change_mid_stream() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "(path: {:?})",
        dir.path().join("out.wav").display().to_string()
    );
    let mut h = Harness::new::<WavWriter>(&config).unwrap();
    let meta = hark_sdk::MessageMeta::default();
    h.push(0, hark_sdk::audio_message(meta, 16_000, 1, vec![0.0; 10]))
        .unwrap();
    let error = h
        .push(0, hark_sdk::audio_message(meta, 48_000, 1, vec![0.0; 10]))
        .unwrap_err();
    assert_eq!(
        error.message.as_str(),
        "audio format changed mid-stream from 16000 Hz x1 to 48000 Hz x1"
    );
}

#[test]
fn reader_reports_a_missing_file_with_a_hint() {
    let error = Harness::new::<WavReader>("(path: \"/nonexistent/x.wav\")")
        .err()
        .unwrap();
    assert!(
        error
            .message
            .starts_with("cannot read WAV file /nonexistent/x.wav"),
        "{}",
        error.message
    );
    assert!(
        error.hint.contains("check the `path` setting"),
        "{}",
        error.hint
    );
}
