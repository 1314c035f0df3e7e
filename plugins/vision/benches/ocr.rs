//! OCR time per image against RapidOCR (the same PP-OCRv4 models on
//! onnxruntime), in one run, on a screenshot-like 1280 × 720 image with
//! five lines of known text rendered here.
//!
//! ```text
//! ./x bench-ocr                       # makes the Python peer's venv, then runs this
//! HARK_OCR_PEER=/path/to/python cargo bench -p hark-plugin-vision --bench ocr
//! ```
//!
//! Without `HARK_OCR_PEER` (a Python with `rapidocr-onnxruntime==1.4.4`)
//! only Hark is timed. Both read the same PNG; both skip the angle
//! classifier; each gets a warm-up read (Hark's plans for the image's
//! shapes are built then), then `RUNS` timed reads; medians are compared.

use std::{path::Path, process::Command, time::Instant};

use hark_plugin_vision::ocr::{rows, text, Engine, OcrSettings};
use hark_sdk::{api::Directory, inference::Inference};
use hark_tests::render::{self, cer, Line, Page};

const RUNS: usize = 10;

const LINES: [&str; 5] = [
    "Quarterly report: revenue up 12% to 4.2 million",
    "Meeting with the design team on Friday at 10:30",
    "Please send the signed contract before Monday",
    "Server status: all systems operational",
    "Next release: version 2.4.1 (build 7781)",
];

fn median(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms[ms.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    hark_tests::install_models(&["ppocr-v4"]);
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<Line> = LINES
        .iter()
        .zip([
            render::DEJAVU_SANS,
            render::DEJAVU_SERIF,
            render::DEJAVU_SANS_BOLD,
            render::DEJAVU_MONO,
            render::DEJAVU_SANS,
        ])
        .zip([34.0, 30.0, 32.0, 28.0, 36.0])
        .map(|((text, font), size)| Line { text, font, size })
        .collect();
    let page = Page {
        width: 1280,
        height: 720,
        ..Page::default()
    };
    let image = render::render(&page, &lines);
    let png = render::save_png(&image, dir.path(), "screen.png");
    let truth = LINES.join("\n");

    let settings = OcrSettings::default();
    let models = hark::dirs::directory(Directory::Models);
    let core = Inference::from_vtable(hark::inference::vtable());
    // Read the PNG as the pipeline would (decoding is not timed: the
    // peer's `cv2.imread` is not either).
    let decoded = image::open(&png).unwrap().into_rgb8();
    let threads = std::env::var("HARK_MODEL_THREADS").unwrap_or_else(|_| "all cores".into());
    println!("ocr/1280x720_5_lines (model threads: {threads})");
    // The engine `auto` picks (onnxruntime when installed: the catalog's
    // preference for these models), then tract alone, in the same run.
    hark_tests::install_models(&["onnxruntime"]);
    let mut hark_ms = f64::NAN;
    for choice in ["auto", "tract"] {
        // SAFETY (edition 2021: a safe call): no other thread reads the
        // environment while the engine choice changes.
        std::env::set_var("HARK_ENGINE", choice);
        let mut engine = Engine::new(core, settings.files(&models), settings.engine()).unwrap();
        let ours = text(&rows(engine.read(&decoded).unwrap()));
        let mut times = Vec::with_capacity(RUNS);
        let mut parts = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..RUNS {
            let started = Instant::now();
            let boxes = engine.read(&decoded).unwrap();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(boxes);
            let t = engine.last_timings();
            for (part, d) in parts.iter_mut().zip([t.detector, t.boxes, t.lines]) {
                part.push(d.as_secs_f64() * 1000.0);
            }
        }
        let total = median(times);
        let [det, boxes, lines] = parts.map(median);
        println!(
            "  hark PP-OCRv4, HARK_ENGINE={choice}: median {total:.1} ms over {RUNS} runs (detector {det:.1}, boxes {boxes:.1}, lines {lines:.1}), CER {:.4}",
            cer(&ours, &truth)
        );
        if choice == "auto" {
            hark_ms = total;
        }
    }
    std::env::remove_var("HARK_ENGINE");

    // The smaller set, for a choice of speed over the peer's models.
    hark_tests::install_models(&["ppocr-v6-tiny"]);
    let tiny = OcrSettings {
        models: "ppocr-v6-tiny".into(),
        ..OcrSettings::default()
    };
    let mut tiny_engine = Engine::new(core, tiny.files(&models), tiny.engine()).unwrap();
    let tiny_text = text(&rows(tiny_engine.read(&decoded).unwrap()));
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        std::hint::black_box(tiny_engine.read(&decoded).unwrap());
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "  hark PP-OCRv6 tiny, HARK_ENGINE=auto: median {:.1} ms, CER {:.4}",
        median(times),
        cer(&tiny_text, &truth)
    );

    let Ok(python) = std::env::var("HARK_OCR_PEER") else {
        println!("  rapidocr: skipped (set HARK_OCR_PEER to a Python with rapidocr-onnxruntime==1.4.4, or run ./x bench-ocr)");
        return;
    };
    // cargo runs benchmarks in the package's directory: a relative path
    // is taken from the workspace's root, where people type it.
    let python = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(python);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/rapidocr_peer.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&png)
        .arg(RUNS.to_string())
        .output()
        .expect("running the Python peer");
    assert!(
        out.status.success(),
        "the peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the peer's JSON");
    let peer_ms = report["median_ms"].as_f64().unwrap();
    let peer_text = report["text"].as_str().unwrap();
    println!(
        "  rapidocr-onnxruntime 1.4.4 (onnxruntime {}, {} threads): median {peer_ms:.1} ms (detector {:.1}, recogniser {:.1}), CER {:.4}",
        report["onnxruntime"].as_str().unwrap_or("?"),
        report["threads"],
        report["det_ms"].as_f64().unwrap_or(f64::NAN),
        report["rec_ms"].as_f64().unwrap_or(f64::NAN),
        cer(peer_text, &truth)
    );
    println!(
        "  ratio rapidocr / hark (auto): {:.2} (above 1: hark is faster)",
        peer_ms / hark_ms
    );
}
