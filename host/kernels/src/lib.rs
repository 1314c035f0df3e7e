//! **Internal to Hark, not a public API.** The inference core's compute:
//! quantized weight formats and the kernels that use them, with the SIMD
//! variant picked at run time for the CPU at hand.
//!
//! # Brief overview
//!
//! - [`quant`]: the block formats, ggml-compatible: [`quant::BlockQ8_0`]
//!   (32 × i8 + an f16 scale) and [`quant::BlockQ4_0`] (32 × 4 bits + an f16
//!   scale), with quantize/dequantize and their error bounds.
//! - [`QuantMatrix`]: a weight matrix in one of the [`QuantFormat`]s
//!   (Q8_0, Q4_0, i8 per row), repacked into 16-row panels for the
//!   kernels; [`QuantMatrix::matmul`] multiplies it by f32 activations,
//!   which are quantized on the fly into an [`Activations`] buffer.
//! - [`Kernels`]: the kernels of one [`Variant`] (scalar, AVX2, AVX-512
//!   VNNI). [`Kernels::best`] picks the fastest the CPU supports;
//!   `HARK_KERNELS=scalar|avx2|avx512vnni` forces one.
//! - [`ThreadPool`]: splits a product's panels between threads that sleep
//!   rather than spin (one thread, no pool, is the default).
//! - [`ops`]: the f32 operations a small transformer needs (layer norm,
//!   softmax, GELU, residual add, masked mean-pool).
//!
//! **Architecture Invariant:** no IO, no global state, no allocation
//! inside a kernel: callers own every buffer.
//! **Architecture Invariant:** the scalar variant is the reference; every
//! other variant is tested against it on random data and awkward shapes.

mod kernels;
mod matrix;
pub mod ops;
pub mod quant;
#[cfg(test)]
mod testutil;
mod threads;

pub use kernels::{cpu_has, Kernels, Variant, CPU_FEATURES};
pub use matrix::{Activations, QuantFormat, QuantMatrix, PANEL};
pub use threads::ThreadPool;
