//! AVX-512 VNNI kernels: `vpdpbusd` adds 4 u8 × i8 products into each of
//! 16 i32 lanes, one lane per panel row.
//!
//! 8-bit weights: with several activation rows (GEMM), activations enter
//! as `q + 128` and the panel's stored `128 · Σw` per row and block comes
//! back out; with one (GEMV, bound by the bytes it streams from L2), the
//! weights are flipped to `w + 128` as they are loaded (one XOR) and the
//! activations' `128 · Σq` comes back out, so no offsets are read. 4-bit
//! weights are stored as unsigned nibbles `w + 8` meeting signed
//! activations; `8 · Σq` comes back out.
//!
//! Each kernel is generic over `P`, the panels (of 16 rows) sharing each
//! activation broadcast, `N`, the activation rows sharing each weight
//! load, and `C`, independent accumulator chains per (panel, row): the
//! instruction's latency is ~4× its throughput, so a GEMV (one
//! activation row) needs `P·C ≥ 4` accumulators to keep the unit busy,
//! and with 4 activation rows and 2 panels, 8 accumulators share 2
//! weight loads and 4 broadcasts (one load or broadcast per `vpdpbusd`
//! would otherwise compete with it for the same ports). Loops whose
//! index picks a chain have constant bounds, so they unroll and every
//! accumulator stays in a register.

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

/// Sum of the `C` chains of one accumulator.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
fn fold<const C: usize>(chains: &[__m512i; C]) -> __m512i {
    let mut sum = chains[0];
    for &chain in &chains[1..] {
        sum = _mm512_add_epi32(sum, chain);
    }
    sum
}

/// Runs `kernel` over `panels` in pairs (the last alone if odd) and the
/// activation rows in groups of 4 (the rest one by one).
macro_rules! by_groups {
    ($kernel:ident, $m:expr, $acts:expr, $panels:expr, $out:expr) => {{
        let panels: Panels = $panels;
        let mut p = panels.start;
        while p < panels.end {
            let pair = p + 1 < panels.end;
            let mut i = 0;
            // SAFETY (every call): the caller checked the CPU features.
            while i + 4 <= $acts.n {
                if pair {
                    unsafe { $kernel::<2, 4, 1>($m, $acts, p, i, $out) };
                } else {
                    unsafe { $kernel::<1, 4, 2>($m, $acts, p, i, $out) };
                }
                i += 4;
            }
            while i < $acts.n {
                if pair {
                    unsafe { $kernel::<2, 1, 2>($m, $acts, p, i, $out) };
                } else {
                    unsafe { $kernel::<1, 1, 4>($m, $acts, p, i, $out) };
                }
                i += 1;
            }
            p += if pair { 2 } else { 1 };
        }
    }};
}

/// Q8_0 weights.
///
/// # Safety
/// The CPU must have AVX-512 F/BW/VL and VNNI.
pub unsafe fn q8_0(m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
    by_groups!(q8_0_panels, m, acts, panels, out);
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn q8_0_panels<const P: usize, const N: usize, const C: usize>(
    m: &QuantMatrix,
    acts: &Activations,
    p0: usize,
    i0: usize,
    out: Out,
) {
    let blocks = m.kp / BLOCK;
    let w: [*const u8; P] =
        std::array::from_fn(|x| m.weights[(p0 + x) * m.panel_bytes()..].as_ptr());
    let scales: [*const f32; P] =
        std::array::from_fn(|x| m.scales[(p0 + x) * blocks * PANEL..].as_ptr());
    // GEMV: flip the weights (see the module docs); GEMM: offset activations.
    let flip_weights = N == 1;
    let a: [*const u8; N] = std::array::from_fn(|j| {
        let row = (i0 + j) * m.kp;
        if flip_weights {
            acts.q[row..].as_ptr() as *const u8
        } else {
            acts.u[row..].as_ptr()
        }
    });
    let offsets: [*const i32; P] =
        std::array::from_fn(|x| m.offsets[(p0 + x) * blocks * PANEL..].as_ptr());
    let d: [*const f32; N] = std::array::from_fn(|j| acts.d[(i0 + j) * blocks..].as_ptr());
    let sums: [*const i32; N] = std::array::from_fn(|j| acts.sums[(i0 + j) * blocks..].as_ptr());
    let flip = _mm512_set1_epi8(-128);
    let mut acc = [[_mm512_setzero_ps(); P]; N];
    for b in 0..blocks {
        let mut chains = [[[_mm512_setzero_si512(); C]; P]; N];
        for q in 0..BLOCK / 4 {
            // SAFETY: quad `b·8 + q` of each panel is 64 bytes in bounds
            // (a panel holds kp/4 quads), and activation rows have kp bytes.
            unsafe {
                let mut wv = [_mm512_setzero_si512(); P];
                for x in 0..P {
                    wv[x] = _mm512_loadu_si512(w[x].add((b * 8 + q) * 64) as *const _);
                    if flip_weights {
                        wv[x] = _mm512_xor_si512(wv[x], flip);
                    }
                }
                for j in 0..N {
                    let av = broadcast4(a[j].add(b * BLOCK + q * 4));
                    for x in 0..P {
                        let chain = chains[j][x][q % C];
                        chains[j][x][q % C] = if flip_weights {
                            _mm512_dpbusd_epi32(chain, wv[x], av)
                        } else {
                            _mm512_dpbusd_epi32(chain, av, wv[x])
                        };
                    }
                }
            }
        }
        // SAFETY: block `b` of each panel has 16 scales and offsets; each
        // activation row has `blocks` scales and sums.
        unsafe {
            for x in 0..P {
                let dw = _mm512_loadu_ps(scales[x].add(b * PANEL));
                let stored = if flip_weights {
                    _mm512_setzero_si512()
                } else {
                    _mm512_loadu_si512(offsets[x].add(b * PANEL) as *const _)
                };
                for j in 0..N {
                    let off = if flip_weights {
                        _mm512_set1_epi32(128 * *sums[j].add(b))
                    } else {
                        stored
                    };
                    let s = _mm512_cvtepi32_ps(_mm512_sub_epi32(fold(&chains[j][x]), off));
                    let scale = _mm512_mul_ps(dw, _mm512_set1_ps(*d[j].add(b)));
                    acc[j][x] = _mm512_fmadd_ps(s, scale, acc[j][x]);
                }
            }
        }
    }
    for j in 0..N {
        for x in 0..P {
            unsafe { store(out, p0 + x, i0 + j, acc[j][x]) };
        }
    }
}

/// Q4_0 weights.
///
/// # Safety
/// As [`q8_0`].
pub unsafe fn q4_0(m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
    by_groups!(q4_0_panels, m, acts, panels, out);
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn q4_0_panels<const P: usize, const N: usize, const C: usize>(
    m: &QuantMatrix,
    acts: &Activations,
    p0: usize,
    i0: usize,
    out: Out,
) {
    let blocks = m.kp / BLOCK;
    let w: [*const u8; P] =
        std::array::from_fn(|x| m.weights[(p0 + x) * m.panel_bytes()..].as_ptr());
    let scales: [*const f32; P] =
        std::array::from_fn(|x| m.scales[(p0 + x) * blocks * PANEL..].as_ptr());
    let a: [*const u8; N] =
        std::array::from_fn(|j| acts.q[(i0 + j) * m.kp..].as_ptr() as *const u8);
    let d: [*const f32; N] = std::array::from_fn(|j| acts.d[(i0 + j) * blocks..].as_ptr());
    let sums: [*const i32; N] = std::array::from_fn(|j| acts.sums[(i0 + j) * blocks..].as_ptr());
    let low = _mm512_set1_epi8(0x0f);
    let mut acc = [[_mm512_setzero_ps(); P]; N];
    for b in 0..blocks {
        let mut chains = [[[_mm512_setzero_si512(); C]; P]; N];
        for pair in 0..BLOCK / 8 {
            // SAFETY: quad pair `b·4 + pair` of each panel is 64 bytes in
            // bounds (a panel holds kp/8 pairs); activation rows have kp bytes.
            unsafe {
                let mut lo = [_mm512_setzero_si512(); P];
                let mut hi = [_mm512_setzero_si512(); P];
                for x in 0..P {
                    let v = _mm512_loadu_si512(w[x].add((b * 4 + pair) * 64) as *const _);
                    lo[x] = _mm512_and_si512(v, low);
                    hi[x] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
                }
                for j in 0..N {
                    let base = a[j].add(b * BLOCK + pair * 8);
                    let (a0, a1) = (broadcast4(base), broadcast4(base.add(4)));
                    let (c0, c1) = ((2 * pair) % C, (2 * pair + 1) % C);
                    for x in 0..P {
                        chains[j][x][c0] = _mm512_dpbusd_epi32(chains[j][x][c0], lo[x], a0);
                        chains[j][x][c1] = _mm512_dpbusd_epi32(chains[j][x][c1], hi[x], a1);
                    }
                }
            }
        }
        // SAFETY: as in `q8_0_panels`; activation rows have `blocks` sums.
        unsafe {
            for x in 0..P {
                let dw = _mm512_loadu_ps(scales[x].add(b * PANEL));
                for j in 0..N {
                    let offset = _mm512_set1_epi32(8 * *sums[j].add(b));
                    let exact = _mm512_sub_epi32(fold(&chains[j][x]), offset);
                    let scale = _mm512_mul_ps(dw, _mm512_set1_ps(*d[j].add(b)));
                    acc[j][x] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(exact), scale, acc[j][x]);
                }
            }
        }
    }
    for j in 0..N {
        for x in 0..P {
            unsafe { store(out, p0 + x, i0 + j, acc[j][x]) };
        }
    }
}

/// i8 weights with per-row scales.
///
/// # Safety
/// As [`q8_0`].
pub unsafe fn i8row(m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
    by_groups!(i8row_panels, m, acts, panels, out);
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn i8row_panels<const P: usize, const N: usize, const C: usize>(
    m: &QuantMatrix,
    acts: &Activations,
    p0: usize,
    i0: usize,
    out: Out,
) {
    let w: [*const u8; P] =
        std::array::from_fn(|x| m.weights[(p0 + x) * m.panel_bytes()..].as_ptr());
    let flip_weights = N == 1;
    let a: [*const u8; N] = std::array::from_fn(|j| {
        let row = (i0 + j) * m.kp;
        if flip_weights {
            acts.q[row..].as_ptr() as *const u8
        } else {
            acts.u[row..].as_ptr()
        }
    });
    let flip = _mm512_set1_epi8(-128);
    let mut chains = [[[_mm512_setzero_si512(); C]; P]; N];
    // One scale per row: the whole row sums in i32 (at most 255 · 127 · kp,
    // far from overflow for any real kp), with no per-block epilogue.
    for b in 0..m.kp / BLOCK {
        for q in 0..BLOCK / 4 {
            // SAFETY: quad `b·8 + q` of each panel and of each activation
            // row is in bounds.
            unsafe {
                let mut wv = [_mm512_setzero_si512(); P];
                for x in 0..P {
                    wv[x] = _mm512_loadu_si512(w[x].add((b * 8 + q) * 64) as *const _);
                    if flip_weights {
                        wv[x] = _mm512_xor_si512(wv[x], flip);
                    }
                }
                for j in 0..N {
                    let av = broadcast4(a[j].add(b * BLOCK + q * 4));
                    for x in 0..P {
                        let chain = chains[j][x][q % C];
                        chains[j][x][q % C] = if flip_weights {
                            _mm512_dpbusd_epi32(chain, wv[x], av)
                        } else {
                            _mm512_dpbusd_epi32(chain, av, wv[x])
                        };
                    }
                }
            }
        }
    }
    // SAFETY: each panel has 16 row scales and offsets.
    unsafe {
        for x in 0..P {
            let dw = _mm512_loadu_ps(m.scales[(p0 + x) * PANEL..].as_ptr());
            let stored = _mm512_loadu_si512(m.offsets[(p0 + x) * PANEL..].as_ptr() as *const _);
            for j in 0..N {
                let off = if flip_weights {
                    _mm512_set1_epi32(128 * acts.sums[i0 + j])
                } else {
                    stored
                };
                let s = _mm512_cvtepi32_ps(_mm512_sub_epi32(fold(&chains[j][x]), off));
                let v = _mm512_mul_ps(s, _mm512_mul_ps(dw, _mm512_set1_ps(acts.d[i0 + j])));
                store(out, p0 + x, i0 + j, v);
            }
        }
    }
}

/// Plain f32 (AVX-512 F: 16 rows per FMA).
///
/// # Safety
/// As [`q8_0`].
pub unsafe fn f32(m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
    by_groups!(f32_panels, m, acts, panels, out);
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn f32_panels<const P: usize, const N: usize, const C: usize>(
    m: &QuantMatrix,
    acts: &Activations,
    p0: usize,
    i0: usize,
    out: Out,
) {
    let w: [*const f32; P] =
        std::array::from_fn(|x| m.weights_f32[(p0 + x) * m.kp * PANEL..].as_ptr());
    let xs: [*const f32; N] = std::array::from_fn(|j| acts.f[(i0 + j) * m.kp..].as_ptr());
    let mut chains = [[[_mm512_setzero_ps(); C]; P]; N];
    for k0 in (0..m.kp).step_by(8) {
        for kk in 0..8 {
            let k = k0 + kk;
            // SAFETY: row group `k` of each panel (16 floats) and element
            // `k` of each activation row are in bounds (kp is a multiple of 32).
            unsafe {
                let mut wv = [_mm512_setzero_ps(); P];
                for x in 0..P {
                    wv[x] = _mm512_loadu_ps(w[x].add(k * PANEL));
                }
                for j in 0..N {
                    let xv = _mm512_set1_ps(*xs[j].add(k));
                    for x in 0..P {
                        chains[j][x][kk % C] = _mm512_fmadd_ps(wv[x], xv, chains[j][x][kk % C]);
                    }
                }
            }
        }
    }
    for j in 0..N {
        for x in 0..P {
            let mut sum = chains[j][x][0];
            for c in 1..C {
                sum = _mm512_add_ps(sum, chains[j][x][c]);
            }
            unsafe { store(out, p0 + x, i0 + j, sum) };
        }
    }
}
