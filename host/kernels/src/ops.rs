//! The f32 operations a small transformer needs besides matrix products.
//!
//! Written as plain loops over slices, which the compiler vectorises; they
//! are a small share of a transformer's time next to the products.

/// Normalises `x` in place to zero mean and unit variance, then scales by
/// `gamma` and shifts by `beta` (all of `x.len()`).
pub fn layer_norm(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    assert!(
        gamma.len() == x.len() && beta.len() == x.len(),
        "gamma and beta must match x"
    );
    if x.is_empty() {
        return;
    }
    let n = x.len() as f32;
    let mean = x.iter().sum::<f32>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, g), b) in x.iter_mut().zip(gamma).zip(beta) {
        *v = (*v - mean) * inv * g + b;
    }
}

/// Softmax in place, numerically stable (subtracts the maximum first).
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return;
    }
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// GELU in place, the exact form BERT-family models use:
/// `x · Φ(x) = x/2 · (1 + erf(x/√2))`.
pub fn gelu(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = 0.5 * *v * (1.0 + libm::erff(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// `x += y` (a residual connection).
pub fn add(x: &mut [f32], y: &[f32]) {
    assert_eq!(x.len(), y.len(), "residual must match");
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// Mean of the rows of `hidden` (`seq × dim`, row-major) whose `mask` is
/// non-zero, into `out` (`dim`). All-zero output when no row is masked in.
pub fn masked_mean_pool(hidden: &[f32], mask: &[u8], dim: usize, out: &mut [f32]) {
    assert_eq!(hidden.len(), mask.len() * dim, "hidden must be seq × dim");
    assert_eq!(out.len(), dim, "out must have dim values");
    out.fill(0.0);
    let mut count = 0usize;
    for (row, &m) in hidden.chunks(dim.max(1)).zip(mask) {
        if m != 0 {
            count += 1;
            add(out, row);
        }
    }
    if count > 0 {
        let inv = 1.0 / count as f32;
        out.iter_mut().for_each(|v| *v *= inv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_norm_normalises_then_scales() {
        let mut x = [1.0, 2.0, 3.0, 4.0];
        layer_norm(&mut x, &[1.0; 4], &[0.0; 4], 0.0);
        let mean: f32 = x.iter().sum::<f32>() / 4.0;
        let var: f32 = x.iter().map(|v| v * v).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5, "{x:?}");
        let mut y = [1.0, 3.0];
        layer_norm(&mut y, &[2.0, 2.0], &[0.5, 0.5], 0.0);
        assert!(
            (y[0] + 1.5).abs() < 1e-5 && (y[1] - 2.5).abs() < 1e-5,
            "{y:?}"
        );
    }

    #[test]
    fn softmax_sums_to_one_and_survives_large_inputs() {
        let mut x = [1000.0, 1001.0, 1002.0];
        softmax(&mut x);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((x[2] - 0.665_240_9).abs() < 1e-5, "{x:?}");
    }

    #[test]
    fn gelu_matches_known_values() {
        let mut x = [0.0, 1.0, -1.0, 3.0];
        gelu(&mut x);
        // x·Φ(x): Φ(1) = 0.841344746.
        let expected = [0.0, 0.841_344_7, -0.158_655_3, 2.995_950_3];
        for (a, b) in x.iter().zip(expected) {
            assert!((a - b).abs() < 1e-5, "{x:?}");
        }
    }

    #[test]
    fn mean_pool_ignores_masked_out_rows() {
        let hidden = [1.0, 2.0, 3.0, 4.0, 100.0, 100.0];
        let mut out = [0.0; 2];
        masked_mean_pool(&hidden, &[1, 1, 0], 2, &mut out);
        assert_eq!(out, [2.0, 3.0]);
        masked_mean_pool(&hidden, &[0, 0, 0], 2, &mut out);
        assert_eq!(out, [0.0, 0.0]);
    }
}
