//! Images through the real host: `read-aloud.ron` prints and speaks an
//! image's text (the speech checked by whisper), the assistant's "read
//! this", the folder source, and the errors a user meets (corrupt image,
//! missing model). Images are rendered at test time (hark_tests::render).

use std::path::Path;

use hark_tests::{
    install_models,
    render::{self, cer, Page},
    run_pipeline,
};

fn page(dir: &Path, name: &str, lines: &[&str]) -> std::path::PathBuf {
    let lines = render::lines(lines, render::DEJAVU_SANS, 40.0);
    render::save_png(&render::render(&Page::default(), &lines), dir, name)
}

/// Lower-case words, for comparing speech transcripts.
fn words(s: &str) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn read_aloud_prints_the_text_and_speaks_it() {
    install_models(&["ppocr-v4", "silero-vad", "whisper-tiny.en"]);
    let dir = tempfile::tempdir().unwrap();
    let want = [
        "Please close the door",
        "Turn off the lights when you leave",
    ];
    let image = page(dir.path(), "note.png", &want);
    let wav = dir.path().join("note.wav");
    let (ok, stdout, stderr) = run_pipeline(
        &[
            "pipelines/read-aloud.ron",
            "--set",
            &format!("input.path={}", image.display()),
            "--set",
            &format!("output.path={}", wav.display()),
        ],
        "",
        &[],
    );
    assert!(ok, "{stderr}");
    let want = want.join("\n");
    assert!(cer(stdout.trim(), &want) <= 0.02, "stdout {stdout:?}");
    // What was spoken is what was read: whisper hears the same words.
    let (ok, heard, stderr) = run_pipeline(
        &[
            "pipelines/transcribe.ron",
            "--set",
            &format!("input.path={}", wav.display()),
        ],
        "",
        &[],
    );
    assert!(ok, "{stderr}");
    let (heard, said) = (words(&heard), words(&want));
    let common = said.iter().filter(|w| heard.contains(w)).count();
    assert!(
        common * 10 >= said.len() * 8,
        "whisper heard {heard:?} for {said:?}"
    );
}

#[test]
fn without_a_speaker_the_fallback_wav_is_written() {
    install_models(&["ppocr-v4"]);
    let dir = tempfile::tempdir().unwrap();
    let image = page(dir.path(), "sign.png", &["EXIT"]);
    let fallback = dir.path().join("fallback.wav");
    let (ok, stdout, stderr) = run_pipeline(
        &[
            "pipelines/read-aloud.ron",
            "--set",
            &format!("input.path={}", image.display()),
            "--set",
            &format!("output.fallback={}", fallback.display()),
        ],
        "",
        &[],
    );
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "EXIT");
    if stderr.contains("no speaker") {
        let reader = hound::WavReader::open(&fallback).expect("the fallback WAV");
        assert!(reader.duration() > 8_000, "{} samples", reader.duration());
    } else {
        eprintln!("this machine has a speaker: the fallback is not used");
    }
}

#[test]
fn a_corrupt_image_and_a_missing_model_are_explained() {
    install_models(&["ppocr-v4"]);
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.png");
    std::fs::write(&broken, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR truncated").unwrap();
    let (ok, _, stderr) = run_pipeline(
        &[
            "pipelines/read-aloud.ron",
            "--set",
            &format!("input.path={}", broken.display()),
            "--set",
            "output.path=/dev/null",
        ],
        "",
        &[],
    );
    assert!(!ok);
    assert!(
        stderr.contains("broken.png") && stderr.contains("not a readable PNG or JPEG"),
        "{stderr}"
    );

    let image = page(dir.path(), "fine.png", &["Hello"]);
    let empty = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = run_pipeline(
        &[
            "pipelines/read-aloud.ron",
            "--set",
            &format!("input.path={}", image.display()),
            "--set",
            "output.path=/dev/null",
        ],
        "",
        &[("HARK_MODELS", empty.path())],
    );
    assert!(!ok);
    assert!(
        stderr.contains("ch_PP-OCRv4_det_infer.onnx")
            && stderr.contains("hark models fetch ppocr-v4"),
        "{stderr}"
    );
}

#[test]
fn the_assistant_reads_the_newest_image_on_request() {
    install_models(&["ppocr-v4"]);
    let dir = tempfile::tempdir().unwrap();
    page(dir.path(), "old.png", &["Old news"]);
    // Modification times decide which is newest; make sure they differ.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    page(dir.path(), "new.png", &["Parking for visitors only"]);
    let (ok, stdout, stderr) = run_pipeline(
        &[
            "pipelines/assistant-text.ron",
            "--set",
            &format!("look.path={}", dir.path().display()),
        ],
        "what time is it\nread this\n",
        &[],
    );
    assert!(ok, "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.contains("read.this"))
        .unwrap_or_else(|| panic!("no read.this line in {stdout}"));
    assert!(
        line.contains("It says: Parking for visitors only"),
        "{line}"
    );
    assert!(!stdout.contains("Old news"), "{stdout}");

    // An empty folder: the assistant says so instead of waiting.
    let empty = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = run_pipeline(
        &[
            "pipelines/assistant-text.ron",
            "--set",
            &format!("look.path={}", empty.path().display()),
        ],
        "what does it say\n",
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("I could not get an image to read: there is no image in"),
        "{stdout}"
    );
}

#[test]
fn a_watched_folder_emits_new_images_as_they_arrive() {
    install_models(&["ppocr-v4"]);
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("inbox.ron");
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    std::fs::write(
        &pipeline,
        format!(
            r#"Pipeline(
    nodes: {{
        "inbox": (plugin: "vision", kind: "folder", config: (path: {:?}, existing: true, max_images: 2)),
        "ocr": (plugin: "vision", kind: "ocr", config: ()),
        "print": (plugin: "text", kind: "lines-out", config: ()),
    }},
    links: ["inbox.image -> ocr.image", "ocr.text -> print.in"],
)"#,
            inbox.display().to_string()
        ),
    )
    .unwrap();
    let writer = {
        let inbox = inbox.clone();
        std::thread::spawn(move || {
            // Whether the host is watching yet or not (`existing: true`
            // takes what came before), each image is read once.
            page(&inbox, "first.png", &["First arrival"]);
            std::thread::sleep(std::time::Duration::from_millis(1500));
            std::thread::sleep(std::time::Duration::from_millis(500));
            // Written in two steps, like a slow copy: read once complete.
            let image = page(
                inbox.parent().unwrap(),
                "second-draft.png",
                &["Second arrival"],
            );
            let bytes = std::fs::read(&image).unwrap();
            let target = inbox.join("second.png");
            std::fs::write(&target, &bytes[..bytes.len() / 2]).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
            std::fs::write(&target, &bytes).unwrap();
            // And a file that never becomes an image is skipped.
            std::fs::write(inbox.join("junk.png"), b"junk").unwrap();
        })
    };
    let (ok, stdout, stderr) = run_pipeline(&[pipeline.to_str().unwrap()], "", &[]);
    writer.join().unwrap();
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "First arrival\nSecond arrival", "{stderr}");
}
