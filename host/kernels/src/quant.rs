//! Block-quantized formats, laid out exactly as ggml's so that weights
//! quantized by other tools can be memory-mapped as they are.
//!
//! A row of `k` values is cut into blocks of [`BLOCK`] values (the last one
//! zero-padded when `k` is not a multiple of 32); each block stores its own
//! f16 scale `d`.
//!
//! Error bounds, for a block whose largest magnitude is `amax`:
//! - Q8_0: `d = amax / 127`, values `round(x / d)`; each value is off by at
//!   most `d / 2 = amax / 254`, plus the f16 rounding of `d` (relative
//!   2⁻¹¹, i.e. at most `amax / 2048` on the largest value).
//! - Q4_0: `d = max / -8` where `max` is the value of largest magnitude;
//!   values `x / d + 8` clamped to 0..=15. The levels are `-8d ..= 7d`, so
//!   values within that range are off by at most `|d| / 2 = amax / 16`, but
//!   values of the other sign than `max` beyond `7|d|` are clamped: the
//!   worst case is `amax / 8`, plus the f16 rounding of `d`. (This is
//!   ggml's Q4_0, kept as is for compatibility.)

use half::f16;

/// Values per block.
pub const BLOCK: usize = 32;

/// 32 signed 8-bit values and their scale (ggml `block_q8_0`, 34 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockQ8_0 {
    /// Scale, as f16 bits.
    pub d: u16,
    /// Values: `x ≈ qs[i] * d`.
    pub qs: [i8; BLOCK],
}

/// 32 unsigned 4-bit values and their scale (ggml `block_q4_0`, 18 bytes).
///
/// Byte `j` holds value `j` in its low nibble and value `j + 16` in its
/// high nibble; `x ≈ (nibble - 8) * d`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockQ4_0 {
    /// Scale, as f16 bits.
    pub d: u16,
    /// Packed nibbles.
    pub qs: [u8; BLOCK / 2],
}

const _: () = assert!(std::mem::size_of::<BlockQ8_0>() == 34);
const _: () = assert!(std::mem::size_of::<BlockQ4_0>() == 18);

impl BlockQ8_0 {
    /// An all-zero block.
    pub const ZERO: BlockQ8_0 = BlockQ8_0 {
        d: 0,
        qs: [0; BLOCK],
    };

    /// The scale as f32.
    pub fn scale(&self) -> f32 {
        f16::from_bits(self.d).to_f32()
    }
}

impl BlockQ4_0 {
    /// An all-zero block (scale 0).
    pub const ZERO: BlockQ4_0 = BlockQ4_0 {
        d: 0,
        qs: [0x88; BLOCK / 2],
    };

    /// The scale as f32.
    pub fn scale(&self) -> f32 {
        f16::from_bits(self.d).to_f32()
    }
}

/// Blocks needed for a row of `k` values.
pub fn blocks_for(k: usize) -> usize {
    k.div_ceil(BLOCK)
}

/// The `i`-th block of `x`, zero-padded to 32 values.
fn chunk(x: &[f32], i: usize) -> [f32; BLOCK] {
    let mut block = [0.0; BLOCK];
    let start = i * BLOCK;
    let end = (start + BLOCK).min(x.len());
    block[..end - start].copy_from_slice(&x[start..end]);
    block
}

/// Quantizes `x` into `out` (`blocks_for(x.len())` blocks).
pub fn quantize_row_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    assert_eq!(
        out.len(),
        blocks_for(x.len()),
        "output must hold blocks_for(k) blocks"
    );
    for (i, block) in out.iter_mut().enumerate() {
        let values = chunk(x, i);
        let amax = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d > 0.0 { 1.0 / d } else { 0.0 };
        block.d = f16::from_f32(d).to_bits();
        for (q, v) in block.qs.iter_mut().zip(values) {
            *q = (v * id).round() as i8;
        }
    }
}

/// Dequantizes `k` values from `blocks` into `out` (`out.len() == k`).
pub fn dequantize_row_q8_0(blocks: &[BlockQ8_0], out: &mut [f32]) {
    assert_eq!(blocks.len(), blocks_for(out.len()));
    for (i, v) in out.iter_mut().enumerate() {
        let block = &blocks[i / BLOCK];
        *v = block.qs[i % BLOCK] as f32 * block.scale();
    }
}

/// Quantizes `x` into `out` (`blocks_for(x.len())` blocks).
pub fn quantize_row_q4_0(x: &[f32], out: &mut [BlockQ4_0]) {
    assert_eq!(
        out.len(),
        blocks_for(x.len()),
        "output must hold blocks_for(k) blocks"
    );
    for (i, block) in out.iter_mut().enumerate() {
        let values = chunk(x, i);
        // The value of largest magnitude, with its sign: it maps to -8,
        // which uses the whole 4-bit range on that side.
        let max = values
            .iter()
            .fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        block.d = f16::from_f32(d).to_bits();
        let q = |v: f32| ((v * id + 8.5) as i32).clamp(0, 15) as u8;
        for j in 0..BLOCK / 2 {
            block.qs[j] = q(values[j]) | (q(values[j + BLOCK / 2]) << 4);
        }
    }
}

/// Dequantizes `k` values from `blocks` into `out` (`out.len() == k`).
pub fn dequantize_row_q4_0(blocks: &[BlockQ4_0], out: &mut [f32]) {
    assert_eq!(blocks.len(), blocks_for(out.len()));
    for (i, v) in out.iter_mut().enumerate() {
        let block = &blocks[i / BLOCK];
        let j = i % BLOCK;
        let nibble = if j < BLOCK / 2 {
            block.qs[j] & 0x0f
        } else {
            block.qs[j - BLOCK / 2] >> 4
        };
        *v = (nibble as i32 - 8) as f32 * block.scale();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::random;

    /// Quantizes and dequantizes rows of awkward lengths through `round_trip`
    /// and checks every value against `bound(amax of its block)`.
    fn check_round_trip(
        seed: u64,
        round_trip: impl Fn(&[f32], &mut [f32]),
        bound: impl Fn(f32) -> f32,
    ) {
        for k in [1, 31, 32, 33, 100, 384] {
            let x = random(k, seed + k as u64, 3.0);
            let mut y = vec![0.0; k];
            round_trip(&x, &mut y);
            for (i, (a, b)) in x.iter().zip(&y).enumerate() {
                let block = &x[i / BLOCK * BLOCK..((i / BLOCK + 1) * BLOCK).min(k)];
                let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                assert!(
                    (a - b).abs() <= bound(amax),
                    "k={k} i={i}: {a} vs {b} (bound {})",
                    bound(amax)
                );
            }
        }
    }

    #[test]
    fn q8_0_round_trip_is_within_its_bound() {
        let round_trip = |x: &[f32], y: &mut [f32]| {
            let mut blocks = vec![BlockQ8_0::ZERO; blocks_for(x.len())];
            quantize_row_q8_0(x, &mut blocks);
            dequantize_row_q8_0(&blocks, y);
        };
        check_round_trip(7, round_trip, |amax| amax / 254.0 + amax / 2048.0);
    }

    #[test]
    fn q4_0_round_trip_is_within_its_bound() {
        let round_trip = |x: &[f32], y: &mut [f32]| {
            let mut blocks = vec![BlockQ4_0::ZERO; blocks_for(x.len())];
            quantize_row_q4_0(x, &mut blocks);
            dequantize_row_q4_0(&blocks, y);
        };
        check_round_trip(11, round_trip, |amax| amax / 8.0 + amax / 1024.0);
    }

    #[test]
    fn layout_matches_ggml() {
        // ggml: the f16 scale first, then the quants, no padding.
        let mut b = [BlockQ8_0::ZERO];
        let mut x = [0.0f32; 32];
        x[0] = 127.0;
        x[1] = -1.0;
        quantize_row_q8_0(&x, &mut b);
        let bytes: &[u8] = unsafe { std::slice::from_raw_parts(b.as_ptr() as *const u8, 34) };
        assert_eq!(&bytes[..2], &f16::from_f32(1.0).to_bits().to_le_bytes());
        assert_eq!(bytes[2], 127);
        assert_eq!(bytes[3] as i8, -1);
        // Q4_0: value j in the low nibble, j + 16 in the high nibble.
        let mut q = [BlockQ4_0::ZERO];
        let mut x = [0.0f32; 32];
        x[0] = -8.0; // -> 0 (max magnitude, d = 1)
        x[16] = 7.0; // -> 15
        quantize_row_q4_0(&x, &mut q);
        assert_eq!(q[0].scale(), 1.0);
        assert_eq!(q[0].qs[0], 0xf0);
    }
}
