//! x86-64 kernels: AVX2 + FMA, and AVX-512 VNNI.
//!
//! Per block, both use ggml's sign trick to fit the u8 × i8 instructions:
//! `|w|` (unsigned) times `a · sign(w)` (signed) equals `w · a`. Q8_0
//! quants are in -127..=127, so `|w|` never overflows and the pairwise i16
//! sums of `vpmaddubsw` (at most 2 · 127 · 127) never saturate.
//!
//! The safe wrappers at the bottom are only handed out by
//! `Kernels::for_variant` after checking the CPU's features.

use std::arch::x86_64::*;

use crate::quant::{BlockQ4_0, BlockQ8_0};

/// The product of two blocks' f16 scales, converted with F16C (the `half`
/// crate's portable conversion costs more than the block's whole dot
/// product here).
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn scales(w: u16, a: u16) -> __m256 {
    let both = _mm_cvtph_ps(_mm_cvtsi32_si128((w as u32 | (a as u32) << 16) as i32));
    let product = _mm_mul_ss(both, _mm_movehdup_ps(both));
    _mm256_broadcastss_ps(product)
}

/// Horizontal sum of 8 f32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum(v: __m256) -> f32 {
    let lo = _mm256_castps256_ps128(v);
    let hi = _mm256_extractf128_ps(v, 1);
    let s = _mm_add_ps(lo, hi);
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    _mm_cvtss_f32(s)
}

/// The 32 quants of a Q8_0 block.
#[inline]
#[target_feature(enable = "avx2")]
fn load_q8(block: &BlockQ8_0) -> __m256i {
    // SAFETY: `qs` is 32 readable bytes; unaligned loads are allowed.
    unsafe { _mm256_loadu_si256(block.qs.as_ptr() as *const __m256i) }
}

/// The 32 quants of a Q4_0 block, as i8 in -8..=7, in value order.
#[inline]
#[target_feature(enable = "avx2")]
fn load_q4(block: &BlockQ4_0) -> __m256i {
    // SAFETY: `qs` is 16 readable bytes; unaligned loads are allowed.
    let packed = unsafe { _mm_loadu_si128(block.qs.as_ptr() as *const __m128i) };
    // Low nibbles are values 0..16, high nibbles values 16..32.
    let both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
    let nibbles = _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
    _mm256_sub_epi8(nibbles, _mm256_set1_epi8(8))
}

/// Integer dot product of two blocks of 32 i8, as 8 i32 lanes (AVX2).
#[inline]
#[target_feature(enable = "avx2")]
fn block_dot_avx2(w: __m256i, a: __m256i) -> __m256i {
    let abs_w = _mm256_sign_epi8(w, w);
    let signed_a = _mm256_sign_epi8(a, w);
    let pairs = _mm256_maddubs_epi16(abs_w, signed_a);
    _mm256_madd_epi16(pairs, _mm256_set1_epi16(1))
}

/// Integer dot product of two blocks of 32 i8, as 8 i32 lanes (VNNI).
#[inline]
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512vnni")]
fn block_dot_vnni(w: __m256i, a: __m256i) -> __m256i {
    let abs_w = _mm256_sign_epi8(w, w);
    let signed_a = _mm256_sign_epi8(a, w);
    _mm256_dpbusd_epi32(_mm256_setzero_si256(), abs_w, signed_a)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q8_0_avx2_impl(w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for (w, a) in w.iter().zip(a) {
        let d = scales(w.d, a.d);
        let dot = block_dot_avx2(load_q8(w), load_q8(a));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot), acc);
    }
    hsum(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q4_0_avx2_impl(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for (w, a) in w.iter().zip(a) {
        let d = scales(w.d, a.d);
        let dot = block_dot_avx2(load_q4(w), load_q8(a));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot), acc);
    }
    hsum(acc)
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn dot_q8_0_vnni_impl(w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for (w, a) in w.iter().zip(a) {
        let d = scales(w.d, a.d);
        let dot = block_dot_vnni(load_q8(w), load_q8(a));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot), acc);
    }
    hsum(acc)
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn dot_q4_0_vnni_impl(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for (w, a) in w.iter().zip(a) {
        let d = scales(w.d, a.d);
        let dot = block_dot_vnni(load_q4(w), load_q8(a));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot), acc);
    }
    hsum(acc)
}

/// Q8_0 · Q8_0, AVX2. Only reachable through `Kernels` built for `Avx2`.
pub fn dot_q8_0_avx2(w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
    // SAFETY: `Kernels::for_variant(Avx2)` checked avx2, fma and f16c.
    unsafe { dot_q8_0_avx2_impl(w, a) }
}

/// Q4_0 · Q8_0, AVX2. Only reachable through `Kernels` built for `Avx2`.
pub fn dot_q4_0_avx2(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
    // SAFETY: as above.
    unsafe { dot_q4_0_avx2_impl(w, a) }
}

/// Q8_0 · Q8_0, VNNI. Only reachable through `Kernels` built for `Avx512Vnni`.
pub fn dot_q8_0_vnni(w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
    // SAFETY: `Kernels::for_variant(Avx512Vnni)` checked every feature
    // enabled on the implementation.
    unsafe { dot_q8_0_vnni_impl(w, a) }
}

/// Q4_0 · Q8_0, VNNI. Only reachable through `Kernels` built for `Avx512Vnni`.
pub fn dot_q4_0_vnni(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
    // SAFETY: as above.
    unsafe { dot_q4_0_vnni_impl(w, a) }
}
