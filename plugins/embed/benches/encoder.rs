//! MiniLM-L6 encoder: the plugin's encoder on the host's kernels (Q8_0 and
//! f32 weights) against the same model as ONNX on tract (f32), in one
//! run, on a typical request and a long one. Tract runs twice: with the
//! file's symbolic sequence length (what a plugin gets for any input), and
//! with the input shapes fixed to the sentence's length, so that tract
//! optimises the graph for exactly that shape (its best case).
//!
//! `cargo bench -p hark-plugin-embed --bench encoder` (models:
//! `hark models fetch minilm-l6 minilm-l6-onnx`).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hark::{catalog, inference::models};
use hark_minilm::{Encoder, Tokenizer};
use hark_sdk::{
    api::{DType, Directory, ModelOptions, Tensor, TensorSpec},
    inference::{Inference, WeightFormat},
};

fn installed(name: &str) -> std::path::PathBuf {
    let dir = hark::dirs::directory(Directory::Models);
    catalog::fetch(catalog::find(name).unwrap(), &dir, false).expect("fetching the model");
    dir.join(name)
}

const TEXTS: [(&str, &str); 2] = [
    ("short", "add this song to my playlist called road trip"),
    (
        "long",
        "book a table for four people at an italian restaurant near the central station \
         tomorrow evening at half past seven and tell me if they have vegetarian dishes",
    ),
];

fn encoder(c: &mut Criterion) {
    let dir = installed("minilm-l6");
    let core = Inference::from_vtable(hark::inference::vtable());
    let tokenizer =
        Tokenizer::from_vocab(&std::fs::read_to_string(dir.join("vocab.txt")).unwrap()).unwrap();
    let q8 = Encoder::load(core, &dir.join("model.safetensors"), WeightFormat::Q8_0).unwrap();
    let f32 = Encoder::load(core, &dir.join("model.safetensors"), WeightFormat::F32).unwrap();
    let onnx_path = installed("minilm-l6-onnx").join("model.onnx");
    let onnx = models::load(&onnx_path, &ModelOptions::default()).unwrap();
    let mut group = c.benchmark_group("minilm_encoder");
    for (name, text) in TEXTS {
        let ids = tokenizer.encode(text, 128);
        let n = ids.len();
        let label = format!("{name}/{n}_tokens");
        group.bench_with_input(BenchmarkId::new("hark_q8_0", &label), &ids, |b, ids| {
            b.iter(|| q8.hidden_states(ids).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("hark_f32", &label), &ids, |b, ids| {
            b.iter(|| f32.hidden_states(ids).unwrap())
        });
        let wide: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
        let fixed = ModelOptions {
            inputs: onnx
                .inputs
                .iter()
                .map(|spec| TensorSpec {
                    name: spec.name.clone(),
                    dtype: DType::I64,
                    shape: vec![1, n as i64].into(),
                })
                .collect::<Vec<_>>()
                .into(),
        };
        let onnx_fixed = models::load(&onnx_path, &fixed).unwrap();
        for (variant, model) in [("tract_f32", &onnx), ("tract_f32_fixed_shape", &onnx_fixed)] {
            group.bench_with_input(BenchmarkId::new(variant, &label), &wide, |b, wide| {
                b.iter(|| {
                    let inputs = model
                        .inputs
                        .iter()
                        .map(|spec| match spec.name.as_str() {
                            "input_ids" => Tensor::i64(&[1, n], wide.clone()),
                            "attention_mask" => Tensor::i64(&[1, n], vec![1; n]),
                            _ => Tensor::i64(&[1, n], vec![0; n]),
                        })
                        .collect();
                    model.run(inputs).unwrap()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, encoder);
criterion_main!(benches);
