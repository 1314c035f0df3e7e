//! `hark eval` and the coffee maker, in the real host: recordings made
//! with espeak-ng and labelled in a TSV file, the real barista recordings
//! of ../shared (150 people ordering coffee) against the targets,
//! and the coffee maker answering an order aloud.

use std::path::Path;

use hark_tests::{hark, text, workspace_root, write_wav};

fn install_models() {
    hark_tests::install_models(&["silero-vad", "whisper-tiny.en"]);
}

/// espeak-ng saying `text` into `dir/name`, with a second of silence
/// before and after (as a recording has).
fn say(dir: &Path, name: &str, text: &str) {
    let speech = hark_sdk::testing::speech(text, 16_000).expect("espeak-ng");
    let mut samples = vec![0i16; 16_000];
    samples.extend(speech.iter().map(|s| (s * 32767.0) as i16));
    samples.extend(std::iter::repeat_n(0i16, 16_000));
    write_wav(&dir.join(name), 16_000, &samples);
}

fn eval_json(args: &[&str]) -> serde_json::Value {
    let out = hark(&workspace_root(), &[&["eval"], args, &["--json"]].concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "hark eval failed:\n{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}:\n{stdout}\n{stderr}"))
}

#[test]
fn eval_scores_labelled_recordings_and_lists_the_misses() {
    install_models();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    say(d, "latte.wav", "Can I get a large latte with soy milk?");
    say(d, "mocha.wav", "Make me a double shot mocha.");
    say(d, "coffee.wav", "I'd like a small house coffee with sugar.");
    say(d, "weather.wav", "What is the weather like tomorrow?");
    // Labelled wrongly on purpose: the clip orders a mocha.
    std::fs::copy(d.join("mocha.wav"), d.join("mislabelled.wav")).unwrap();
    std::fs::write(
        d.join("labels.tsv"),
        "# file\ttranscript\tintent\tslots\n\
         latte.wav\tcan i get a large latte with soy milk\torderDrink\t{\"size\": \"large\", \"coffeeDrink\": \"latte\", \"milkAmount\": \"soy milk\"}\n\
         mocha.wav\tmake me a double shot mocha\torderDrink\t{\"numberOfShots\": \"double shot\", \"coffeeDrink\": \"mocha\"}\n\
         coffee.wav\ti'd like a small house coffee with sugar\torderDrink\t{\"size\": \"small\", \"coffeeDrink\": \"house coffee\", \"sugarAmount\": \"sugar\"}\n\
         weather.wav\twhat is the weather like tomorrow\n\
         mislabelled.wav\tmake me a double shot mocha\torderDrink\t{\"coffeeDrink\": \"latte\"}\n",
    )
    .unwrap();
    let data = d.to_str().unwrap();
    let report = eval_json(&["pipelines/coffee-maker.ron", data]);
    let run = &report["runs"][0];
    let scores = &run["scores"];
    assert_eq!(scores["clips"], 5);
    assert_eq!(scores["labelled_commands"], 4);
    assert_eq!(scores["commands_accepted"], 3, "{run:#}");
    assert_eq!(scores["slots"]["coffeeDrink"]["wrong"], 1, "{scores:#}");
    assert_eq!(scores["split"], 0);
    assert_eq!(scores["loops"], 0);
    let words = scores["reference_words"].as_u64().unwrap();
    assert_eq!(words, 9 + 6 + 8 + 6 + 6);
    let wer = scores["word_edits"].as_u64().unwrap() as f64 / words as f64;
    assert!(wer <= 0.15, "WER {wer}: {run:#}");
    for latency in ["transcript_latency", "intent_latency"] {
        assert_eq!(scores[latency]["count"], 5, "{latency}: {scores:#}");
        assert!(scores[latency]["p50_ms"].as_f64().unwrap() > 0.0);
    }
    // The question about the weather is no order: recognised as nothing,
    // transcribed freely (the grammar steers only what it covers).
    let weather = &run["clips"][3];
    assert_eq!(weather["name"], "weather.wav");
    let heard = weather["utterances"][0]["transcript"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert!(heard.contains("weather"), "{heard}");
    assert_eq!(weather["utterances"][0]["intent"]["intent"], "unknown");

    // The table for people, with the miss explained.
    let out = hark(
        &workspace_root(),
        &["eval", "pipelines/coffee-maker.ron", data, "--errors"],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("commands accepted"), "{stdout}");
    assert!(stdout.contains("75.0 % (3/4)"), "{stdout}");
    assert!(stdout.contains("✗ mislabelled.wav"), "{stdout}");
    assert!(
        stdout.contains("expected   orderDrink coffeeDrink=latte"),
        "{stdout}"
    );
    assert!(!stdout.contains("✗ latte.wav"), "{stdout}");
}

#[test]
fn eval_mistakes_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = hark(
        &workspace_root(),
        &["eval", "pipelines/coffee-maker.ron", d],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("has no WAV files"), "{stderr}");

    std::fs::write(dir.path().join("labels.tsv"), "gone.wav\thello\n").unwrap();
    let out = hark(
        &workspace_root(),
        &["eval", "pipelines/coffee-maker.ron", d],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("gone.wav, which is not in"), "{stderr}");

    say(dir.path(), "gone.wav", "hello");
    let out = hark(
        &workspace_root(),
        &["eval", "pipelines/coffee-maker.ron", d, "--input", "mic"],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no node `mic`"), "{stderr}");
}

/// ../shared/data/speech/barista-dev: 150 real people ordering coffee.
fn barista_dev() -> Option<std::path::PathBuf> {
    let dir = workspace_root().join("../shared/data/speech/barista-dev");
    if dir.join("labels.json").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: {} is absent (../shared is not beside the checkout)",
            dir.display()
        );
        None
    }
}

/// The targets on real recordings, with the shipped pipeline as
/// it is: at least 95 % of the orders understood (intent and every
/// slot), no recording split, no decoder loop or broken character, no
/// failure. (Latency is measured by the same command in
/// docs/performance.md, not asserted here.)
#[test]
fn real_people_ordering_coffee_are_understood() {
    let Some(data) = barista_dev() else { return };
    install_models();
    let report = eval_json(&["pipelines/coffee-maker.ron", data.to_str().unwrap()]);
    let scores = &report["runs"][0]["scores"];
    assert_eq!(scores["clips"], 150);
    let accepted = scores["commands_accepted"].as_u64().unwrap();
    assert!(
        accepted >= 143,
        "{accepted}/150 orders accepted (< 95 %): {scores:#}"
    );
    assert_eq!(scores["split"], 0, "{scores:#}");
    assert_eq!(scores["loops"], 0, "{scores:#}");
    assert_eq!(scores["broken_characters"], 0, "{scores:#}");
    assert_eq!(scores["failed"], 0, "{scores:#}");
}

#[test]
fn the_coffee_maker_confirms_an_order_aloud() {
    install_models();
    let dir = tempfile::tempdir().unwrap();
    say(
        dir.path(),
        "order.wav",
        "Can I have a large latte with soy milk, please?",
    );
    let order = dir.path().join("order.wav");
    let reply = dir.path().join("reply.wav");
    let (ok, stdout, stderr) = hark_tests::run_pipeline(
        &[
            "pipelines/coffee-maker.ron",
            "--set",
            &format!("input.path={:?}", order.display().to_string()),
            "--set",
            &format!("output.path={:?}", reply.display().to_string()),
        ],
        "",
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("One large latte with soy milk, coming right up."),
        "{stdout}\n{stderr}"
    );
    // The reply, transcribed back.
    let (ok, heard, stderr) = hark_tests::run_pipeline(
        &[
            "pipelines/transcribe.ron",
            "--set",
            &format!("input.path={:?}", reply.display().to_string()),
        ],
        "",
        &[],
    );
    assert!(ok, "{stderr}");
    let heard = heard.to_lowercase();
    assert!(
        heard.contains("large latte") && heard.contains("milk"),
        "{heard}"
    );
}
