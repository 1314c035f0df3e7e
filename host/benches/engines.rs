//! tract against ONNX Runtime on the models Hark runs through its model
//! service, in one run, each engine loading the model as the plugins do:
//! Silero VAD per 32 ms frame, openWakeWord per 80 ms chunk (its three
//! models), PP-OCRv4's detector on a page and recogniser on a line. The
//! faster engine per model is what the catalog's `preferred_engine`
//! records, so that `HARK_ENGINE=auto` picks it.
//!
//!   cargo bench -p hark --bench engines        (./x bench-engines)

use std::{path::Path, time::Instant};

use hark::inference::models::{self, Engine, EngineChoice, Model};
use hark_plugin_api::{DType, Directory, ModelOptions, Tensor, TensorSpec};

fn main() {
    let dir = hark::dirs::directory(Directory::Models);
    for name in ["onnxruntime", "silero-vad", "openwakeword", "ppocr-v4"] {
        hark::catalog::fetch(hark::catalog::find(name).unwrap(), &dir, false)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    println!(
        "model threads: {} (HARK_MODEL_THREADS); median of runs after a warm-up\n",
        models::model_threads()
    );
    println!("| model | one run on | tract | onnxruntime | tract / onnxruntime |");
    println!("|---|---|---:|---:|---:|");

    let silero = dir.join("silero-vad/silero_vad_openvino_16k.onnx");
    compare("Silero VAD", "a 32 ms frame", 2000, &[&silero], &[], |m| {
        m[0].run(vec![
            Tensor::f32(&[1, 576], chirp(576, 0.3)),
            Tensor::f32(&[2, 1, 128], vec![0.0; 256]),
        ])
    });

    let oww = dir.join("openwakeword");
    compare(
        "openWakeWord (mel + embedding + hey jarvis)",
        "an 80 ms chunk",
        300,
        &[
            &oww.join("melspectrogram.onnx"),
            &oww.join("embedding_model.onnx"),
            &oww.join("hey_jarvis_v0.1.onnx"),
        ],
        &[],
        |m| {
            m[0].run(vec![Tensor::f32(&[1, 1760], chirp(1760, 8000.0))])?;
            m[1].run(vec![Tensor::f32(&[1, 76, 32, 1], vec![0.5; 76 * 32])])?;
            m[2].run(vec![Tensor::f32(&[1, 16, 96], vec![0.1; 16 * 96])])
        },
    );

    let ocr = dir.join("ppocr-v4");
    let (w, h) = (960, 544);
    compare(
        "PP-OCRv4 detector",
        &format!("a {w}×{h} page"),
        10,
        &[&ocr.join("ch_PP-OCRv4_det_infer.onnx")],
        &[image_spec(w, h)],
        |m| {
            m[0].run(vec![Tensor::f32(
                &[1, 3, h as usize, w as usize],
                page(w, h),
            )])
        },
    );
    compare(
        "PP-OCRv4 recogniser",
        "a 48×320 line",
        30,
        &[&ocr.join("ch_PP-OCRv4_rec_infer.onnx")],
        &[image_spec(320, 48)],
        |m| m[0].run(vec![Tensor::f32(&[1, 3, 48, 320], page(320, 48))]),
    );
}

/// Times `run` on `paths` loaded by each engine; prints a table row.
fn compare(
    name: &str,
    what: &str,
    runs: usize,
    paths: &[&Path],
    facts: &[TensorSpec],
    run: impl Fn(&[std::sync::Arc<Model>]) -> anyhow::Result<Vec<Tensor>>,
) {
    let options = ModelOptions {
        inputs: facts.iter().cloned().collect(),
    };
    let mut medians = Vec::new();
    for engine in [Engine::Tract, Engine::OnnxRuntime] {
        let loaded: Vec<_> = paths
            .iter()
            .map(|p| {
                models::load_with(p, &options, EngineChoice::Only(engine))
                    .unwrap_or_else(|e| panic!("{} on {}: {e:#}", p.display(), engine.name()))
            })
            .collect();
        for _ in 0..3.max(runs / 20) {
            run(&loaded).expect("warm-up");
        }
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                run(&loaded).expect("run");
                t.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        medians.push(times[runs / 2]);
    }
    let show = |s: f64| {
        if s < 1e-3 {
            format!("{:.0} µs", s * 1e6)
        } else {
            format!("{:.1} ms", s * 1e3)
        }
    };
    println!(
        "| {name} | {what} | {} | {} | {:.2} |",
        show(medians[0]),
        show(medians[1]),
        medians[0] / medians[1]
    );
}

fn image_spec(width: u32, height: u32) -> TensorSpec {
    TensorSpec {
        name: "x".into(),
        dtype: DType::F32,
        shape: vec![1i64, 3, i64::from(height), i64::from(width)].into(),
    }
}

/// A sweep from 200 Hz up, at `scale`.
fn chirp(n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            scale * (2.0 * std::f32::consts::PI * (200.0 + 2000.0 * t) * t).sin()
        })
        .collect()
}

/// Normalised pixels of dark bars on a light page (text-like strokes).
fn page(width: u32, height: u32) -> Vec<f32> {
    let (w, h) = (width as usize, height as usize);
    let mut out = vec![0.0f32; 3 * w * h];
    for c in 0..3 {
        for y in 0..h {
            for x in 0..w {
                let ink = (y / 8) % 4 == 1 && (x / 5) % 3 != 0;
                out[c * w * h + y * w + x] = if ink { -1.8 } else { 2.0 };
            }
        }
    }
    out
}
