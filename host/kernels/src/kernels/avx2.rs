//! AVX2 kernels: `vpmaddubsw` (u8 × i8 → i16 pairs) then `vpmaddwd` into
//! i32, 8 panel rows per register (two registers per panel).
//!
//! 8-bit weights use ggml's sign trick: `|a|` (unsigned) times
//! `w · sign(a)` (signed) equals `w · a`, and pairs of such products
//! (at most 2 · 127 · 127) never saturate i16. 4-bit weights are unsigned
//! nibbles `w + 8` times signed activations; their pairs are small enough
//! (at most 2 · 15 · 127) to add a whole block in i16 before widening.

// The kernels for block-scaled and row-scaled weights repeat their inner
// loop over quads on purpose: a shared helper would have to be inlined
// into each `#[target_feature]` kernel to keep the accumulators in
// registers, and stable Rust refuses `#[inline(always)]` on
// `#[target_feature]` functions (E0658); an out-of-line call per quad
// would spill them.
// Register blocks are indexed by activation row `j` and half/chain `h`
// across several parallel arrays; index loops read best here.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use crate::{
    matrix::{Activations, Out, Panels, QuantMatrix, PANEL},
    quant::BLOCK,
};

#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn broadcast4(p: *const u8) -> __m256i {
    // SAFETY: the caller passes 4 readable bytes.
    _mm256_set1_epi32(unsafe { (p as *const i32).read_unaligned() })
}

#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn store(out: Out, panel: usize, i: usize, v: [__m256; 2]) {
    let mut values = [0.0f32; PANEL];
    // SAFETY: `values` holds 16 f32.
    unsafe {
        _mm256_storeu_ps(values.as_mut_ptr(), v[0]);
        _mm256_storeu_ps(values.as_mut_ptr().add(8), v[1]);
    }
    out.store(panel, i, &values);
}

/// Calls `kernel::<2>` on pairs of activation rows and `kernel::<1>` on
/// the last one.
macro_rules! by_pairs {
    ($kernel:ident, $m:expr, $acts:expr, $panels:expr, $out:expr) => {
        for p in $panels {
            let mut i = 0;
            while i + 2 <= $acts.n {
                // SAFETY: the caller checked the CPU features.
                unsafe { $kernel::<2>($m, $acts, p, i, $out) };
                i += 2;
            }
            if i < $acts.n {
                // SAFETY: as above.
                unsafe { $kernel::<1>($m, $acts, p, i, $out) };
            }
        }
    };
}

/// `w · a` for 4 columns of 8 rows, into 8 i32 lanes: `abs` is `|a|`
/// broadcast, `sign` is `a` broadcast.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_signed(w: __m256i, abs: __m256i, sign: __m256i) -> __m256i {
    let pairs = _mm256_maddubs_epi16(abs, _mm256_sign_epi8(w, sign));
    _mm256_madd_epi16(pairs, _mm256_set1_epi16(1))
}

/// Q8_0 weights.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
pub unsafe fn q8_0(m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
    by_pairs!(q8_0_panel, m, acts, panels, out);
}

#[target_feature(enable = "avx2,fma")]
unsafe fn q8_0_panel<const N: usize>(
    m: &QuantMatrix,
    acts: &Activations,
    p: usize,
    i0: usize,
    out: Out,
) {
    let blocks = m.kp / BLOCK;
    let w = m.weights[p * m.panel_bytes()..].as_ptr();
    let scales = m.scales[p * blocks * PANEL..].as_ptr();
    let abs: [*const u8; N] = std::array::from_fn(|j| acts.u[(i0 + j) * m.kp..].as_ptr());
    let sgn: [*const u8; N] =
        std::array::from_fn(|j| acts.q[(i0 + j) * m.kp..].as_ptr() as *const u8);
    let d: [*const f32; N] = std::array::from_fn(|j| acts.d[(i0 + j) * blocks..].as_ptr());
    let mut acc = [[_mm256_setzero_ps(); 2]; N];
    for b in 0..blocks {
        let mut sums = [[_mm256_setzero_si256(); 2]; N];
        for q in 0..BLOCK / 4 {
            // SAFETY: quad `b·8 + q` is 64 bytes in bounds; activation rows
            // have kp bytes.
            unsafe {
                let at = w.add((b * 8 + q) * 64);
                let wv = [
                    _mm256_loadu_si256(at as *const _),
                    _mm256_loadu_si256(at.add(32) as *const _),
                ];
                for j in 0..N {
                    let col = b * BLOCK + q * 4;
                    let (av, sv) = (broadcast4(abs[j].add(col)), broadcast4(sgn[j].add(col)));
                    for h in 0..2 {
                        sums[j][h] = _mm256_add_epi32(sums[j][h], dot_signed(wv[h], av, sv));
                    }
                }
            }
        }
        // SAFETY: block `b` has 16 scales; activation rows `blocks` scales.
        unsafe {
            for j in 0..N {
                let da = _mm256_set1_ps(*d[j].add(b));
                for h in 0..2 {
                    let scale = _mm256_mul_ps(_mm256_loadu_ps(scales.add(b * PANEL + 8 * h)), da);
                    acc[j][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[j][h]), scale, acc[j][h]);
                }
            }
        }
    }
    for (j, &v) in acc.iter().enumerate() {
        unsafe { store(out, p, i0 + j, v) };
    }
}

/// Q4_0 weights.
///
/// # Safety
/// As [`q8_0`].
pub unsafe fn q4_0(m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
    by_pairs!(q4_0_panel, m, acts, panels, out);
}

#[target_feature(enable = "avx2,fma")]
unsafe fn q4_0_panel<const N: usize>(
    m: &QuantMatrix,
    acts: &Activations,
    p: usize,
    i0: usize,
    out: Out,
) {
    let blocks = m.kp / BLOCK;
    let w = m.weights[p * m.panel_bytes()..].as_ptr();
    let scales = m.scales[p * blocks * PANEL..].as_ptr();
    let a: [*const u8; N] =
        std::array::from_fn(|j| acts.q[(i0 + j) * m.kp..].as_ptr() as *const u8);
    let d: [*const f32; N] = std::array::from_fn(|j| acts.d[(i0 + j) * blocks..].as_ptr());
    let sums: [*const i32; N] = std::array::from_fn(|j| acts.sums[(i0 + j) * blocks..].as_ptr());
    let low = _mm256_set1_epi8(0x0f);
    let mut acc = [[_mm256_setzero_ps(); 2]; N];
    for b in 0..blocks {
        // i16 pair sums: 8 quads × at most 2 · 15 · 127 fit.
        let mut pairs = [[_mm256_setzero_si256(); 2]; N];
        for pair in 0..BLOCK / 8 {
            // SAFETY: quad pair `b·4 + pair` is 64 bytes in bounds;
            // activation rows have kp bytes.
            unsafe {
                let at = w.add((b * 4 + pair) * 64);
                for h in 0..2 {
                    let x = _mm256_loadu_si256(at.add(32 * h) as *const _);
                    let lo = _mm256_and_si256(x, low);
                    let hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low);
                    for j in 0..N {
                        let base = a[j].add(b * BLOCK + pair * 8);
                        let p0 = _mm256_maddubs_epi16(lo, broadcast4(base));
                        let p1 = _mm256_maddubs_epi16(hi, broadcast4(base.add(4)));
                        pairs[j][h] = _mm256_add_epi16(pairs[j][h], _mm256_add_epi16(p0, p1));
                    }
                }
            }
        }
        // SAFETY: as in `q8_0_panel`; activation rows have `blocks` sums.
        unsafe {
            for j in 0..N {
                let da = _mm256_set1_ps(*d[j].add(b));
                let offset = _mm256_set1_epi32(8 * *sums[j].add(b));
                for h in 0..2 {
                    let sum = _mm256_madd_epi16(pairs[j][h], _mm256_set1_epi16(1));
                    let exact = _mm256_cvtepi32_ps(_mm256_sub_epi32(sum, offset));
                    let scale = _mm256_mul_ps(_mm256_loadu_ps(scales.add(b * PANEL + 8 * h)), da);
                    acc[j][h] = _mm256_fmadd_ps(exact, scale, acc[j][h]);
                }
            }
        }
    }
    for (j, &v) in acc.iter().enumerate() {
        unsafe { store(out, p, i0 + j, v) };
    }
}

/// i8 weights with per-row scales.
///
/// # Safety
/// As [`q8_0`].
pub unsafe fn i8row(m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
    by_pairs!(i8row_panel, m, acts, panels, out);
}

#[target_feature(enable = "avx2,fma")]
unsafe fn i8row_panel<const N: usize>(
    m: &QuantMatrix,
    acts: &Activations,
    p: usize,
    i0: usize,
    out: Out,
) {
    let w = m.weights[p * m.panel_bytes()..].as_ptr();
    let abs: [*const u8; N] = std::array::from_fn(|j| acts.u[(i0 + j) * m.kp..].as_ptr());
    let sgn: [*const u8; N] =
        std::array::from_fn(|j| acts.q[(i0 + j) * m.kp..].as_ptr() as *const u8);
    let mut sums = [[_mm256_setzero_si256(); 2]; N];
    for q in 0..m.kp / 4 {
        // SAFETY: quad `q` of the panel and of each activation row is in bounds.
        unsafe {
            let at = w.add(q * 64);
            let wv = [
                _mm256_loadu_si256(at as *const _),
                _mm256_loadu_si256(at.add(32) as *const _),
            ];
            for j in 0..N {
                let (av, sv) = (broadcast4(abs[j].add(q * 4)), broadcast4(sgn[j].add(q * 4)));
                for h in 0..2 {
                    sums[j][h] = _mm256_add_epi32(sums[j][h], dot_signed(wv[h], av, sv));
                }
            }
        }
    }
    // SAFETY: the panel has 16 row scales.
    unsafe {
        for j in 0..N {
            let da = _mm256_set1_ps(acts.d[i0 + j]);
            let mut v = [_mm256_setzero_ps(); 2];
            for h in 0..2 {
                let dw = _mm256_loadu_ps(m.scales[p * PANEL + 8 * h..].as_ptr());
                v[h] = _mm256_mul_ps(_mm256_cvtepi32_ps(sums[j][h]), _mm256_mul_ps(dw, da));
            }
            store(out, p, i0 + j, v);
        }
    }
}

/// Plain f32 (8 rows per FMA, two per panel).
///
/// # Safety
/// As [`q8_0`].
pub unsafe fn f32(m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
    by_pairs!(f32_panel, m, acts, panels, out);
}

#[target_feature(enable = "avx2,fma")]
unsafe fn f32_panel<const N: usize>(
    m: &QuantMatrix,
    acts: &Activations,
    p: usize,
    i0: usize,
    out: Out,
) {
    let w = m.weights_f32[p * m.kp * PANEL..].as_ptr();
    let x: [*const f32; N] = std::array::from_fn(|j| acts.f[(i0 + j) * m.kp..].as_ptr());
    // Two chains per half: FMA latency is 4 cycles, throughput 2 per cycle.
    let mut acc = [[[_mm256_setzero_ps(); 2]; 2]; N];
    for k0 in (0..m.kp).step_by(2) {
        for c in 0..2 {
            let k = k0 + c;
            // SAFETY: row group `k` of the panel and element `k` of each
            // activation row are in bounds (kp is even).
            unsafe {
                let wv = [
                    _mm256_loadu_ps(w.add(k * PANEL)),
                    _mm256_loadu_ps(w.add(k * PANEL + 8)),
                ];
                for j in 0..N {
                    let xv = _mm256_set1_ps(*x[j].add(k));
                    for h in 0..2 {
                        acc[j][h][c] = _mm256_fmadd_ps(wv[h], xv, acc[j][h][c]);
                    }
                }
            }
        }
    }
    for (j, halves) in acc.iter().enumerate() {
        let mut v = [_mm256_setzero_ps(); 2];
        for h in 0..2 {
            v[h] = _mm256_add_ps(halves[h][0], halves[h][1]);
        }
        unsafe { store(out, p, i0 + j, v) };
    }
}
