//! The `vad` plugin in the real host: a `.so` loaded from disk reaching the
//! host's inference core through the ABI, on synthesised speech.

use std::path::Path;

use hark::catalog;
use hark_sdk::api::Directory;
use hark_tests::{ensure_built, hark_bin, text, workspace_root, write_wav};

/// Installs silero-vad into the models directory the `hark` binary uses.
fn install_model() {
    let dir = hark::dirs::directory(Directory::Models);
    catalog::fetch(catalog::find("silero-vad").unwrap(), &dir, false).expect("fetching silero-vad");
}

/// Two utterances with silence around them, as a 16 kHz WAV at `path`;
/// returns the total speech duration in seconds.
fn two_utterances(path: &Path) -> f64 {
    let mut samples = vec![0.0f32; 16_000];
    let mut speech = 0.0;
    for text in ["turn on the kitchen lights", "what time is it"] {
        let s = hark_sdk::testing::speech(text, 16_000).expect("espeak-ng");
        speech += s.len() as f64 / 16e3;
        samples.extend(&s);
        samples.extend(vec![0.0; 24_000]);
    }
    let pcm: Vec<i16> = samples.iter().map(|v| (v * 32767.0) as i16).collect();
    write_wav(path, 16_000, &pcm);
    speech
}

fn run(dir: &Path, pipeline: &str, wav: &Path) -> (bool, String, String) {
    let file = dir.join("vad.ron");
    std::fs::write(&file, pipeline).unwrap();
    let output = std::process::Command::new(hark_bin())
        .current_dir(workspace_root())
        .args(["run", file.to_str().unwrap(), "--stats", "--color", "never"])
        .args([
            "--set",
            &format!("input.path={:?}", wav.display().to_string()),
        ])
        .env("HARK_LOG", "info")
        .env_remove("HARK_PLUGIN_PATH")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    (output.status.success(), stdout, stderr)
}

#[test]
fn vad_segments_speech_through_the_shared_inference_core() {
    ensure_built();
    install_model();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("speech.wav");
    let speech_seconds = two_utterances(&wav);
    let out_wav = dir.path().join("speech-only.wav");
    let pipeline = format!(
        r#"Pipeline(
    nodes: {{
        "input": (plugin: "audio", kind: "wav-reader", config: (path: "", frame_ms: 20)),
        "vad": (plugin: "vad", kind: "silero"),
        "second": (plugin: "vad", kind: "silero", config: (threshold: 0.6)),
        "speech": (plugin: "audio", kind: "wav-writer", config: (path: {:?})),
    }},
    links: [
        "input.audio -> vad.audio",
        "input.audio -> second.audio",
        "vad.speech -> speech.audio",
    ],
)"#,
        out_wav.display().to_string()
    );
    let (ok, _, stderr) = run(dir.path(), &pipeline, &wav);
    assert!(ok, "{stderr}");
    // Both VAD nodes found both utterances ...
    let utterances: Vec<&str> = stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("utterances = "))
        .collect();
    assert_eq!(utterances.len(), 2, "{stderr}");
    assert!(
        utterances.iter().all(|l| l.trim().ends_with("= 2")),
        "{stderr}"
    );
    // ... from one copy of the model, loaded once for the two nodes.
    let loads = stderr.matches("model loaded").count();
    assert_eq!(loads, 1, "{stderr}");
    // Only speech (with its pre-roll and closing silence) was written.
    let written = hound::WavReader::open(&out_wav).unwrap();
    let seconds = written.duration() as f64 / 16e3;
    assert!(
        seconds >= speech_seconds * 0.8 && seconds < speech_seconds + 2.0,
        "{seconds} s written for {speech_seconds} s of speech"
    );
}

#[test]
fn a_vad_fed_44khz_stereo_gets_16khz_mono_from_the_link() {
    // The VAD's input port declares 16 kHz mono; the link converts what a
    // CD-format file brings (the node itself refuses other formats, see
    // plugins/vad/tests/silero.rs).
    ensure_built();
    install_model();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("cd.wav");
    let mut mono = vec![0.0f32; 44_100];
    mono.extend(
        hark_sdk::testing::speech("turn on the kitchen lights", 44_100).expect("espeak-ng"),
    );
    mono.extend(vec![0.0f32; 44_100]);
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&wav, spec).unwrap();
    for v in mono {
        writer.write_sample((v * 32767.0) as i16).unwrap();
        writer.write_sample((v * 16383.0) as i16).unwrap();
    }
    writer.finalize().unwrap();
    let pipeline = r#"Pipeline(
    nodes: {
        "input": (plugin: "audio", kind: "wav-reader", config: (path: "")),
        "vad": (plugin: "vad", kind: "silero"),
    },
    links: ["input.audio -> vad.audio"],
)"#;
    let (ok, _, stderr) = run(dir.path(), pipeline, &wav);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("utterances = 1"), "{stderr}");
    let check = std::process::Command::new(hark_bin())
        .args(["check", dir.path().join("vad.ron").to_str().unwrap()])
        .args([
            "--set",
            &format!("input.path={:?}", wav.display().to_string()),
        ])
        .env_remove("HARK_PLUGIN_PATH")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&check);
    assert!(
        stdout.contains("input.audio -> vad.audio: audio converted to 16000 Hz mono"),
        "{stdout}{stderr}"
    );
}
