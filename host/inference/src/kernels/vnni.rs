//! AVX-512 VNNI kernels: `vpdpbusd` adds 4 u8 × i8 products into each of
//! 16 i32 lanes, one lane per panel row.
//!
//! 8-bit weights meet activations offset to `q + 128` (unsigned); the
//! panel's `offsets` (`128 · Σw` per row and block) take the offset back
//! out. 4-bit weights are unsigned nibbles `w + 8` meeting signed
//! activations; the activations' `8 · Σq` per block takes that back out.
//!
//! Each function is generic over `N`, the activation rows sharing each
//! weight load, and `C`, the independent accumulator chains per row (the
//! instruction's latency is ~4× its throughput, so a single activation
//! row needs 4 chains to keep the unit busy).

// Register blocks are indexed by activation row `j` and half/chain `h`
// across several parallel arrays; index loops read best here.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use crate::{
    matrix::{Activations, Out, Panels, QuantMatrix, PANEL},
    quant::BLOCK,
};

/// Broadcasts the 4 bytes at `p` to every i32 lane.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn broadcast4(p: *const u8) -> __m512i {
    // SAFETY: the caller passes 4 readable bytes.
    _mm512_set1_epi32(unsafe { (p as *const i32).read_unaligned() })
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn store(out: Out, panel: usize, i: usize, v: __m512) {
    let mut values = [0.0f32; PANEL];
    // SAFETY: `values` holds 16 f32.
    unsafe { _mm512_storeu_ps(values.as_mut_ptr(), v) };
    out.store(panel, i, &values);
}

/// Sum of the `C` chains of each activation row.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn fold<const N: usize, const C: usize>(chains: &[[__m512i; C]; N]) -> [__m512i; N] {
    let mut sums = [_mm512_setzero_si512(); N];
    for (sum, row) in sums.iter_mut().zip(chains) {
        for &chain in row {
            *sum = _mm512_add_epi32(*sum, chain);
        }
    }
    sums
}

/// Calls `kernel::<4, 2>` on groups of 4 activation rows and
/// `kernel::<1, 4>` on the rest.
macro_rules! by_groups {
    ($kernel:ident, $m:expr, $acts:expr, $panels:expr, $out:expr) => {
        for p in $panels {
            let mut i = 0;
            while i + 4 <= $acts.n {
                // SAFETY: the caller checked the CPU features.
                unsafe { $kernel::<4, 2>($m, $acts, p, i, $out) };
                i += 4;
            }
            while i < $acts.n {
                // SAFETY: as above.
                unsafe { $kernel::<1, 4>($m, $acts, p, i, $out) };
                i += 1;
            }
        }
    };
}

/// Q8_0 weights.
///
/// # Safety
/// The CPU must have AVX-512 F/BW/VL and VNNI.
pub unsafe fn q8_0(m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
    by_groups!(q8_0_panel, m, acts, panels, out);
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn q8_0_panel<const N: usize, const C: usize>(
    m: &QuantMatrix,
    acts: &Activations,
    p: usize,
    i0: usize,
    out: Out,
) {
    let blocks = m.kp / BLOCK;
    let w = m.weights[p * m.panel_bytes()..].as_ptr();
    let scales = m.scales[p * blocks * PANEL..].as_ptr();
    let offsets = m.offsets[p * blocks * PANEL..].as_ptr();
    let a: [*const u8; N] = std::array::from_fn(|j| acts.u[(i0 + j) * m.kp..].as_ptr());
    let d: [*const f32; N] = std::array::from_fn(|j| acts.d[(i0 + j) * blocks..].as_ptr());
    let mut acc = [_mm512_setzero_ps(); N];
    for b in 0..blocks {
        let mut chains = [[_mm512_setzero_si512(); C]; N];
        for q in 0..BLOCK / 4 {
            // SAFETY: quad `b·8 + q` of the panel is 64 bytes in bounds
            // (the panel holds kp/4 quads), and each activation row has kp
            // bytes.
            unsafe {
                let wv = _mm512_loadu_si512(w.add((b * 8 + q) * 64) as *const _);
                for j in 0..N {
                    let av = broadcast4(a[j].add(b * BLOCK + q * 4));
                    chains[j][q % C] = _mm512_dpbusd_epi32(chains[j][q % C], av, wv);
                }
            }
        }
        let sums = unsafe { fold(&chains) };
        // SAFETY: block `b` of the panel has 16 scales and offsets; each
        // activation row has `blocks` scales.
        unsafe {
            let dw = _mm512_loadu_ps(scales.add(b * PANEL));
            let off = _mm512_loadu_si512(offsets.add(b * PANEL) as *const _);
            for j in 0..N {
                let s = _mm512_cvtepi32_ps(_mm512_sub_epi32(sums[j], off));
                let scale = _mm512_mul_ps(dw, _mm512_set1_ps(*d[j].add(b)));
                acc[j] = _mm512_fmadd_ps(s, scale, acc[j]);
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
    by_groups!(q4_0_panel, m, acts, panels, out);
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn q4_0_panel<const N: usize, const C: usize>(
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
    let sums8: [*const i32; N] = std::array::from_fn(|j| acts.sums[(i0 + j) * blocks..].as_ptr());
    let low = _mm512_set1_epi8(0x0f);
    let mut acc = [_mm512_setzero_ps(); N];
    for b in 0..blocks {
        let mut chains = [[_mm512_setzero_si512(); C]; N];
        for pair in 0..BLOCK / 8 {
            // SAFETY: quad pair `b·4 + pair` is 64 bytes in bounds (the
            // panel holds kp/8 pairs); activation rows have kp bytes.
            unsafe {
                let x = _mm512_loadu_si512(w.add((b * 4 + pair) * 64) as *const _);
                let lo = _mm512_and_si512(x, low);
                let hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), low);
                for j in 0..N {
                    let base = a[j].add(b * BLOCK + pair * 8);
                    let c0 = (2 * pair) % C;
                    let c1 = (2 * pair + 1) % C;
                    chains[j][c0] = _mm512_dpbusd_epi32(chains[j][c0], lo, broadcast4(base));
                    chains[j][c1] = _mm512_dpbusd_epi32(chains[j][c1], hi, broadcast4(base.add(4)));
                }
            }
        }
        let sums = unsafe { fold(&chains) };
        // SAFETY: as in `q8_0_panel`; activation rows have `blocks` sums.
        unsafe {
            let dw = _mm512_loadu_ps(scales.add(b * PANEL));
            for j in 0..N {
                let exact = _mm512_sub_epi32(sums[j], _mm512_set1_epi32(*sums8[j].add(b)));
                let scale = _mm512_mul_ps(dw, _mm512_set1_ps(*d[j].add(b)));
                acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(exact), scale, acc[j]);
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
    by_groups!(i8row_panel, m, acts, panels, out);
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn i8row_panel<const N: usize, const C: usize>(
    m: &QuantMatrix,
    acts: &Activations,
    p: usize,
    i0: usize,
    out: Out,
) {
    let w = m.weights[p * m.panel_bytes()..].as_ptr();
    let a: [*const u8; N] = std::array::from_fn(|j| acts.u[(i0 + j) * m.kp..].as_ptr());
    let mut chains = [[_mm512_setzero_si512(); C]; N];
    // No per-block epilogue: one scale per row, so the whole row sums in
    // i32 (at most 255 · 127 · kp, far from overflow for any real kp).
    for q in 0..m.kp / 4 {
        // SAFETY: quad `q` of the panel and of each activation row is in bounds.
        unsafe {
            let wv = _mm512_loadu_si512(w.add(q * 64) as *const _);
            for j in 0..N {
                chains[j][q % C] =
                    _mm512_dpbusd_epi32(chains[j][q % C], broadcast4(a[j].add(q * 4)), wv);
            }
        }
    }
    let sums = unsafe { fold(&chains) };
    // SAFETY: the panel has 16 row scales and offsets.
    unsafe {
        let dw = _mm512_loadu_ps(m.scales[p * PANEL..].as_ptr());
        let off = _mm512_loadu_si512(m.offsets[p * PANEL..].as_ptr() as *const _);
        for j in 0..N {
            let s = _mm512_cvtepi32_ps(_mm512_sub_epi32(sums[j], off));
            let v = _mm512_mul_ps(s, _mm512_mul_ps(dw, _mm512_set1_ps(acts.d[i0 + j])));
            store(out, p, i0 + j, v);
        }
    }
}

/// Plain f32 (AVX-512 F: 16 rows per FMA).
///
/// # Safety
/// As [`q8_0`].
pub unsafe fn f32(m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
    by_groups!(f32_panel, m, acts, panels, out);
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn f32_panel<const N: usize, const C: usize>(
    m: &QuantMatrix,
    acts: &Activations,
    p: usize,
    i0: usize,
    out: Out,
) {
    let w = m.weights_f32[p * m.kp * PANEL..].as_ptr();
    let x: [*const f32; N] = std::array::from_fn(|j| acts.f[(i0 + j) * m.kp..].as_ptr());
    let mut chains = [[_mm512_setzero_ps(); C]; N];
    for k in 0..m.kp {
        // SAFETY: row group `k` of the panel (16 floats) and element `k`
        // of each activation row are in bounds.
        unsafe {
            let wv = _mm512_loadu_ps(w.add(k * PANEL));
            for j in 0..N {
                chains[j][k % C] =
                    _mm512_fmadd_ps(wv, _mm512_set1_ps(*x[j].add(k)), chains[j][k % C]);
            }
        }
    }
    for (j, row) in chains.iter().enumerate() {
        let mut sum = _mm512_setzero_ps();
        for &chain in row {
            sum = _mm512_add_ps(sum, chain);
        }
        unsafe { store(out, p, i0 + j, sum) };
    }
}
