//! Quantized weight matrices, repacked for the kernels, and their products
//! with f32 activations.
//!
//! # Layout
//!
//! A matrix is stored in *panels* of [`PANEL`] = 16 rows. Inside a panel,
//! the weights of 4 consecutive columns (a "quad") of all 16 rows sit in
//! 64 contiguous bytes: byte `quad·64 + row·4 + lane` is
//! `W[row][4·quad + lane]`. One 512-bit load therefore feeds one
//! `vpdpbusd`, which adds 4 products into each of 16 row accumulators:
//! 16 rows advance together and no horizontal sum is ever needed. Q4_0
//! packs two quads per 64 bytes (low nibble: quad `2p`, high: `2p + 1`).
//! Columns are zero-padded to a multiple of 32, rows to a multiple of 16.
//!
//! Per-block weight scales are kept as f32 (not f16) next to the panel,
//! with, for the VNNI variant, `128 · Σw` per row and block. VNNI
//! multiplies unsigned by signed bytes, so one side must be offset by
//! 128 and the offset taken back out once per block: in a GEMM the
//! activations enter as `q + 128` (made once, reused by every panel) and
//! the stored `128 · Σw` is subtracted; in a GEMV, which streams the
//! weights from L2 and is bound by bytes moved, the kernel flips the
//! weights to `w + 128` as it loads them and subtracts `128 · Σq` of the
//! activations instead, so it reads no offsets at all.
//!
//! Activations are quantized on the fly (per block of 32 for Q8_0/Q4_0,
//! per vector for [`QuantFormat::I8Row`]) into an [`Activations`] buffer
//! the caller keeps between calls.

use std::ops::Range;

use crate::{
    kernels::Kernels,
    quant::{quantize_row_q4_0, quantize_row_q8_0, BlockQ4_0, BlockQ8_0, BLOCK},
    threads::ThreadPool,
};

/// Rows per panel.
pub const PANEL: usize = 16;

/// How a [`QuantMatrix`] stores its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantFormat {
    /// Blocks of 32 × i8 with one scale per block (ggml Q8_0 values).
    Q8_0,
    /// Blocks of 32 × 4 bits with one scale per block (ggml Q4_0 values).
    Q4_0,
    /// i8 with one scale per row: the fastest, for weights whose rows have
    /// no outliers (activations then get one scale per vector).
    I8Row,
    /// Plain f32 (no quantization): the baseline the others are measured
    /// against, and for layers too sensitive to quantize.
    F32,
}

impl QuantFormat {
    /// Every format.
    pub const ALL: [QuantFormat; 4] = [
        QuantFormat::Q8_0,
        QuantFormat::Q4_0,
        QuantFormat::I8Row,
        QuantFormat::F32,
    ];

    /// The lower-case name (`q8_0`, `q4_0`, `i8row`, `f32`).
    pub fn name(self) -> &'static str {
        match self {
            QuantFormat::Q8_0 => "q8_0",
            QuantFormat::Q4_0 => "q4_0",
            QuantFormat::I8Row => "i8row",
            QuantFormat::F32 => "f32",
        }
    }
}

/// A `rows × cols` weight matrix (one row per output, as a linear layer
/// stores it), quantized and repacked into panels.
#[derive(Debug, Clone)]
pub struct QuantMatrix {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    /// `cols` rounded up to a multiple of 32.
    pub(crate) kp: usize,
    pub(crate) format: QuantFormat,
    /// Panel after panel: [`QuantMatrix::panel_bytes`] each (quantized
    /// formats).
    pub(crate) weights: Vec<u8>,
    /// F32 only: panel after panel, `kp` groups of 16 row values.
    pub(crate) weights_f32: Vec<f32>,
    /// Q8_0/Q4_0: per panel, per block, 16 row scales; I8Row: per panel,
    /// 16 row scales.
    pub(crate) scales: Vec<f32>,
    /// Q8_0/I8Row: `128 · Σw`, laid out like `scales`; empty for Q4_0.
    pub(crate) offsets: Vec<i32>,
}

/// Q8_0/I8Row byte of `W[row][col]` inside its panel.
fn q8_index(row: usize, col: usize) -> usize {
    (col / 4) * 64 + (row % PANEL) * 4 + col % 4
}

impl QuantMatrix {
    /// Quantizes the row-major `rows × cols` matrix `weights`.
    pub fn from_f32(weights: &[f32], rows: usize, cols: usize, format: QuantFormat) -> QuantMatrix {
        assert_eq!(weights.len(), rows * cols, "weights must be rows × cols");
        let bpr = cols.div_ceil(BLOCK);
        match format {
            QuantFormat::Q8_0 => {
                let mut blocks = vec![BlockQ8_0::ZERO; rows * bpr];
                for (r, out) in blocks.chunks_mut(bpr.max(1)).enumerate().take(rows) {
                    quantize_row_q8_0(&weights[r * cols..(r + 1) * cols], out);
                }
                QuantMatrix::from_q8_0_blocks(&blocks, rows, cols)
            }
            QuantFormat::Q4_0 => {
                let mut blocks = vec![BlockQ4_0::ZERO; rows * bpr];
                for (r, out) in blocks.chunks_mut(bpr.max(1)).enumerate().take(rows) {
                    quantize_row_q4_0(&weights[r * cols..(r + 1) * cols], out);
                }
                QuantMatrix::from_q4_0_blocks(&blocks, rows, cols)
            }
            QuantFormat::I8Row => {
                let mut m = QuantMatrix::empty(rows, cols, format);
                for r in 0..rows {
                    let row = &weights[r * cols..(r + 1) * cols];
                    let amax = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                    let d = amax / 127.0;
                    let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
                    let base = (r / PANEL) * m.panel_bytes();
                    let mut sum = 0i32;
                    for (c, v) in row.iter().enumerate() {
                        let q = (v * inv).round() as i8;
                        sum += q as i32;
                        m.weights[base + q8_index(r, c)] = q as u8;
                    }
                    m.scales[r] = d;
                    m.offsets[r] = 128 * sum;
                }
                m
            }
            QuantFormat::F32 => {
                let mut m = QuantMatrix::empty(rows, cols, format);
                for r in 0..rows {
                    let base = (r / PANEL) * m.kp * PANEL;
                    for c in 0..cols {
                        m.weights_f32[base + c * PANEL + r % PANEL] = weights[r * cols + c];
                    }
                }
                m
            }
        }
    }

    /// A matrix from ggml Q8_0 blocks (`rows × ceil(cols / 32)`), as found
    /// in pre-quantized weight files.
    pub fn from_q8_0_blocks(blocks: &[BlockQ8_0], rows: usize, cols: usize) -> QuantMatrix {
        let bpr = cols.div_ceil(BLOCK);
        assert_eq!(blocks.len(), rows * bpr, "need rows × ceil(cols/32) blocks");
        let mut m = QuantMatrix::empty(rows, cols, QuantFormat::Q8_0);
        let blocks_per_panel = bpr * PANEL;
        for r in 0..rows {
            let base = (r / PANEL) * m.panel_bytes();
            for (b, block) in blocks[r * bpr..(r + 1) * bpr].iter().enumerate() {
                let mut sum = 0i32;
                for (j, &q) in block.qs.iter().enumerate() {
                    m.weights[base + q8_index(r, b * BLOCK + j)] = q as u8;
                    sum += q as i32;
                }
                let at = (r / PANEL) * blocks_per_panel + b * PANEL + r % PANEL;
                m.scales[at] = block.scale();
                m.offsets[at] = 128 * sum;
            }
        }
        m
    }

    /// A matrix from ggml Q4_0 blocks (`rows × ceil(cols / 32)`).
    pub fn from_q4_0_blocks(blocks: &[BlockQ4_0], rows: usize, cols: usize) -> QuantMatrix {
        let bpr = cols.div_ceil(BLOCK);
        assert_eq!(blocks.len(), rows * bpr, "need rows × ceil(cols/32) blocks");
        let mut m = QuantMatrix::empty(rows, cols, QuantFormat::Q4_0);
        for r in 0..rows {
            let base = (r / PANEL) * m.panel_bytes();
            for (b, block) in blocks[r * bpr..(r + 1) * bpr].iter().enumerate() {
                for j in 0..BLOCK {
                    // ggml: value j in the low nibble of byte j, j + 16 in the high one.
                    let nibble = if j < 16 {
                        block.qs[j] & 0x0f
                    } else {
                        block.qs[j - 16] >> 4
                    };
                    let col = b * BLOCK + j;
                    let (pair, quad_in_pair, lane) = (col / 8, (col / 4) % 2, col % 4);
                    let at = base + pair * 64 + (r % PANEL) * 4 + lane;
                    m.weights[at] |= nibble << (4 * quad_in_pair);
                }
                m.scales[(r / PANEL) * bpr * PANEL + b * PANEL + r % PANEL] = block.scale();
            }
        }
        m
    }

    /// An all-zero matrix with storage for `format`.
    fn empty(rows: usize, cols: usize, format: QuantFormat) -> QuantMatrix {
        let kp = cols.div_ceil(BLOCK) * BLOCK;
        let panels = rows.div_ceil(PANEL);
        let mut m = QuantMatrix {
            rows,
            cols,
            kp,
            format,
            weights: Vec::new(),
            weights_f32: Vec::new(),
            scales: Vec::new(),
            offsets: Vec::new(),
        };
        let per_panel = match format {
            QuantFormat::Q8_0 | QuantFormat::Q4_0 => (kp / BLOCK) * PANEL,
            QuantFormat::I8Row => PANEL,
            QuantFormat::F32 => {
                m.weights_f32 = vec![0.0; panels * kp * PANEL];
                return m;
            }
        };
        m.weights = vec![0; panels * m.panel_bytes()];
        m.scales = vec![0.0; panels * per_panel];
        if format != QuantFormat::Q4_0 {
            m.offsets = vec![0; panels * per_panel];
        }
        m
    }

    /// Bytes of weights per panel.
    pub(crate) fn panel_bytes(&self) -> usize {
        match self.format {
            QuantFormat::Q8_0 | QuantFormat::I8Row => self.kp * PANEL,
            QuantFormat::Q4_0 => self.kp * PANEL / 2,
            QuantFormat::F32 => self.kp * PANEL * 4,
        }
    }

    /// Number of panels.
    pub(crate) fn panels(&self) -> usize {
        self.rows.div_ceil(PANEL)
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
        self.format
    }

    /// Bytes used by the weights and their scales.
    pub fn size_bytes(&self) -> usize {
        self.weights.len() + 4 * (self.weights_f32.len() + self.scales.len() + self.offsets.len())
    }

    /// The weights as the kernels see them, dequantized (row-major
    /// `rows × cols`): what every product is exact against.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.rows * self.cols];
        let bpr = self.kp / BLOCK;
        if self.format == QuantFormat::F32 {
            for r in 0..self.rows {
                let base = (r / PANEL) * self.kp * PANEL;
                for c in 0..self.cols {
                    out[r * self.cols + c] = self.weights_f32[base + c * PANEL + r % PANEL];
                }
            }
            return out;
        }
        for r in 0..self.rows {
            let (p, lr) = (r / PANEL, r % PANEL);
            let panel = &self.weights[p * self.panel_bytes()..(p + 1) * self.panel_bytes()];
            for c in 0..self.cols {
                let (q, scale) = match self.format {
                    QuantFormat::Q8_0 => (
                        panel[q8_index(r, c)] as i8 as i32,
                        self.scales[p * bpr * PANEL + (c / BLOCK) * PANEL + lr],
                    ),
                    QuantFormat::I8Row => (panel[q8_index(r, c)] as i8 as i32, self.scales[r]),
                    QuantFormat::Q4_0 => {
                        let byte = panel[(c / 8) * 64 + lr * 4 + c % 4];
                        let nibble = (byte >> (4 * ((c / 4) % 2))) & 0x0f;
                        (
                            nibble as i32 - 8,
                            self.scales[p * bpr * PANEL + (c / BLOCK) * PANEL + lr],
                        )
                    }
                    QuantFormat::F32 => unreachable!("handled above"),
                };
                out[r * self.cols + c] = q as f32 * scale;
            }
        }
        out
    }

    /// Quantizes `x` (`n × cols`, row-major) for products with this matrix
    /// on `kernels`, into `acts` (reused between calls).
    pub fn quantize_activations(&self, kernels: &Kernels, x: &[f32], acts: &mut Activations) {
        let cols = self.cols.max(1);
        assert_eq!(x.len() % cols, 0, "activations must be n × cols");
        acts.fill(
            x,
            cols,
            self.kp,
            self.format,
            kernels.activation_bytes(self.format),
        );
    }

    /// `y[i][r] = Σ_c x[i][c] · W[r][c]` for the `n = x.len() / cols`
    /// activation rows of `x`; `y` is `n × rows`. Runs on `pool` when given
    /// (panels are split between its threads), else on this thread.
    pub fn matmul(
        &self,
        kernels: &Kernels,
        x: &[f32],
        y: &mut [f32],
        acts: &mut Activations,
        pool: Option<&ThreadPool>,
    ) {
        self.quantize_activations(kernels, x, acts);
        self.matmul_quantized(kernels, acts, y, pool);
    }

    /// `matmul` with activations already quantized by
    /// [`QuantMatrix::quantize_activations`].
    pub fn matmul_quantized(
        &self,
        kernels: &Kernels,
        acts: &Activations,
        y: &mut [f32],
        pool: Option<&ThreadPool>,
    ) {
        assert_eq!(
            (acts.kp, acts.format),
            (self.kp, Some(self.format)),
            "activations were quantized for another matrix shape or format"
        );
        assert_eq!(y.len(), acts.n * self.rows, "y must be n × rows");
        if acts.n == 0 || self.rows == 0 {
            return;
        }
        let out = Out {
            ptr: y.as_mut_ptr(),
            rows: self.rows,
            n: acts.n,
        };
        let panels = self.panels();
        match pool {
            Some(pool) if pool.threads() > 1 && panels > 1 => {
                let parts = pool.threads().min(panels);
                pool.run(parts, &|part| {
                    let range = part * panels / parts..(part + 1) * panels / parts;
                    kernels.run_panels(self, acts, range, out);
                });
            }
            _ => kernels.run_panels(self, acts, 0..panels, out),
        }
    }
}

/// Where kernels write results: `y` (`n × rows`), shared between threads
/// that each own different panels, i.e. disjoint rows of every column.
#[derive(Clone, Copy)]
pub(crate) struct Out {
    ptr: *mut f32,
    rows: usize,
    n: usize,
}

// SAFETY: threads write disjoint elements (see `Out::store`), and the
// caller of `matmul_quantized` holds `&mut y` until all threads finish.
unsafe impl Send for Out {}
// SAFETY: as above.
unsafe impl Sync for Out {}

impl Out {
    /// Writes panel `panel`'s 16 results for activation row `i`, dropping
    /// the padding rows past `rows`.
    ///
    /// Each (panel, i) pair is written by exactly one thread.
    #[inline]
    pub(crate) fn store(&self, panel: usize, i: usize, values: &[f32; PANEL]) {
        assert!(i < self.n && panel * PANEL < self.rows);
        let first = panel * PANEL;
        let count = PANEL.min(self.rows - first);
        // SAFETY: in bounds (checked above: `i·rows + first + count ≤
        // n·rows`); no other thread writes these elements (the panel is
        // this thread's).
        unsafe {
            std::ptr::copy_nonoverlapping(
                values.as_ptr(),
                self.ptr.add(i * self.rows + first),
                count,
            )
        }
    }
}

/// Activations quantized for one matrix format and kernel variant.
#[derive(Debug, Clone, Default)]
pub struct Activations {
    pub(crate) n: usize,
    pub(crate) kp: usize,
    pub(crate) format: Option<QuantFormat>,
    /// Signed quants, `n × kp`, zero-padded.
    pub(crate) q: Vec<i8>,
    /// What the variant's u8 × i8 instructions need as unsigned bytes:
    /// `q + 128` (VNNI) or `|q|` (AVX2); empty when unused.
    pub(crate) u: Vec<u8>,
    /// Scales: per block (`n × kp/32`), or per row for I8Row (`n`).
    pub(crate) d: Vec<f32>,
    /// `Σq` per block (`n × kp/32`), or per row for I8Row (`n`): what
    /// unsigned weights (Q4_0's `w + 8`, flipped `w + 128`) add, to take
    /// back out.
    pub(crate) sums: Vec<i32>,
    /// F32 only: the activations as they are, `n × kp`, zero-padded.
    pub(crate) f: Vec<f32>,
}

/// Which unsigned copy of the quants a kernel variant reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActivationBytes {
    /// None: the kernel reads the signed quants only.
    Signed,
    /// `q + 128`.
    Offset,
    /// `|q|`.
    Magnitude,
}

impl Activations {
    /// An empty buffer; grows on first use.
    pub fn new() -> Activations {
        Activations::default()
    }

    /// Number of activation rows held.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether no rows are held.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn fill(
        &mut self,
        x: &[f32],
        cols: usize,
        kp: usize,
        format: QuantFormat,
        bytes: ActivationBytes,
    ) {
        let n = x.len() / cols;
        let bpr = kp / BLOCK;
        self.n = n;
        self.kp = kp;
        self.format = Some(format);
        self.f.clear();
        if format == QuantFormat::F32 {
            self.f.resize(n * kp, 0.0);
            for (row, out) in x.chunks_exact(cols).zip(self.f.chunks_exact_mut(kp)) {
                out[..cols].copy_from_slice(row);
            }
            self.q.clear();
            self.u.clear();
            self.d.clear();
            self.sums.clear();
            return;
        }
        self.q.clear();
        self.q.resize(n * kp, 0);
        self.d.clear();
        self.sums.clear();
        for (i, row) in x.chunks_exact(cols).enumerate() {
            let q = &mut self.q[i * kp..(i + 1) * kp];
            match format {
                QuantFormat::I8Row => {
                    let amax = amax(row);
                    self.d.push(quantize_into(row, amax, q));
                    self.sums.push(q.iter().map(|&v| v as i32).sum());
                }
                QuantFormat::F32 => unreachable!("handled above"),
                QuantFormat::Q8_0 | QuantFormat::Q4_0 => {
                    for b in 0..bpr {
                        let end = ((b + 1) * BLOCK).min(cols);
                        let chunk = &row[(b * BLOCK).min(end)..end];
                        let amax = amax(chunk);
                        let qb = &mut q[b * BLOCK..b * BLOCK + chunk.len()];
                        self.d.push(quantize_into(chunk, amax, qb));
                        self.sums.push(qb.iter().map(|&v| v as i32).sum());
                    }
                }
            }
        }
        self.u.clear();
        match bytes {
            ActivationBytes::Signed => {}
            ActivationBytes::Offset => self
                .u
                .extend(self.q.iter().map(|&v| (v as i32 + 128) as u8)),
            ActivationBytes::Magnitude => self.u.extend(self.q.iter().map(|&v| v.unsigned_abs())),
        }
    }

    /// The activations as the kernels see them, dequantized (`n × cols`).
    pub fn dequantize(&self, cols: usize) -> Vec<f32> {
        if self.format == Some(QuantFormat::F32) {
            return self
                .f
                .chunks_exact(self.kp)
                .flat_map(|row| &row[..cols])
                .copied()
                .collect();
        }
        let per_row = self.format == Some(QuantFormat::I8Row);
        let bpr = self.kp / BLOCK;
        let mut out = vec![0.0; self.n * cols];
        for i in 0..self.n {
            for c in 0..cols {
                let d = if per_row {
                    self.d[i]
                } else {
                    self.d[i * bpr + c / BLOCK]
                };
                out[i * cols + c] = self.q[i * self.kp + c] as f32 * d;
            }
        }
        out
    }
}

/// The largest magnitude in `x`, in 8 independent lanes: a single running
/// maximum is a chain of dependent instructions the compiler may not
/// reorder (NaN rules), and costs more than the quantization itself.
fn amax(x: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (m, v) in lanes.iter_mut().zip(chunk) {
            *m = m.max(v.abs());
        }
    }
    for (m, v) in lanes.iter_mut().zip(tail) {
        *m = m.max(v.abs());
    }
    lanes.into_iter().fold(0.0, f32::max)
}

/// Symmetric quantization of `x` to i8 with scale `amax / 127`, into `q`;
/// returns the scale.
fn quantize_into(x: &[f32], amax: f32, q: &mut [i8]) -> f32 {
    let d = amax / 127.0;
    let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
    for (q, v) in q.iter_mut().zip(x) {
        // Round half away from zero, as `f32::round`, but with a truncating
        // conversion the compiler vectorises (`round` is a libm call on
        // the x86-64 baseline; this loop runs on every activation).
        let r = v * inv;
        *q = (r + 0.5f32.copysign(r)) as i32 as i8;
    }
    d
}

/// The panels of `m` a call covers, for kernels.
pub(crate) type Panels = Range<usize>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{kernels::Variant, testutil::random};

    /// Every supported variant and format, on awkward shapes: the result
    /// is the product of the dequantized weights and activations (the
    /// kernels add no error beyond f32 accumulation), with and without
    /// threads.
    #[test]
    fn matmul_is_exact_on_dequantized_values_for_awkward_shapes() {
        let shapes = [
            (1, 1, 1),
            (1, 31, 1),
            (3, 32, 2),
            (5, 33, 1),
            (7, 100, 3),
            (17, 64, 5),
            (16, 384, 8),
            (384, 384, 1),
            (33, 1536, 2),
            (40, 70, 9),
        ];
        let pool = ThreadPool::new(3);
        for variant in Variant::ALL {
            let Some(kernels) = Kernels::for_variant(variant) else {
                continue;
            };
            for &(rows, cols, n) in &shapes {
                let w = random(rows * cols, (rows * 1000 + cols) as u64, 1.0);
                let x = random(n * cols, (n * 7 + cols) as u64, 1.0);
                for format in QuantFormat::ALL {
                    let m = QuantMatrix::from_f32(&w, rows, cols, format);
                    let wd = m.dequantize();
                    for threads in [None, Some(&pool)] {
                        let mut y = vec![f32::NAN; n * rows];
                        let mut acts = Activations::new();
                        m.matmul(&kernels, &x, &mut y, &mut acts, threads);
                        let xd = acts.dequantize(cols);
                        for i in 0..n {
                            for r in 0..rows {
                                let terms = (0..cols)
                                    .map(|c| xd[i * cols + c] as f64 * wd[r * cols + c] as f64);
                                let exact: f64 = terms.clone().sum();
                                let magnitude: f64 = terms.map(f64::abs).sum();
                                let got = y[i * rows + r] as f64;
                                assert!(
                                    (got - exact).abs() <= 1e-5 * magnitude + 1e-6,
                                    "{variant:?} {format:?} {rows}x{cols} n={n} [{i},{r}] threads={}: {got} vs {exact}",
                                    threads.is_some()
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// The quantized product is close to the f32 one (the formats' error,
    /// not the kernels').
    #[test]
    fn quantized_products_are_close_to_f32() {
        let (rows, cols, n) = (64, 384, 4);
        let w = random(rows * cols, 5, 1.0);
        let x = random(n * cols, 6, 1.0);
        let (kernels, _) = Kernels::best();
        for (format, tolerance) in [
            (QuantFormat::Q8_0, 0.02),
            (QuantFormat::I8Row, 0.03),
            (QuantFormat::F32, 1e-5),
            (QuantFormat::Q4_0, 0.15),
        ] {
            let m = QuantMatrix::from_f32(&w, rows, cols, format);
            let mut y = vec![0.0; n * rows];
            m.matmul(&kernels, &x, &mut y, &mut Activations::new(), None);
            for i in 0..n {
                for r in 0..rows {
                    let terms = (0..cols).map(|c| x[i * cols + c] * w[r * cols + c]);
                    let exact: f32 = terms.clone().sum();
                    let magnitude: f32 = terms.map(f32::abs).sum();
                    assert!(
                        (y[i * rows + r] - exact).abs() <= tolerance * magnitude,
                        "{format:?} [{i},{r}]: {} vs {exact}",
                        y[i * rows + r]
                    );
                }
            }
        }
    }

    /// Pre-quantized ggml blocks give the same matrix as quantizing here.
    #[test]
    fn ggml_blocks_round_trip_through_the_panel_layout() {
        use crate::quant::{dequantize_row_q4_0, dequantize_row_q8_0};
        let (rows, cols) = (19, 70);
        let w = random(rows * cols, 9, 2.0);
        let bpr = cols.div_ceil(BLOCK);
        let mut q8 = vec![BlockQ8_0::ZERO; rows * bpr];
        let mut q4 = vec![BlockQ4_0::ZERO; rows * bpr];
        let (mut d8, mut d4) = (vec![0.0; rows * cols], vec![0.0; rows * cols]);
        for r in 0..rows {
            let row = &w[r * cols..(r + 1) * cols];
            quantize_row_q8_0(row, &mut q8[r * bpr..(r + 1) * bpr]);
            quantize_row_q4_0(row, &mut q4[r * bpr..(r + 1) * bpr]);
            dequantize_row_q8_0(
                &q8[r * bpr..(r + 1) * bpr],
                &mut d8[r * cols..(r + 1) * cols],
            );
            dequantize_row_q4_0(
                &q4[r * bpr..(r + 1) * bpr],
                &mut d4[r * cols..(r + 1) * cols],
            );
        }
        assert_eq!(
            QuantMatrix::from_q8_0_blocks(&q8, rows, cols).dequantize(),
            d8
        );
        assert_eq!(
            QuantMatrix::from_q4_0_blocks(&q4, rows, cols).dequantize(),
            d4
        );
    }
}
