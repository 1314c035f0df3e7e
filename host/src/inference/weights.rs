//! Weight files (safetensors), memory-mapped once and shared.
//!
//! A file is mapped read-only and advised for huge pages (on these VMs
//! huge pages gave +50% single-thread memory bandwidth; the kernel may
//! decline for file mappings, which costs nothing). Views handed to
//! plugins point into the mapping: no copy, valid while the file is held.
//!
//! Pre-quantized matrices are stored as `U8` tensors of ggml blocks
//! (`rows × blocks·34` for Q8_0, `rows × blocks·18` for Q4_0) with the
//! file metadata `"<name>.format" = "q8_0" | "q4_0"` and
//! `"<name>.cols" = "<cols>"`; [`Weights::matrix`] repacks them for the
//! kernels without requantizing.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Weak},
};

use anyhow::{bail, Context as _, Result};
use hark_kernels::{
    quant::{BlockQ4_0, BlockQ8_0, BLOCK},
    QuantFormat, QuantMatrix,
};
use hark_plugin_api::DType;
use memmap2::Mmap;
use parking_lot::Mutex;

use super::batch::SharedMatrix;
use safetensors::{tensor::Metadata, Dtype, SafeTensors};

/// A mapped safetensors file.
pub struct Weights {
    /// The file.
    pub path: PathBuf,
    map: Mmap,
    /// Where the tensor data starts (after the 8-byte length and header).
    data_start: usize,
    metadata: Metadata,
    /// Matrices made from this file, shared by the nodes that use them
    /// (and so batched together), kept while one of them does.
    matrices: Mutex<HashMap<(String, QuantFormat), Weak<SharedMatrix>>>,
}

impl std::fmt::Debug for Weights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Weights").field("path", &self.path).finish()
    }
}

/// A tensor inside a mapped file.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// Element type.
    pub dtype: DType,
    /// Dimensions.
    pub shape: &'a [usize],
    /// Little-endian elements.
    pub bytes: &'a [u8],
}

static FILES: Mutex<Option<HashMap<PathBuf, Weak<Weights>>>> = Mutex::new(None);

/// Maps the file at `path`, or shares the mapping already made.
pub fn open(path: &Path) -> Result<Arc<Weights>> {
    let canonical = path
        .canonicalize()
        .with_context(|| format!("weight file {} not found", path.display()))?;
    crate::catalog::check_after_install(&canonical).map_err(anyhow::Error::msg)?;
    let mut files = FILES.lock();
    let files = files.get_or_insert_with(HashMap::new);
    if let Some(w) = files.get(&canonical).and_then(Weak::upgrade) {
        return Ok(w);
    }
    let file = std::fs::File::open(&canonical)
        .with_context(|| format!("opening weight file {}", path.display()))?;
    // SAFETY: the mapping is read-only; like every mmap user we rely on
    // the file not being truncated while mapped (model files are not
    // rewritten in place: `hark models fetch` writes a new file and renames).
    let map = unsafe { Mmap::map(&file) }
        .with_context(|| format!("mapping weight file {}", path.display()))?;
    #[cfg(target_os = "linux")]
    if let Err(e) = map.advise(memmap2::Advice::HugePage) {
        tracing::debug!("huge pages declined for {}: {e}", path.display());
    }
    let (header_len, metadata) = SafeTensors::read_metadata(&map)
        .map_err(|e| anyhow::anyhow!("{} is not a safetensors file: {e}", path.display()))?;
    let weights = Arc::new(Weights {
        path: canonical.clone(),
        data_start: 8 + header_len,
        map,
        metadata,
        matrices: Mutex::new(HashMap::new()),
    });
    files.retain(|_, w| w.strong_count() > 0);
    files.insert(canonical, Arc::downgrade(&weights));
    Ok(weights)
}

impl Weights {
    /// Tensor names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.metadata.tensors().into_keys().collect();
        names.sort();
        names
    }

    /// The tensor `name`, without copying.
    pub fn get(&self, name: &str) -> Result<View<'_>> {
        let Some(info) = self.metadata.info(name) else {
            bail!(
                "no tensor `{name}` in {} (it has {} tensors)",
                self.path.display(),
                self.metadata.tensors().len()
            );
        };
        let dtype = match info.dtype {
            Dtype::F32 => DType::F32,
            Dtype::F16 => DType::F16,
            Dtype::BF16 => DType::BF16,
            Dtype::I64 => DType::I64,
            Dtype::I32 => DType::I32,
            Dtype::U8 => DType::U8,
            Dtype::I8 => DType::I8,
            other => bail!("tensor `{name}` has type {other:?}, which Hark does not handle"),
        };
        let (start, end) = info.data_offsets;
        let bytes = self
            .map
            .get(self.data_start + start..self.data_start + end)
            .with_context(|| format!("tensor `{name}` lies past the end of the file"))?;
        Ok(View {
            dtype,
            shape: &info.shape,
            bytes,
        })
    }

    /// The 2-D tensor `name` as a quantized matrix in `format`: f32, f16
    /// and bf16 tensors are quantized; pre-quantized ones (see the module
    /// docs) are repacked as they are, and must already be in `format`.
    /// [`Weights::matrix`], made once and shared while in use.
    pub fn shared_matrix(&self, name: &str, format: QuantFormat) -> Result<Arc<SharedMatrix>> {
        let key = (name.to_string(), format);
        if let Some(m) = self.matrices.lock().get(&key).and_then(Weak::upgrade) {
            return Ok(m);
        }
        // Made outside the lock: quantizing takes a while, and two nodes
        // racing here at worst make it twice.
        let m = Arc::new(SharedMatrix::new(self.matrix(name, format)?));
        let mut matrices = self.matrices.lock();
        if let Some(first) = matrices.get(&key).and_then(Weak::upgrade) {
            return Ok(first);
        }
        matrices.retain(|_, w| w.strong_count() > 0);
        matrices.insert(key, Arc::downgrade(&m));
        Ok(m)
    }

    /// The tensor `name` as a matrix in `format`.
    pub fn matrix(&self, name: &str, format: QuantFormat) -> Result<QuantMatrix> {
        let view = self.get(name)?;
        let meta = |key: &str| {
            self.metadata
                .metadata()
                .as_ref()
                .and_then(|m| m.get(&format!("{name}.{key}")).cloned())
        };
        if let Some(stored) = meta("format") {
            let cols: usize = meta("cols")
                .and_then(|c| c.parse().ok())
                .with_context(|| format!("pre-quantized tensor `{name}` lacks `{name}.cols`"))?;
            let rows = *view.shape.first().unwrap_or(&0);
            let blocks = rows * cols.div_ceil(BLOCK);
            return match (stored.as_str(), format) {
                ("q8_0", QuantFormat::Q8_0) => {
                    let b = blocks_from_bytes::<BlockQ8_0>(view.bytes, blocks, 34, |c| BlockQ8_0 {
                        d: u16::from_le_bytes([c[0], c[1]]),
                        qs: std::array::from_fn(|i| c[2 + i] as i8),
                    })?;
                    Ok(QuantMatrix::from_q8_0_blocks(&b, rows, cols))
                }
                ("q4_0", QuantFormat::Q4_0) => {
                    let b = blocks_from_bytes::<BlockQ4_0>(view.bytes, blocks, 18, |c| BlockQ4_0 {
                        d: u16::from_le_bytes([c[0], c[1]]),
                        qs: std::array::from_fn(|i| c[2 + i]),
                    })?;
                    Ok(QuantMatrix::from_q4_0_blocks(&b, rows, cols))
                }
                (stored, wanted) => bail!(
                    "tensor `{name}` is stored as {stored}; asked for {} (requantizing would add error: store it in the format you use)",
                    wanted.name()
                ),
            };
        }
        let [rows, cols] = view.shape[..] else {
            bail!(
                "tensor `{name}` has shape {:?}; a matrix needs 2 dimensions",
                view.shape
            );
        };
        let values = to_f32(&view).with_context(|| format!("tensor `{name}`"))?;
        Ok(QuantMatrix::from_f32(&values, rows, cols, format))
    }
}

fn blocks_from_bytes<B>(
    bytes: &[u8],
    count: usize,
    size: usize,
    read: impl Fn(&[u8]) -> B,
) -> Result<Vec<B>> {
    if bytes.len() != count * size {
        bail!(
            "{} bytes of blocks, expected {count} blocks of {size} bytes",
            bytes.len()
        );
    }
    Ok(bytes.chunks_exact(size).map(read).collect())
}

/// The elements of a float tensor as f32.
pub fn to_f32(view: &View<'_>) -> Result<Vec<f32>> {
    view.dtype
        .decode_floats(view.bytes)
        .with_context(|| format!("{} is not a float type", view.dtype.name()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use hark_kernels::quant::quantize_row_q8_0;
    use safetensors::tensor::TensorView;

    use super::*;

    fn bytes_f32(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// A file with an f32 matrix, an f16 vector and the f32 matrix stored
    /// pre-quantized as ggml Q8_0 blocks.
    fn write_file(path: &Path, w: &[f32], rows: usize, cols: usize) {
        let bpr = cols.div_ceil(BLOCK);
        let mut blocks = vec![BlockQ8_0::ZERO; rows * bpr];
        for r in 0..rows {
            quantize_row_q8_0(
                &w[r * cols..(r + 1) * cols],
                &mut blocks[r * bpr..(r + 1) * bpr],
            );
        }
        let q8: Vec<u8> = blocks
            .iter()
            .flat_map(|b| {
                let mut v = b.d.to_le_bytes().to_vec();
                v.extend(b.qs.iter().map(|&q| q as u8));
                v
            })
            .collect();
        let f32_bytes = bytes_f32(w);
        let f16_bytes: Vec<u8> = [1.0f32, -2.5]
            .iter()
            .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
            .collect();
        let tensors = vec![
            (
                "dense.weight",
                TensorView::new(Dtype::F32, vec![rows, cols], &f32_bytes).unwrap(),
            ),
            (
                "norm.weight",
                TensorView::new(Dtype::F16, vec![2], &f16_bytes).unwrap(),
            ),
            (
                "dense.q8",
                TensorView::new(Dtype::U8, vec![rows, bpr * 34], &q8).unwrap(),
            ),
        ];
        let metadata = HashMap::from([
            ("dense.q8.format".to_string(), "q8_0".to_string()),
            ("dense.q8.cols".to_string(), cols.to_string()),
        ]);
        safetensors::serialize_to_file(tensors, Some(metadata), path).unwrap();
    }

    #[test]
    fn views_point_into_the_shared_mapping_and_prequantized_matrices_are_used_as_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let (rows, cols) = (20, 70);
        let w: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
            .collect();
        write_file(&path, &w, rows, cols);

        let file = open(&path).unwrap();
        assert!(
            Arc::ptr_eq(&file, &open(&path).unwrap()),
            "one mapping per file"
        );
        assert_eq!(file.names(), ["dense.q8", "dense.weight", "norm.weight"]);

        let view = file.get("dense.weight").unwrap();
        assert_eq!((view.dtype, view.shape), (DType::F32, &[rows, cols][..]));
        let map = file.map.as_ptr_range();
        assert!(map.contains(&view.bytes.as_ptr()), "a view is not a copy");
        assert_eq!(to_f32(&view).unwrap(), w);
        assert_eq!(
            to_f32(&file.get("norm.weight").unwrap()).unwrap(),
            [1.0, -2.5]
        );

        // Quantizing the f32 tensor and reading the stored blocks agree.
        let quantized = file.matrix("dense.weight", QuantFormat::Q8_0).unwrap();
        let stored = file.matrix("dense.q8", QuantFormat::Q8_0).unwrap();
        assert_eq!((stored.rows(), stored.cols()), (rows, cols));
        assert_eq!(stored.dequantize(), quantized.dequantize());

        let wrong = file.matrix("dense.q8", QuantFormat::Q4_0).unwrap_err();
        assert!(
            wrong.to_string().contains("stored as q8_0; asked for q4_0"),
            "{wrong}"
        );
        let missing = file.get("nope").unwrap_err();
        assert!(
            missing.to_string().contains("no tensor `nope`"),
            "{missing}"
        );
    }

    #[test]
    fn a_file_that_is_not_safetensors_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.safetensors");
        std::fs::write(&path, b"definitely not safetensors").unwrap();
        let error = open(&path).unwrap_err();
        assert!(
            error.to_string().contains("is not a safetensors file"),
            "{error}"
        );
        let missing = open(&dir.path().join("absent.safetensors")).unwrap_err();
        assert!(missing.to_string().contains("not found"), "{missing}");
    }
}
