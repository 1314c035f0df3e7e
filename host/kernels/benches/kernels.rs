//! The inference core's products on MiniLM's shapes against two f32
//! baselines measured in the same run: the `matrixmultiply` crate (a
//! well-tuned portable f32 GEMM) and tract (the ONNX engine Hark lends
//! plugins, running a one-node matmul graph).
//!
//! `cargo bench -p hark-kernels --bench kernels` (or `./x bench`);
//! `./x bench-table` turns criterion's results into the table in
//! docs/performance.md.
//!
//! Throughput is in elements = multiply-adds, so criterion's "Gelem/s"
//! reads as 10⁹ MAC/s (× 2 for GOP/s). Each product includes quantizing
//! its activations, as a real call does.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hark_kernels::{Activations, Kernels, QuantFormat, QuantMatrix, Variant};
use tract_core::{internal::*, ops::einsum::EinSum};

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

/// `y (n × rows) = x (n × cols) · Wᵀ` as a tract plan, W constant.
fn tract_plan(
    w: &[f32],
    rows: usize,
    cols: usize,
    n: usize,
) -> TractResult<std::sync::Arc<TypedSimplePlan>> {
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact([n, cols]))?;
    let weights = tract_ndarray::Array2::from_shape_vec((rows, cols), w.to_vec())?;
    let w = model.add_const("w", Tensor::from(weights))?;
    let axes: AxesMapping = "nk,mk->nm".parse()?;
    let y = model.wire_node("matmul", EinSum::new(axes, f32::datum_type()), &[x, w])?;
    model.select_output_outlets(&y)?;
    model.into_optimized()?.into_runnable()
}

fn products(c: &mut Criterion) {
    let (kernels, _) = Kernels::best();
    let avx2 = Kernels::for_variant(Variant::Avx2);
    for (rows, cols) in [(384, 384), (1536, 384), (384, 1536)] {
        let w = random(rows * cols, 1);
        for n in [1usize, 8, 32, 128] {
            let x = random(n * cols, 2);
            let mut y = vec![0.0f32; n * rows];
            let mut group = c.benchmark_group(format!("{rows}x{cols}/n={n}"));
            group.throughput(Throughput::Elements((rows * cols * n) as u64));
            group.warm_up_time(Duration::from_millis(300));
            group.measurement_time(Duration::from_millis(1200));
            group.sample_size(30);
            for format in QuantFormat::ALL {
                let m = QuantMatrix::from_f32(&w, rows, cols, format);
                let mut acts = Activations::new();
                let id = BenchmarkId::new(format.name(), kernels.variant().name());
                group.bench_function(id, |b| {
                    b.iter(|| m.matmul(&kernels, &x, &mut y, &mut acts, None))
                });
                if format == QuantFormat::Q8_0 {
                    if let Some(avx2) = avx2.filter(|k| k.variant() != kernels.variant()) {
                        let id = BenchmarkId::new(format.name(), avx2.variant().name());
                        group.bench_function(id, |b| {
                            b.iter(|| m.matmul(&avx2, &x, &mut y, &mut acts, None))
                        });
                    }
                }
            }
            group.bench_function(BenchmarkId::new("f32", "matrixmultiply"), |b| {
                b.iter(|| unsafe {
                    // SAFETY: x is n × cols, w is rows × cols (read as its
                    // transpose through the strides), y is n × rows.
                    matrixmultiply::sgemm(
                        n,
                        cols,
                        rows,
                        1.0,
                        x.as_ptr(),
                        cols as isize,
                        1,
                        w.as_ptr(),
                        1,
                        cols as isize,
                        0.0,
                        y.as_mut_ptr(),
                        rows as isize,
                        1,
                    )
                })
            });
            let plan = tract_plan(&w, rows, cols, n).expect("tract plan");
            let input =
                Tensor::from(tract_ndarray::Array2::from_shape_vec((n, cols), x.clone()).unwrap())
                    .into_tvalue();
            group.bench_function(BenchmarkId::new("f32", "tract"), |b| {
                b.iter(|| plan.run(tvec![input.clone()]).unwrap())
            });
            group.finish();
        }
    }
}

criterion_group!(benches, products);
criterion_main!(benches);
