//! `ocr` on images rendered at test time (known text), through the
//! host's real model service: accuracy (character error rate), reading
//! order, Latin and Chinese, light-on-dark, rotation; and the errors a
//! user meets (corrupt image, missing model).

use hark_plugin_vision::ocr::Ocr;
use hark_sdk::{api::Directory, testing::Harness, MessageMeta, Payload, Value};
use hark_tests::render::{self, cer, Line, Page};

/// An `ocr` config for the installed model set `set` (the harness has
/// its own, empty, models directory), plus `extra` settings.
fn config(set: &str, extra: &str) -> String {
    hark_tests::install_models(&[set]);
    let dir = hark::dirs::directory(Directory::Models).join(set);
    let files = hark_plugin_vision::ocr::MODEL_SETS.iter().find(|s| s.0 == set).unwrap();
    let mut config = format!(
        "(models: {set:?}, det: {:?}, rec: {:?}",
        dir.join(files.1).display().to_string(),
        dir.join(files.2).display().to_string()
    );
    if let Some(cls) = files.3 {
        config += &format!(", cls: {:?}", dir.join(cls).display().to_string());
    }
    config + extra + ")"
}

/// Runs `ocr` (with `config`) on `image`; the text and the `lines` value.
fn read(config: &str, image: image::RgbImage) -> (String, Value) {
    let mut h = Harness::with_inference::<Ocr>(config, hark::inference::vtable()).unwrap();
    h.push(0, hark_plugin_vision::frames::image_message(MessageMeta::default(), image)).unwrap();
    let mut text = None;
    let mut lines = None;
    for (port, message) in h.finish().unwrap() {
        match (port, message.payload) {
            (0, Payload::Text(t)) => text = Some(t.text.to_string()),
            (1, Payload::Value(v)) => lines = Some(v),
            (p, other) => panic!("unexpected output on port {p}: {other:?}"),
        }
    }
    (text.expect("a text output"), lines.expect("a lines output"))
}

#[test]
fn reads_a_clean_page_in_order() {
    let want = [
        "Kitchen lights ON 21:30",
        "The quick brown fox jumps over the lazy dog.",
        "Invoice 2026-11-22: total 1,234.50 EUR",
    ];
    let lines: Vec<Line> = want
        .iter()
        .zip([render::DEJAVU_SANS, render::DEJAVU_SERIF, render::DEJAVU_MONO])
        .map(|(text, font)| Line { text, font, size: 36.0 })
        .collect();
    let image = render::render(&Page::default(), &lines);
    let (text, _) = read(&config("ppocr-v4", ""), image);
    eprintln!("{text}");
    let want = want.join("\n");
    assert!(cer(&text, &want) <= 0.02, "CER {:.3}: {text:?}", cer(&text, &want));
}
