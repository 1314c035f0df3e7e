//! The portable reference kernels: plain loops over the panel layout.

use crate::{
    matrix::{Activations, Out, Panels, QuantMatrix, PANEL},
    quant::BLOCK,
};

/// Q8_0 weights (per-block scales).
///
/// # Safety
/// None beyond the signature's (`unsafe` only to share [`super::PanelsFn`]).
pub unsafe fn q8_0(m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
    per_block(m, acts, panels, out, |panel, row, col| {
        panel[(col / 4) * 64 + row * 4 + col % 4] as i8 as i32
    })
}

/// Q4_0 weights (per-block scales, nibbles offset by 8).
///
/// # Safety
/// As [`q8_0`].
pub unsafe fn q4_0(m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
    per_block(m, acts, panels, out, |panel, row, col| {
        let byte = panel[(col / 8) * 64 + row * 4 + col % 4];
        ((byte >> (4 * ((col / 4) % 2))) & 0x0f) as i32 - 8
    })
}

/// i8 weights with one scale per row, activations with one per vector.
///
/// # Safety
/// As [`q8_0`].
pub unsafe fn i8row(m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
    let bytes = m.panel_bytes();
    for p in panels {
        let panel = &m.weights[p * bytes..(p + 1) * bytes];
        for i in 0..acts.n {
            let a = &acts.q[i * m.kp..(i + 1) * m.kp];
            let mut values = [0.0f32; PANEL];
            for (row, value) in values.iter_mut().enumerate() {
                let sum: i32 = (0..m.kp)
                    .map(|c| panel[(c / 4) * 64 + row * 4 + c % 4] as i8 as i32 * a[c] as i32)
                    .sum();
                *value = sum as f32 * (m.scales[p * PANEL + row] * acts.d[i]);
            }
            out.store(p, i, &values);
        }
    }
}

/// The block formats: `weight(panel, row, col)` reads one quant.
fn per_block(
    m: &QuantMatrix,
    acts: &Activations,
    panels: Panels,
    out: Out,
    weight: impl Fn(&[u8], usize, usize) -> i32,
) {
    let bytes = m.panel_bytes();
    let blocks = m.kp / BLOCK;
    for p in panels {
        let panel = &m.weights[p * bytes..(p + 1) * bytes];
        for i in 0..acts.n {
            let a = &acts.q[i * m.kp..(i + 1) * m.kp];
            let mut values = [0.0f32; PANEL];
            for (row, value) in values.iter_mut().enumerate() {
                for b in 0..blocks {
                    let sum: i32 = (b * BLOCK..(b + 1) * BLOCK)
                        .map(|c| weight(panel, row, c) * a[c] as i32)
                        .sum();
                    let scale = m.scales[(p * blocks + b) * PANEL + row] * acts.d[i * blocks + b];
                    *value += sum as f32 * scale;
                }
            }
            out.store(p, i, &values);
        }
    }
}

/// Plain f32.
///
/// # Safety
/// As [`q8_0`].
pub unsafe fn f32(m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
    for p in panels {
        let panel = &m.weights_f32[p * m.kp * PANEL..(p + 1) * m.kp * PANEL];
        for i in 0..acts.n {
            let x = &acts.f[i * m.kp..(i + 1) * m.kp];
            let mut values = [0.0f32; PANEL];
            for (k, &xk) in x.iter().enumerate() {
                for (value, &w) in values.iter_mut().zip(&panel[k * PANEL..(k + 1) * PANEL]) {
                    *value += w * xk;
                }
            }
            out.store(p, i, &values);
        }
    }
}
