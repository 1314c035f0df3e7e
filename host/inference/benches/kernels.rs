//! Quantized products on MiniLM's shapes, every variant the CPU supports.
//!
//! `cargo bench -p hark-inference --bench kernels`
//!
//! Throughput is reported in elements (multiply-adds) per second, so
//! criterion's "Melem/s" reads as 10⁶ MAC/s (× 2 for OP/s).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hark_inference::{Kernels, QuantFormat, QuantMatrix, Variant};

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

fn products(c: &mut Criterion) {
    let shapes = [(384, 384), (1536, 384), (384, 1536)];
    for (rows, cols) in shapes {
        let w = random(rows * cols, 1);
        for n in [1usize, 8, 32, 128] {
            let x = random(n * cols, 2);
            let mut group = c.benchmark_group(format!("{rows}x{cols} n={n}"));
            group.throughput(Throughput::Elements((rows * cols * n) as u64));
            for format in [QuantFormat::Q8_0, QuantFormat::Q4_0] {
                let m = QuantMatrix::from_f32(&w, rows, cols, format);
                for variant in Variant::ALL {
                    let Some(kernels) = Kernels::for_variant(variant) else {
                        continue;
                    };
                    let mut y = vec![0.0; n * rows];
                    let mut scratch = Vec::new();
                    let id = BenchmarkId::new(format!("{format:?}"), variant.name());
                    group.bench_function(id, |b| {
                        b.iter(|| m.matmul(&kernels, &x, &mut y, &mut scratch))
                    });
                }
            }
            group.finish();
        }
    }
}

criterion_group!(benches, products);
criterion_main!(benches);
