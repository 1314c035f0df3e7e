//! `ocr` on images rendered at test time (known text), through the
//! host's real model service: accuracy (character error rate), reading
//! order, Latin and Chinese, light-on-dark, rotation; and the errors a
//! user meets (corrupt image, missing model).

use hark_plugin_vision::ocr::Ocr;
use hark_sdk::{api::Directory, testing::Harness, value_field, MessageMeta, Payload, Value};
use hark_tests::render::{self, cer, Line, Page};

/// An `ocr` config for the installed model set `set` (the harness has
/// its own, empty, models directory), plus `extra` settings.
fn config(set: &str, extra: &str) -> String {
    hark_tests::install_models(&[set]);
    let dir = hark::dirs::directory(Directory::Models).join(set);
    let files = hark_plugin_vision::ocr::MODEL_SETS
        .iter()
        .find(|s| s.0 == set)
        .unwrap();
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
    h.push(
        0,
        hark_plugin_vision::frames::image_message(MessageMeta::default(), image),
    )
    .unwrap();
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
        .zip([
            render::DEJAVU_SANS,
            render::DEJAVU_SERIF,
            render::DEJAVU_MONO,
        ])
        .map(|(text, font)| Line {
            text,
            font,
            size: 36.0,
        })
        .collect();
    let image = render::render(&Page::default(), &lines);
    let (text, _) = read(&config("ppocr-v4", ""), image);
    eprintln!("{text}");
    let want = want.join("\n");
    assert!(
        cer(&text, &want) <= 0.02,
        "CER {:.3}: {text:?}",
        cer(&text, &want)
    );
}

/// Pages of several fonts, sizes and colours, each read back within 2 %
/// character error rate (summed over the set, and per page ≤ 5 %).
#[test]
fn latin_renders_in_several_fonts_sizes_and_colours() {
    let config = config("ppocr-v4", "");
    let cases: Vec<(Page, Vec<Line>)> = vec![
        (
            Page::default(),
            vec![
                Line {
                    text: "Meeting moved to Thursday at 3 pm",
                    font: render::DEJAVU_SANS,
                    size: 28.0,
                },
                Line {
                    text: "Room 4B, second floor",
                    font: render::DEJAVU_SANS_BOLD,
                    size: 48.0,
                },
            ],
        ),
        (
            Page {
                ink: [240, 240, 240],
                paper: [25, 30, 40],
                ..Page::default()
            },
            vec![
                Line {
                    text: "Battery low: 12% remaining",
                    font: render::DEJAVU_SANS,
                    size: 40.0,
                },
                Line {
                    text: "Connect the charger now",
                    font: render::DEJAVU_SERIF,
                    size: 32.0,
                },
            ],
        ),
        (
            Page {
                width: 1000,
                height: 400,
                ..Page::default()
            },
            vec![
                Line {
                    text: "let total = price * 3 + 7;",
                    font: render::DEJAVU_MONO,
                    size: 30.0,
                },
                Line {
                    text: "Small print: terms apply",
                    font: render::DEJAVU_SERIF,
                    size: 26.0,
                },
            ],
        ),
    ];
    let (mut edits, mut chars) = (0usize, 0usize);
    for (page, lines) in cases {
        let want = lines.iter().map(|l| l.text).collect::<Vec<_>>().join("\n");
        let (got, _) = read(&config, render::render(&page, &lines));
        let e = render::edit_distance(&got, &want);
        eprintln!("{got:?} vs {want:?}: {e} edits");
        assert!(cer(&got, &want) <= 0.05, "{got:?} vs {want:?}");
        edits += e;
        chars += want.chars().count();
    }
    let total = edits as f64 / chars as f64;
    assert!(total <= 0.02, "CER {total:.3} over the set");
}

#[test]
fn a_slightly_rotated_page_keeps_its_lines_in_order() {
    let want = [
        "First line of the note",
        "Second line below it",
        "And a third one",
    ];
    let lines = render::lines(&want, render::DEJAVU_SANS, 40.0);
    let page = Page {
        degrees: 4.0,
        ..Page::default()
    };
    let (got, value) = read(&config("ppocr-v4", ""), render::render(&page, &lines));
    let want = want.join("\n");
    assert!(
        cer(&got, &want) <= 0.02,
        "CER {:.3}: {got:?}",
        cer(&got, &want)
    );
    // The boxes follow the tilt: the right end of each line is higher.
    let Value::List(items) = value else {
        panic!("lines is a list")
    };
    assert_eq!(items.len(), 3);
    for item in items.iter() {
        let Some(Value::List(c)) = value_field(item, "box") else {
            panic!("a line is a map with a box: {item:?}")
        };
        let num = |v: &Value| match v {
            Value::Float(f) => *f,
            _ => panic!("a coordinate"),
        };
        let (left_top_y, right_top_y) = (num(&c[1]), num(&c[3]));
        assert!(right_top_y < left_top_y - 5.0, "box {c:?} is not tilted");
    }
}

#[test]
fn chinese_and_latin_on_one_page() {
    if render::font(render::NOTO_CJK).is_none() {
        panic!(
            "{} is missing: `./x setup` installs fonts-noto-cjk",
            render::NOTO_CJK
        );
    }
    let want = [
        "今天天气很好，我们去公园散步。",
        "Hark reads 中文 and English",
    ];
    let lines = render::lines(&want, render::NOTO_CJK, 40.0);
    let (got, _) = read(
        &config("ppocr-v4", ""),
        render::render(&Page::default(), &lines),
    );
    let want = want.join("\n");
    // Spaces between scripts are a matter of taste: compare without them.
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let rate = cer(&squeeze(&got), &squeeze(&want));
    assert!(rate <= 0.02, "CER {rate:.3}: {got:?}");
}

#[test]
fn an_upside_down_page_is_turned_over_by_the_classifier() {
    let want = ["Fragile: this side up", "Handle with care"];
    let lines = render::lines(&want, render::DEJAVU_SANS, 40.0);
    let page = Page {
        width: 900,
        height: 300,
        ..Page::default()
    };
    let image = image::imageops::rotate180(&render::render(&page, &lines));
    let (got, _) = read(&config("ppocr-v4", ", classify: true"), image);
    // Upside down, rows come out bottom first; each row is read right way up.
    let got_rows: Vec<&str> = got.lines().rev().collect();
    let got = got_rows.join("\n");
    let want = want.join("\n");
    assert!(
        cer(&got, &want) <= 0.02,
        "CER {:.3}: {got:?}",
        cer(&got, &want)
    );
}

#[test]
fn the_tiny_set_reads_too() {
    let want = ["Kitchen lights ON 21:30", "Take the second exit"];
    let lines = render::lines(&want, render::DEJAVU_SANS, 36.0);
    let (got, _) = read(
        &config("ppocr-v6-tiny", ""),
        render::render(&Page::default(), &lines),
    );
    let want = want.join("\n");
    assert!(
        cer(&got, &want) <= 0.02,
        "CER {:.3}: {got:?}",
        cer(&got, &want)
    );
}

#[test]
fn a_blank_image_gives_empty_text() {
    let image = image::RgbImage::from_pixel(640, 480, image::Rgb([255, 255, 255]));
    let (got, value) = read(&config("ppocr-v4", ""), image);
    assert_eq!(got, "");
    assert_eq!(value, Value::List(Default::default()));
}

#[test]
fn a_missing_model_is_named_with_the_fix() {
    let err = Harness::with_inference::<Ocr>(
        "(det: \"/nowhere/det.onnx\", rec: \"/nowhere/rec.onnx\")",
        hark::inference::vtable(),
    )
    .unwrap_err();
    assert!(
        err.message.contains("/nowhere/det.onnx") && err.message.contains("missing"),
        "{err:?}"
    );
    assert!(err.hint.contains("hark models fetch ppocr-v4"), "{err:?}");
}

#[test]
fn a_model_without_a_character_table_is_refused() {
    // The angle classifier as a "recogniser": a real ONNX file that takes
    // 48-pixel lines but has no character table.
    hark_tests::install_models(&["ppocr-v4"]);
    let dir = hark::dirs::directory(Directory::Models).join("ppocr-v4");
    let det = dir.join("ch_PP-OCRv4_det_infer.onnx").display().to_string();
    let cls = dir
        .join("ch_ppocr_mobile_v2.0_cls_infer.onnx")
        .display()
        .to_string();
    let err = Harness::with_inference::<Ocr>(
        &format!("(det: {det:?}, rec: {cls:?})"),
        hark::inference::vtable(),
    )
    .unwrap_err();
    assert!(err.message.contains("no `character` entry"), "{err:?}");
}
