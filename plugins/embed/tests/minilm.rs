//! `minilm` on the host's kernels, checked against the same model run as
//! ONNX by the host's model service (tract), and on meaning.

use std::path::PathBuf;

use hark::{catalog, inference::models};
use hark_plugin_embed::minilm::{MiniLm, Tokenizer, DIM};
use hark_sdk::{
    api::{Directory, ModelOptions, Tensor, TensorData},
    testing::Harness,
    text_message, MessageMeta, Payload, Value,
};

fn installed(name: &str) -> PathBuf {
    let dir = hark::dirs::directory(Directory::Models);
    catalog::fetch(catalog::find(name).unwrap(), &dir, false).expect("fetching the model");
    dir.join(name)
}

const SENTENCES: [&str; 4] = [
    "turn on the kitchen lights",
    "switch the lights in the kitchen on, please",
    "what will the weather be like tomorrow?",
    "set a timer for ten minutes",
];

/// Embeddings of `SENTENCES` from the plugin, with linear layers in `format`.
fn plugin_embeddings(format: &str) -> Vec<Vec<f32>> {
    let config = format!(
        "(model: {:?}, format: {format:?})",
        installed("minilm-l6").display().to_string()
    );
    let mut h = Harness::with_inference::<MiniLm>(&config, hark::inference::vtable()).unwrap();
    for s in SENTENCES {
        h.push(0, text_message(MessageMeta::default(), s)).unwrap();
    }
    h.finish()
        .unwrap()
        .into_iter()
        .map(|(_, m)| {
            let Payload::Value(Value::Map(entries)) = m.payload else {
                panic!("not a map")
            };
            let embedding = entries
                .iter()
                .find(|e| e.key.as_str() == "embedding")
                .unwrap();
            let Value::List(values) = &embedding.value else {
                panic!("not a list")
            };
            values
                .iter()
                .map(|v| match v {
                    Value::Float(f) => *f as f32,
                    _ => panic!("not a float"),
                })
                .collect()
        })
        .collect()
}

/// Embeddings of `SENTENCES` from the ONNX export, through the model service.
fn onnx_embeddings() -> Vec<Vec<f32>> {
    let tokenizer = Tokenizer::from_vocab(
        &std::fs::read_to_string(installed("minilm-l6").join("vocab.txt")).unwrap(),
    )
    .unwrap();
    let model = models::load(
        &installed("minilm-l6-onnx").join("model.onnx"),
        &ModelOptions::default(),
    )
    .unwrap();
    SENTENCES
        .iter()
        .map(|s| {
            let ids: Vec<i64> = tokenizer
                .encode(s, 128)
                .iter()
                .map(|&i| i64::from(i))
                .collect();
            let n = ids.len();
            let by_name = |name: &str| match name {
                "input_ids" => Tensor::i64(&[1, n], ids.clone()),
                "attention_mask" => Tensor::i64(&[1, n], vec![1; n]),
                _ => Tensor::i64(&[1, n], vec![0; n]),
            };
            let inputs = model
                .inputs
                .iter()
                .map(|spec| by_name(spec.name.as_str()))
                .collect();
            let out = model.run(inputs).unwrap();
            let TensorData::F32(hidden) = &out[0].data else {
                panic!("not f32")
            };
            let mut pooled = vec![0.0f32; DIM];
            for row in hidden.chunks(DIM) {
                pooled
                    .iter_mut()
                    .zip(row)
                    .for_each(|(p, v)| *p += v / n as f32);
            }
            let norm = pooled.iter().map(|v| v * v).sum::<f32>().sqrt();
            pooled.iter().map(|v| v / norm).collect()
        })
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn matches_the_onnx_model_in_every_format() {
    let reference = onnx_embeddings();
    for (format, minimum) in [
        ("f32", 0.999),
        ("q8_0", 0.998),
        ("i8row", 0.995),
        ("q4_0", 0.95),
    ] {
        let ours = plugin_embeddings(format);
        for (i, (a, b)) in ours.iter().zip(&reference).enumerate() {
            let c = cosine(a, b);
            eprintln!("{format} sentence {i}: cosine {c:.5}");
            assert!(
                c >= minimum,
                "{format}: sentence {i} cosine {c} < {minimum}"
            );
            assert!((cosine(a, a) - 1.0).abs() < 1e-4, "unit length");
        }
    }
}

#[test]
fn similar_requests_are_closer_than_different_ones() {
    let e = plugin_embeddings("q8_0");
    let same = cosine(&e[0], &e[1]);
    assert!(same > 0.7, "paraphrases: {same}");
    for other in [2, 3] {
        let different = cosine(&e[0], &e[other]);
        assert!(
            same > different + 0.3,
            "{same} vs {different} ({})",
            SENTENCES[other]
        );
    }
}

#[test]
fn a_missing_model_names_the_fetch_command() {
    let error =
        Harness::with_inference::<MiniLm>("(model: \"/nonexistent\")", hark::inference::vtable())
            .unwrap_err();
    assert!(
        error.hint.contains("hark models fetch minilm-l6"),
        "{}",
        error.hint
    );
}
