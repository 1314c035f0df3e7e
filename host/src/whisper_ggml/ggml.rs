//! Writing ggml: tensor records and Q8_0 quantization as whisper.cpp's
//! converter does them.

use std::io::Write;

use half::f16;

/// ggml tensor types used here.
pub(super) const GGML_F32: i32 = 0;
pub(super) const GGML_F16: i32 = 1;
pub(super) const GGML_Q8_0: i32 = 8;

/// One tensor of the output: a whisper.cpp name and f32 values (every
/// CTranslate2 float type widens to f32 exactly; f16 sources narrow back
/// without loss).
pub(super) struct Tensor {
    pub(super) name: String,
    pub(super) dims: Vec<usize>,
    pub(super) values: Vec<f32>,
    /// Stored as f32 whatever its rank (conv biases, positional embeddings).
    pub(super) keep_f32: bool,
}

pub(super) fn write_tensor(w: &mut impl Write, t: &Tensor, quantize: bool) -> std::io::Result<()> {
    let f32_storage = t.dims.len() < 2 || t.keep_f32;
    let q8 = quantize && !f32_storage && t.dims.len() == 2 && t.dims[1].is_multiple_of(32);
    let ggml_type = match (f32_storage, q8) {
        (true, _) => GGML_F32,
        (false, true) => GGML_Q8_0,
        (false, false) => GGML_F16,
    };
    for v in [t.dims.len() as i32, t.name.len() as i32, ggml_type] {
        w.write_all(&v.to_le_bytes())?;
    }
    for &d in t.dims.iter().rev() {
        w.write_all(&(d as i32).to_le_bytes())?;
    }
    w.write_all(t.name.as_bytes())?;
    match ggml_type {
        GGML_F32 => t
            .values
            .iter()
            .try_for_each(|v| w.write_all(&v.to_le_bytes())),
        GGML_F16 => t
            .values
            .iter()
            .try_for_each(|&v| w.write_all(&f16::from_f32(v).to_le_bytes())),
        _ => t.values.chunks_exact(32).try_for_each(|block| {
            let (scale, quants) = q8_0_block(block);
            w.write_all(&scale.to_le_bytes())?;
            w.write_all(&quants.map(|q| q as u8))
        }),
    }
}

/// One Q8_0 block as whisper.cpp's converter computes it: the scale is
/// amax / 127 in f32, values are divided by that f32 scale and rounded
/// half to even, and only then is the scale stored as f16.
pub(super) fn q8_0_block(block: &[f32]) -> (f16, [i8; 32]) {
    let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = amax / 127.0;
    let mut quants = [0i8; 32];
    if scale > 0.0 {
        for (q, &v) in quants.iter_mut().zip(block) {
            *q = (v / scale).round_ties_even() as i8;
        }
    }
    (f16::from_f32(scale), quants)
}
