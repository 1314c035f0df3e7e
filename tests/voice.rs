//! The voice path in the real host: models converted by `hark models
//! fetch`, real speech (JFK, espeak-ng) through VAD and whisper, speech
//! synthesis re-transcribed, the cpal device path through an ALSA file
//! PCM, and the errors a user meets. Piper too: `pipelines/speak.ron
//! --set tts.kind=piper` writes speech that whisper transcribes back, and
//! a missing or broken ONNX Runtime is a clear error, not a crash.

use std::{path::Path, process::Command};

use hark::catalog;
use hark_sdk::api::Directory;

use hark_tests::{ensure_built, hark_bin, text, workspace_root, write_wav};

fn install_models() {
    hark_tests::install_models(&["silero-vad", "whisper-tiny.en"]);
}

use hark_tests::run_pipeline as run;

/// Lower case words without punctuation, as `hark eval` compares them.
fn normalise(s: &str) -> Vec<String> {
    hark_nlu::text::normalise(s)
}

/// Word error rate, as `hark eval` counts it.
fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let (edits, words) = hark::eval::score::word_errors(reference, hypothesis);
    edits as f64 / words.max(1) as f64
}

fn shared_jfk() -> Option<std::path::PathBuf> {
    let path = workspace_root().join("../shared/data/speech/jfk.wav");
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: {} is absent (../shared is not beside the checkout)",
            path.display()
        );
        None
    }
}

#[test]
fn the_converter_reproduces_the_reference_ggml_files() {
    // The SHA-256 of the files the reference converter (and whisper.cpp's
    // own) writes from these packages, as ../shared/models.md records
    // them; `fetch` checks its output against the catalog's pins, and the
    // pins must be these.
    let dir = hark::dirs::directory(Directory::Models);
    for (name, file, sha256) in [
        (
            "whisper-tiny.en",
            "ggml-tiny.en.bin",
            "5cca2e9b6791dff29da5435eb6df415228cd7997359e8863ff55b2de147f4baf",
        ),
        (
            "whisper-tiny.en-q8_0",
            "ggml-tiny.en-q8_0.bin",
            "ed53590f497ec7cf82145a8142f38680bfe218a408a87b0004e6680f2e8278ca",
        ),
    ] {
        let entry = catalog::find(name).unwrap();
        catalog::fetch(entry, &dir, false).unwrap_or_else(|e| panic!("{name}: {e}"));
        let path = entry.dir(&dir).join(file);
        assert_eq!(catalog::sha256_file(&path).unwrap(), sha256, "{name}");
    }
}

#[test]
fn transcribe_pipeline_prints_the_jfk_sentence() {
    let Some(jfk) = shared_jfk() else { return };
    ensure_built();
    install_models();
    let (ok, stdout, stderr) = run(
        &[
            "pipelines/transcribe.ron",
            "--stats",
            "--set",
            &format!("input.path={:?}", jfk.display().to_string()),
        ],
        "",
        &[],
    );
    assert!(ok, "{stderr}");
    let reference = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.";
    let wer = word_error_rate(reference, &stdout);
    assert!(wer <= 0.10, "WER {wer:.3} > 10 %:\n{stdout}");
    // Latency figures per utterance reach --stats.
    assert!(stderr.contains("final_latency_ms.mean"), "{stderr}");
    assert!(stderr.contains("real_time_factor.mean"), "{stderr}");
    // Each VAD utterance is one final line; JFK pauses three times.
    assert!(stdout.lines().count() >= 3, "{stdout}");
}

#[test]
fn espeak_commands_at_22khz_are_transcribed_through_the_converting_link() {
    ensure_built();
    install_models();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("commands.wav");
    // espeak-ng writes 22 050 Hz: the link into the VAD resamples.
    let status = Command::new("espeak-ng")
        .args([
            "-w",
            wav.to_str().unwrap(),
            "Turn on the kitchen lights. ... What time is it?",
        ])
        .status()
        .expect("espeak-ng (installed by ./x setup)");
    assert!(status.success());
    let (ok, stdout, stderr) = run(
        &[
            "pipelines/transcribe.ron",
            "--set",
            &format!("input.path={:?}", wav.display().to_string()),
        ],
        "",
        &[],
    );
    assert!(ok, "{stderr}");
    let heard = normalise(&stdout).join(" ");
    assert!(heard.contains("turn on the kitchen lights"), "{stdout}");
    assert!(heard.contains("what time is it"), "{stdout}");
}

/// Speaks `said` with `pipelines/speak.ron` (and `set`, `--set`
/// arguments) into a WAV, checks it went sentence by sentence, and reads
/// it back with `pipelines/transcribe.ron`: (speaking's log, whisper's
/// word error rate against `said`, what whisper heard).
fn speak_and_transcribe(said: &str, set: &[&str]) -> (String, f64, String) {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("reply.wav");
    let output = format!("output.path={:?}", wav.display().to_string());
    let mut args = vec!["pipelines/speak.ron", "--stats", "--set", &output];
    for arg in set {
        args.extend(["--set", arg]);
    }
    let (ok, _, spoken) = run(&args, &format!("{said}\n"), &[]);
    assert!(ok, "{spoken}");
    assert!(
        spoken.contains("sentences = 2"),
        "sentence by sentence: {spoken}"
    );
    let (ok, stdout, stderr) = run(
        &[
            "pipelines/transcribe.ron",
            "--set",
            &format!("input.path={:?}", wav.display().to_string()),
        ],
        "",
        &[],
    );
    assert!(ok, "{stderr}");
    (spoken, word_error_rate(said, &stdout), stdout)
}

#[test]
fn speech_synthesis_is_transcribed_back_to_its_text() {
    ensure_built();
    install_models();
    // tiny.en mishears some espeak-ng words (see ../shared/models.md);
    // the text is plain so the test checks the plumbing: sentence by
    // sentence synthesis, the 22.05 -> 16 kHz link, the recogniser.
    let said = "It is sunny and warm today. Enjoy your afternoon.";
    let (_, wer, heard) = speak_and_transcribe(said, &[]);
    assert!(wer <= 0.15, "WER {wer:.3}: {heard}");
}

/// An ALSA configuration whose default PCM is a file: capture reads
/// `in.raw`, playback writes `out.raw` (raw S16_LE), so the real cpal path
/// runs on a machine without a sound card.
fn alsa_file_home(dir: &Path) {
    std::fs::write(
        dir.join(".asoundrc"),
        format!(
            "pcm.!default {{\n    type file\n    slave.pcm \"null\"\n    file \"{0}/out.raw\"\n    infile \"{0}/in.raw\"\n    format \"raw\"\n}}\n",
            dir.display()
        ),
    )
    .unwrap();
}

#[test]
fn microphone_and_speaker_run_through_cpal_on_an_alsa_file_pcm() {
    ensure_built();
    install_models();
    let home = tempfile::tempdir().unwrap();
    alsa_file_home(home.path());
    // The "microphone" hears 1 s of silence, a command, 1.5 s of silence.
    let speech = hark_sdk::testing::speech("turn off the radio", 16_000).expect("espeak-ng");
    let mut samples = vec![0.0f32; 16_000];
    samples.extend(&speech);
    samples.extend(vec![0.0f32; 24_000]);
    let raw: Vec<u8> = samples
        .iter()
        .flat_map(|v| ((v * 32767.0) as i16).to_le_bytes())
        .collect();
    std::fs::write(home.path().join("in.raw"), &raw).unwrap();
    let seconds = samples.len() as f64 / 16_000.0;
    // HOME points ALSA at the file PCM; the models stay where they are.
    let models = hark::dirs::directory(Directory::Models);
    let env = [("HOME", home.path()), ("HARK_MODELS", models.as_path())];
    let (ok, stdout, stderr) = run(
        &[
            "pipelines/transcribe.ron",
            "--set",
            "input.sample_rate=16000",
            "--set",
            "input.channels=1",
            "--set",
            &format!("input.max_seconds={seconds:.3}"),
        ],
        "",
        &env,
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("microphone open: 16000 Hz, 1 channel(s)"),
        "{stderr}"
    );
    assert!(
        normalise(&stdout).join(" ").contains("turn off the radio"),
        "{stdout}"
    );

    // Speaker: the synthesised audio reaches the device (the file) intact.
    let wav = home.path().join("reference.wav");
    let line = "Playing through the speaker.\n";
    let (ok, _, stderr) = run(
        &[
            "pipelines/speak.ron",
            "--set",
            &format!("output.path={:?}", wav.display().to_string()),
        ],
        line,
        &[],
    );
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = run(&["pipelines/speak.ron"], line, &env);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("speaker open: 22050 Hz, 1 channel(s)"),
        "{stderr}"
    );
    let expected: Vec<i16> = hound::WavReader::open(&wav)
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect();
    let played: Vec<i16> = std::fs::read(home.path().join("out.raw"))
        .unwrap()
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    // The file PCM is not paced in real time: whenever the node has not
    // yet handed over the next chunk, the device plays silence. Without
    // the zeros, what was played is the synthesis, bit for bit.
    let sound = |s: &[i16]| s.iter().copied().filter(|&v| v != 0).collect::<Vec<_>>();
    let (played, expected) = (sound(&played), sound(&expected));
    assert!(expected.len() > 10_000, "the reference holds speech");
    assert_eq!(played, expected, "the speaker played something else");
}

#[test]
fn missing_model_corrupt_wav_and_no_device_give_clear_errors() {
    ensure_built();
    let dir = tempfile::tempdir().unwrap();
    // Missing model: an empty models directory.
    let empty = dir.path().join("models");
    let wav = dir.path().join("silence.wav");
    write_wav(&wav, 16_000, &[0; 16_000]);
    let wav_arg = format!("input.path={:?}", wav.display().to_string());
    let (ok, _, stderr) = run(
        &["pipelines/transcribe.ron", "--set", &wav_arg],
        "",
        &[("HARK_MODELS", &empty)],
    );
    assert!(!ok);
    assert!(stderr.contains("whisper model"), "{stderr}");
    assert!(
        stderr.contains("hark models fetch whisper-tiny.en"),
        "{stderr}"
    );

    // A file that is not a model at all.
    install_models();
    let bogus = dir.path().join("bogus.bin");
    std::fs::write(&bogus, b"not a ggml file").unwrap();
    let (ok, _, stderr) = run(
        &[
            "pipelines/transcribe.ron",
            "--set",
            &wav_arg,
            "--set",
            &format!("stt.model={:?}", bogus.display().to_string()),
        ],
        "",
        &[],
    );
    assert!(!ok);
    assert!(
        stderr.contains("could not load the whisper model"),
        "{stderr}"
    );

    // A truncated WAV.
    let truncated = dir.path().join("truncated.wav");
    std::fs::write(&truncated, &std::fs::read(&wav).unwrap()[..30]).unwrap();
    let (ok, _, stderr) = run(
        &[
            "pipelines/transcribe.ron",
            "--set",
            &format!("input.path={:?}", truncated.display().to_string()),
        ],
        "",
        &[],
    );
    assert!(!ok);
    assert!(stderr.contains("cannot read WAV file"), "{stderr}");

    // No sound card: the error says so and points at the WAV nodes.
    let no_card = tempfile::tempdir().unwrap();
    std::fs::write(
        no_card.path().join(".asoundrc"),
        "pcm.!default { type hw card 99 }\n",
    )
    .unwrap();
    let (ok, _, stderr) = run(
        &["pipelines/transcribe.ron"],
        "",
        &[("HOME", no_card.path())],
    );
    assert!(!ok);
    assert!(stderr.contains("input.path=FILE.wav"), "{stderr}");
    let devices = Command::new(hark_bin())
        .arg("devices")
        .env("HOME", no_card.path())
        .output()
        .unwrap();
    let (stdout, _) = text(&devices);
    assert!(
        stdout.contains("No usable microphone or speaker"),
        "{stdout}"
    );
}

#[test]
fn piper_speech_is_transcribed_back_to_its_text() {
    ensure_built();
    hark_tests::install_models(&["onnxruntime", "piper-joe", "silero-vad", "whisper-tiny.en"]);
    let said = "The kitchen lights are now on. Your coffee will be ready in two minutes.";
    let (spoken, wer, heard) = speak_and_transcribe(said, &["tts.kind=piper"]);
    let plain = strip_colours(&spoken);
    assert!(
        plain.contains("model loaded") && plain.contains("engine=\"onnxruntime\""),
        "auto ran the voice on onnxruntime: {plain}"
    );
    assert!(
        !plain.contains("Session Options"),
        "onnxruntime's own info lines are kept out of the log: {plain}"
    );
    // Every word was heard, in order. (Not a word error rate: Piper's
    // speech varies from run to run, and on some runs whisper tiny.en
    // repeats the last sentence of an utterance, which a WER counts as
    // seven errors; `./x bench-tts` measures the WER over 20 sentences.)
    let heard_words = normalise(&heard).join(" ");
    for phrase in [
        "the kitchen lights are now on",
        "your coffee will be ready in",
    ] {
        assert!(
            heard_words.contains(phrase),
            "`{phrase}` not heard (WER {wer:.3}): {heard}"
        );
    }
}

#[test]
fn without_onnxruntime_piper_says_how_to_install_it() {
    ensure_built();
    hark_tests::install_models(&["piper-joe"]);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("libonnxruntime.so.1.31.1");
    let (ok, _, stderr) = run(
        &["pipelines/speak.ron", "--set", "tts.kind=piper"],
        "Hello.\n",
        &[("HARK_ONNXRUNTIME", &missing)],
    );
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("hark models fetch onnxruntime"),
        "says how to install it: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // A file that is not the library: refused when loading, said so.
    std::fs::write(&missing, b"\x7fELF but not really").unwrap();
    let (ok, _, stderr) = run(
        &["pipelines/speak.ron", "--set", "tts.kind=piper"],
        "Hello.\n",
        &[("HARK_ONNXRUNTIME", &missing)],
    );
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("loading onnxruntime"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // espeak needs no engine: the same pipeline speaks without it.
    let wav = dir.path().join("espeak.wav");
    let (ok, _, stderr) = run(
        &[
            "pipelines/speak.ron",
            "--set",
            &format!("output.path={:?}", wav.display().to_string()),
        ],
        "Hello.\n",
        &[("HARK_ONNXRUNTIME", &missing)],
    );
    assert!(ok, "{stderr}");
}

/// `text` without terminal colour sequences (the log colours its fields).
fn strip_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
