//! `silero` on real (synthesised) speech with known boundaries, through
//! the sdk harness with the host's real inference core and model service.

use std::path::PathBuf;

use hark_plugin_vad::silero::{Silero, MODEL_FILE};
use hark_sdk::{
    api::Directory, audio_message, testing::Harness, ControlEvent, Message, MessageMeta, Payload,
    Value,
};

/// The Silero model, installed into the models directory on first use
/// (the same pinned archive `hark models fetch silero-vad` installs).
fn model() -> PathBuf {
    let dir = hark::dirs::directory(Directory::Models);
    let entry = hark::catalog::find("silero-vad").expect("in the catalog");
    hark::catalog::fetch(entry, &dir, false).expect("fetching silero-vad");
    dir.join(MODEL_FILE)
}

fn config(extra: &str) -> String {
    format!("(model: {:?}, {extra})", model().display().to_string())
}

/// Deterministic low-level noise, so silence is not digital zero.
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.004
        })
        .collect()
}

/// First and last sample above -40 dBFS: where speech really is.
fn extent(x: &[f32]) -> (usize, usize) {
    let loud = |v: &f32| v.abs() > 0.01;
    (
        x.iter().position(loud).unwrap(),
        x.iter().rposition(loud).unwrap(),
    )
}

struct Scene {
    samples: Vec<f32>,
    /// True speech (start, end) in seconds.
    speech: Vec<(f64, f64)>,
}

/// silence, "turn on the kitchen lights", silence, "what time is it", silence.
fn scene() -> Scene {
    let mut samples = noise(16_000, 1);
    let mut speech = Vec::new();
    for (i, text) in ["turn on the kitchen lights", "what time is it"]
        .iter()
        .enumerate()
    {
        let s = hark_sdk::testing::speech(text, 16_000).expect("espeak-ng");
        let (a, b) = extent(&s);
        let offset = samples.len();
        speech.push(((offset + a) as f64 / 16e3, (offset + b) as f64 / 16e3));
        samples.extend(&s);
        samples.extend(noise(24_000, 2 + i as u64));
    }
    Scene { samples, speech }
}

fn feed(h: &mut Harness, samples: &[f32], frame: usize) {
    for (i, chunk) in samples.chunks(frame).enumerate() {
        let meta = MessageMeta {
            timestamp_ns: (i * frame) as u64 * 1_000_000_000 / 16_000,
            ..MessageMeta::default()
        };
        h.push(0, audio_message(meta, 16_000, 1, chunk.to_vec()))
            .unwrap();
    }
}

fn seconds(m: &Message) -> f64 {
    m.meta.timestamp_ns as f64 / 1e9
}

#[test]
fn finds_both_utterances_at_their_true_boundaries() {
    let scene = scene();
    let mut h = Harness::with_inference::<Silero>(&config(""), hark::inference::vtable()).unwrap();
    // 20 ms frames, as a microphone would deliver: not a multiple of 512.
    feed(&mut h, &scene.samples, 320);
    let counted = h.recorded().counters.get("utterances").copied();
    let out = h.finish().unwrap();
    assert_eq!(counted, Some(2));

    let events: Vec<&Message> = out
        .iter()
        .filter(|(port, m)| *port == 1 && matches!(m.payload, Payload::Control(_)))
        .map(|(_, m)| m)
        .collect();
    let kinds: Vec<_> = events
        .iter()
        .map(|m| match m.payload {
            Payload::Control(c) => c,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ControlEvent::UtteranceStart,
            ControlEvent::UtteranceEnd,
            ControlEvent::UtteranceStart,
            ControlEvent::UtteranceEnd
        ],
        "events at {:?}",
        events.iter().map(|m| seconds(m)).collect::<Vec<_>>()
    );
    for (u, (start, end)) in scene.speech.iter().enumerate() {
        let (s, e) = (seconds(events[2 * u]), seconds(events[2 * u + 1]));
        eprintln!("utterance {u}: true {start:.3}–{end:.3} s, found {s:.3}–{e:.3} s");
        assert!(
            (s - start).abs() <= 0.15,
            "utterance {u} start {s} vs {start}"
        );
        assert!((e - end).abs() <= 0.35, "utterance {u} end {e} vs {end}");
        assert_eq!(events[2 * u].meta.utterance, u as u64 + 1);
    }

    // The speech port: start, the utterance's audio, end — in order,
    // tagged with the utterance, covering the speech.
    let speech: Vec<&Message> = out
        .iter()
        .filter(|(p, _)| *p == 0)
        .map(|(_, m)| m)
        .collect();
    let mut utterance = 0;
    let mut covered = [0.0f64; 2];
    for m in &speech {
        match &m.payload {
            Payload::Control(ControlEvent::UtteranceStart) => utterance = m.meta.utterance,
            Payload::Control(ControlEvent::UtteranceEnd) => utterance = 0,
            Payload::Audio(a) => {
                assert!(
                    utterance > 0,
                    "audio outside an utterance at {}",
                    seconds(m)
                );
                assert_eq!(m.meta.utterance, utterance);
                covered[utterance as usize - 1] += a.samples.len() as f64 / 16e3;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    for (u, (start, end)) in scene.speech.iter().enumerate() {
        assert!(
            covered[u] >= end - start,
            "utterance {u}: {} s of audio for {} s of speech",
            covered[u],
            end - start
        );
    }

    // One probability per 32 ms window, high inside speech, low outside.
    let probabilities: Vec<(f64, f64)> = out
        .iter()
        .filter(|(p, _)| *p == 2)
        .map(|(_, m)| match m.payload {
            Payload::Value(Value::Float(p)) => (seconds(m), p),
            _ => panic!("not a float"),
        })
        .collect();
    assert_eq!(probabilities.len(), scene.samples.len().div_ceil(512) - 1);
    let silent = probabilities
        .iter()
        .filter(|(t, _)| *t < 0.8)
        .map(|(_, p)| *p);
    assert!(
        silent.clone().all(|p| p < 0.2),
        "silence: {:?}",
        silent.collect::<Vec<_>>()
    );
    let (start, end) = scene.speech[0];
    let inside: Vec<f64> = probabilities
        .iter()
        .filter(|(t, _)| *t > start + 0.1 && *t < end - 0.1)
        .map(|(_, p)| *p)
        .collect();
    let mean = inside.iter().sum::<f64>() / inside.len() as f64;
    assert!(mean > 0.7, "mean speech probability {mean}");
}

/// The utterances found in `samples` with `extra` settings.
fn utterances(samples: &[f32], extra: &str) -> u64 {
    let mut h =
        Harness::with_inference::<Silero>(&config(extra), hark::inference::vtable()).unwrap();
    feed(&mut h, samples, 320);
    let counted = h.recorded().counters.get("utterances").copied();
    h.finish().unwrap();
    counted.unwrap_or(0)
}

/// A command said with a hesitation in it ("I want a triple shot ...
/// large iced mocha", as people in the barista recordings do) is one
/// utterance when `min_silence_ms` outlasts the pause, two when not.
#[test]
fn a_hesitation_shorter_than_min_silence_keeps_one_utterance() {
    // Speech only, without espeak-ng's own silence around it.
    let said = |text: &str| {
        let s = hark_sdk::testing::speech(text, 16_000).expect("espeak-ng");
        let (a, b) = extent(&s);
        s[a..=b].to_vec()
    };
    let mut samples = noise(16_000, 3);
    samples.extend(said("I want a triple shot"));
    samples.extend(noise(8_000, 4)); // a 500 ms pause
    samples.extend(said("large iced mocha"));
    samples.extend(noise(24_000, 5));
    assert_eq!(utterances(&samples, "min_silence_ms: 300"), 2);
    assert_eq!(utterances(&samples, "min_silence_ms: 700"), 1);
}

#[test]
fn silence_gives_no_utterance() {
    let mut h = Harness::with_inference::<Silero>(&config(""), hark::inference::vtable()).unwrap();
    feed(&mut h, &noise(48_000, 9), 512);
    let out = h.finish().unwrap();
    assert!(out.iter().all(|(p, _)| *p == 2), "only probabilities");
}

#[test]
fn wrong_sample_rate_is_a_clear_error() {
    let mut h = Harness::with_inference::<Silero>(&config(""), hark::inference::vtable()).unwrap();
    let error = h
        .push(
            0,
            audio_message(MessageMeta::default(), 44_100, 1, vec![0.0; 441]),
        )
        .unwrap_err();
    assert!(
        error
            .message
            .contains("needs 16000 Hz mono audio, got 44100 Hz"),
        "{}",
        error.message
    );
}

#[test]
fn a_missing_model_names_the_fetch_command() {
    let error = Harness::with_inference::<Silero>(
        "(model: \"/nonexistent/silero.onnx\")",
        hark::inference::vtable(),
    )
    .unwrap_err();
    assert!(
        error
            .message
            .contains("/nonexistent/silero.onnx is missing"),
        "{}",
        error.message
    );
    assert!(
        error.hint.contains("hark models fetch silero-vad"),
        "{}",
        error.hint
    );
}

#[test]
fn without_an_inference_core_the_node_says_so() {
    let error = Harness::new::<Silero>(&config("")).unwrap_err();
    assert!(
        error.message.contains("no inference core"),
        "{}",
        error.message
    );
}
