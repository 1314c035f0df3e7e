//! The portable reference kernels.

use crate::quant::{BlockQ4_0, BlockQ8_0, BLOCK};

/// Q8_0 · Q8_0.
pub fn dot_q8_0(w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
    w.iter()
        .zip(a)
        .map(|(w, a)| {
            let sum: i32 =
                w.qs.iter()
                    .zip(&a.qs)
                    .map(|(&x, &y)| x as i32 * y as i32)
                    .sum();
            sum as f32 * w.scale() * a.scale()
        })
        .sum()
}

/// Q4_0 · Q8_0.
pub fn dot_q4_0(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
    w.iter()
        .zip(a)
        .map(|(w, a)| {
            let mut sum = 0i32;
            for j in 0..BLOCK / 2 {
                let lo = (w.qs[j] & 0x0f) as i32 - 8;
                let hi = (w.qs[j] >> 4) as i32 - 8;
                sum += lo * a.qs[j] as i32 + hi * a.qs[j + BLOCK / 2] as i32;
            }
            sum as f32 * w.scale() * a.scale()
        })
        .sum()
}
