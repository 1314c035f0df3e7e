//! Quantized weight matrices and their products with f32 activations.

use crate::{
    kernels::Kernels,
    quant::{blocks_for, quantize_row_q4_0, quantize_row_q8_0, BlockQ4_0, BlockQ8_0},
};

/// How a [`QuantMatrix`] stores its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantFormat {
    /// Blocks of 32 × i8 + f16 scale (8.5 bits per weight).
    Q8_0,
    /// Blocks of 32 × 4 bits + f16 scale (4.5 bits per weight).
    Q4_0,
}

#[derive(Debug, Clone)]
enum Rows {
    Q8_0(Vec<BlockQ8_0>),
    Q4_0(Vec<BlockQ4_0>),
}

/// A `rows × cols` weight matrix, quantized row by row (as a linear layer
/// stores it: one row per output).
#[derive(Debug, Clone)]
pub struct QuantMatrix {
    rows: usize,
    cols: usize,
    blocks_per_row: usize,
    data: Rows,
}

impl QuantMatrix {
    /// Quantizes the row-major `rows × cols` matrix `weights`.
    pub fn from_f32(weights: &[f32], rows: usize, cols: usize, format: QuantFormat) -> QuantMatrix {
        assert_eq!(weights.len(), rows * cols, "weights must be rows × cols");
        let bpr = blocks_for(cols);
        let data = match format {
            QuantFormat::Q8_0 => {
                let mut blocks = vec![BlockQ8_0::ZERO; rows * bpr];
                for (row, out) in weights
                    .chunks(cols.max(1))
                    .zip(blocks.chunks_mut(bpr.max(1)))
                {
                    quantize_row_q8_0(row, out);
                }
                Rows::Q8_0(blocks)
            }
            QuantFormat::Q4_0 => {
                let mut blocks = vec![BlockQ4_0::ZERO; rows * bpr];
                for (row, out) in weights
                    .chunks(cols.max(1))
                    .zip(blocks.chunks_mut(bpr.max(1)))
                {
                    quantize_row_q4_0(row, out);
                }
                Rows::Q4_0(blocks)
            }
        };
        QuantMatrix {
            rows,
            cols,
            blocks_per_row: bpr,
            data,
        }
    }

    /// Number of rows (outputs).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (inputs).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The storage format.
    pub fn format(&self) -> QuantFormat {
        match self.data {
            Rows::Q8_0(_) => QuantFormat::Q8_0,
            Rows::Q4_0(_) => QuantFormat::Q4_0,
        }
    }

    /// Quantizes activations for this matrix: `x.len()` must be a multiple
    /// of `cols`; `scratch` is resized to hold the result.
    pub fn quantize_activations(&self, x: &[f32], scratch: &mut Vec<BlockQ8_0>) {
        assert_eq!(
            x.len() % self.cols.max(1),
            0,
            "activations must be n × cols"
        );
        let n = x.len() / self.cols.max(1);
        scratch.clear();
        scratch.resize(n * self.blocks_per_row, BlockQ8_0::ZERO);
        for (row, out) in x
            .chunks(self.cols.max(1))
            .zip(scratch.chunks_mut(self.blocks_per_row.max(1)))
        {
            quantize_row_q8_0(row, out);
        }
    }

    /// `y[i][r] = Σ_c x[i][c] · W[r][c]` for `n = x.len() / cols` activation
    /// rows: `y` is `n × rows`. `scratch` holds the quantized activations
    /// (reused between calls to avoid allocating).
    pub fn matmul(
        &self,
        kernels: &Kernels,
        x: &[f32],
        y: &mut [f32],
        scratch: &mut Vec<BlockQ8_0>,
    ) {
        self.quantize_activations(x, scratch);
        self.matmul_quantized(kernels, scratch, y);
    }

    /// `matmul` for one activation row.
    pub fn matvec(
        &self,
        kernels: &Kernels,
        x: &[f32],
        y: &mut [f32],
        scratch: &mut Vec<BlockQ8_0>,
    ) {
        assert_eq!(x.len(), self.cols, "x must have cols values");
        self.matmul(kernels, x, y, scratch);
    }

    /// `matmul` with activations already quantized by
    /// [`QuantMatrix::quantize_activations`].
    pub fn matmul_quantized(&self, kernels: &Kernels, xq: &[BlockQ8_0], y: &mut [f32]) {
        let bpr = self.blocks_per_row;
        let n = xq.len().checked_div(bpr).unwrap_or(0);
        assert_eq!(y.len(), n * self.rows, "y must be n × rows");
        if bpr == 0 {
            y.fill(0.0);
            return;
        }
        // Weight rows outermost: each stays in L1 while every activation
        // row meets it.
        for r in 0..self.rows {
            match &self.data {
                Rows::Q8_0(blocks) => {
                    let w = &blocks[r * bpr..(r + 1) * bpr];
                    for (i, a) in xq.chunks(bpr).enumerate() {
                        y[i * self.rows + r] = kernels.dot_q8_0(w, a);
                    }
                }
                Rows::Q4_0(blocks) => {
                    let w = &blocks[r * bpr..(r + 1) * bpr];
                    for (i, a) in xq.chunks(bpr).enumerate() {
                        y[i * self.rows + r] = kernels.dot_q4_0(w, a);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{tests::random, Variant};

    /// Every supported variant, on awkward shapes: the result is the exact
    /// product of the dequantized weights and activations (the kernels add
    /// no error of their own beyond f32 accumulation).
    #[test]
    fn matmul_is_exact_on_dequantized_values_for_awkward_shapes() {
        use crate::quant::{dequantize_row_q4_0, dequantize_row_q8_0};
        let shapes = [
            (1, 1, 1),
            (1, 31, 1),
            (3, 32, 2),
            (5, 33, 1),
            (7, 100, 3),
            (16, 384, 8),
            (384, 384, 1),
            (33, 1536, 2),
        ];
        for variant in Variant::ALL {
            let Some(kernels) = Kernels::for_variant(variant) else {
                continue;
            };
            for &(rows, cols, n) in &shapes {
                let w = random(rows * cols, (rows * 1000 + cols) as u64, 1.0);
                let x = random(n * cols, (n * 7 + cols) as u64, 1.0);
                for format in [QuantFormat::Q8_0, QuantFormat::Q4_0] {
                    let m = QuantMatrix::from_f32(&w, rows, cols, format);
                    let mut y = vec![f32::NAN; n * rows];
                    let mut scratch = Vec::new();
                    m.matmul(&kernels, &x, &mut y, &mut scratch);
                    // Dequantize what the kernels saw and multiply in f64.
                    let bpr = blocks_for(cols);
                    let mut xd = vec![0.0f32; n * cols];
                    for (i, row) in xd.chunks_mut(cols).enumerate() {
                        dequantize_row_q8_0(&scratch[i * bpr..(i + 1) * bpr], row);
                    }
                    let mut wd = vec![0.0f32; rows * cols];
                    for (r, row) in wd.chunks_mut(cols).enumerate() {
                        match &m.data {
                            Rows::Q8_0(b) => dequantize_row_q8_0(&b[r * bpr..(r + 1) * bpr], row),
                            Rows::Q4_0(b) => dequantize_row_q4_0(&b[r * bpr..(r + 1) * bpr], row),
                        }
                    }
                    for i in 0..n {
                        for r in 0..rows {
                            let terms = (0..cols)
                                .map(|c| xd[i * cols + c] as f64 * wd[r * cols + c] as f64);
                            let exact: f64 = terms.clone().sum();
                            let magnitude: f64 = terms.map(f64::abs).sum();
                            let got = y[i * rows + r] as f64;
                            assert!(
                                (got - exact).abs() <= 1e-5 * magnitude + 1e-6,
                                "{variant:?} {format:?} {rows}x{cols} n={n} [{i},{r}]: {got} vs {exact}"
                            );
                        }
                    }
                }
            }
        }
    }
}
