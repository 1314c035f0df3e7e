//! The `piper` node in the sdk harness with the host's real inference
//! core (ONNX Runtime from `hark models fetch onnxruntime`): speech out
//! sentence by sentence, Cancel mid-sentence, damaged voices refused.

use std::path::{Path, PathBuf};

use hark_plugin_tts::piper::{Piper, SAMPLE_RATE};
use hark_sdk::{
    api::{ControlEvent, Directory, Message, MessageMeta, Payload},
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
