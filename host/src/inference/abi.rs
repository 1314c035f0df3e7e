//! The `extern "C"` side of [`InferenceVTable`]: what plugin calls into
//! the inference core land on.
//!
//! **Invariant:** nothing here unwinds into the plugin: every function
//! runs its body under `catch_unwind` and reports failures as
//! [`PluginError`]s; shapes are checked before any kernel runs.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    path::Path,
    sync::{Arc, OnceLock},
};

use anyhow::{bail, Result};
use hark_kernels::{ops, QuantFormat, QuantMatrix};
use hark_plugin_api::{
    abi_stable::std_types::{RErr, ROk, ROption, RResult, RSlice, RSliceMut, RStr, RString, RVec},
    InferenceVTable, InferenceVTableRef, MatrixHandle, MatrixShape, ModelHandle, ModelInfo,
    ModelOptions, ModelPart, PluginError, PluginErrorKind, Tensor, TensorView, WeightFormat,
    WeightsHandle,
};

use super::{batch::SharedMatrix, core, models::Model, weights::Weights};

/// The vtable handed to every plugin (one per process).
pub fn vtable() -> InferenceVTableRef {
    static VTABLE: OnceLock<InferenceVTableRef> = OnceLock::new();
    *VTABLE.get_or_init(|| {
        InferenceVTable {
            kernels,
            matrix_quantize,
            matrix_shape,
            linear,
            matrix_release,
            layer_norm,
            softmax,
            gelu,
            add,
            mean_pool,
            model_load,
            model_info,
            model_run,
            model_release,
            weights_open,
            weights_names,
            weights_get,
            weights_matrix,
            weights_release,
            model_metadata,
            model_load_part,
        }
        .leak()
    })
}

/// Runs `f`, turning errors and panics into a [`PluginError`].
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> RResult<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => ROk(value),
        Ok(Err(e)) => RErr(PluginError::new(PluginErrorKind::Failed, format!("{e:#}"))),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            RErr(PluginError::new(
                PluginErrorKind::Failed,
                format!("{what} failed inside the host: {detail}"),
            ))
        }
    }
}

fn the_core() -> Result<&'static super::Core> {
    core().map_err(|e| anyhow::anyhow!("{e}"))
}

extern "C" fn kernels() -> RString {
    match core() {
        Ok(c) => format!("{} ({})", c.kernels.variant().name(), c.reason).into(),
        Err(e) => format!("unavailable: {e}").into(),
    }
}

extern "C" fn matrix_quantize(
    weights: RSlice<'_, f32>,
    rows: u64,
    cols: u64,
    format: WeightFormat,
) -> RResult<MatrixHandle, PluginError> {
    guarded("quantizing a matrix", || {
        let (rows, cols) = (rows as usize, cols as usize);
        if rows.checked_mul(cols) != Some(weights.len()) {
            bail!(
                "a {rows} × {cols} matrix needs {} values, got {}",
                rows.saturating_mul(cols),
                weights.len()
            );
        }
        let m = QuantMatrix::from_f32(&weights, rows, cols, quant_format(format));
        Ok(matrix_handle(Arc::new(SharedMatrix::new(m))))
    })
}

fn quant_format(format: WeightFormat) -> QuantFormat {
    match format {
        WeightFormat::Q8_0 => QuantFormat::Q8_0,
        WeightFormat::Q4_0 => QuantFormat::Q4_0,
        WeightFormat::I8Row => QuantFormat::I8Row,
        WeightFormat::F32 => QuantFormat::F32,
    }
}

/// A handle is an `Arc<SharedMatrix>` given to the plugin: matrices read
/// from a weight file are shared by every node that reads them, so that
/// their products can be batched (`batch.rs`).
fn matrix_handle(m: Arc<SharedMatrix>) -> MatrixHandle {
    MatrixHandle(Arc::into_raw(m) as *const _)
}

/// # Safety
/// `handle` must come from `matrix_quantize` or `weights_matrix` and not be released.
unsafe fn shared_matrix<'a>(handle: MatrixHandle) -> &'a SharedMatrix {
    // SAFETY: guaranteed by the caller.
    unsafe { &*(handle.0 as *const SharedMatrix) }
}

/// # Safety
/// As for [`shared_matrix`].
unsafe fn matrix<'a>(handle: MatrixHandle) -> &'a QuantMatrix {
    // SAFETY: guaranteed by the caller.
    unsafe { &shared_matrix(handle).matrix }
}

unsafe extern "C" fn matrix_shape(handle: MatrixHandle) -> MatrixShape {
    // SAFETY: the plugin passes a live handle (the vtable's contract).
    let m = unsafe { matrix(handle) };
    MatrixShape {
        rows: m.rows() as u64,
        cols: m.cols() as u64,
    }
}

unsafe extern "C" fn linear(
    handle: MatrixHandle,
    x: RSlice<'_, f32>,
    bias: RSlice<'_, f32>,
    mut y: RSliceMut<'_, f32>,
) -> RResult<(), PluginError> {
    // SAFETY: the plugin passes a live handle (the vtable's contract).
    let shared = unsafe { shared_matrix(handle) };
    let m = &shared.matrix;
    guarded("linear", || {
        let core = the_core()?;
        let (rows, cols) = (m.rows(), m.cols());
        if cols == 0 || !x.len().is_multiple_of(cols) {
            bail!(
                "x has {} values, not a multiple of the matrix's {cols} columns",
                x.len()
            );
        }
        let n = x.len() / cols;
        if y.len() != n * rows {
            bail!(
                "y has {} values; {n} rows × {rows} outputs need {}",
                y.len(),
                n * rows
            );
        }
        if !bias.is_empty() && bias.len() != rows {
            bail!("bias has {} values; the matrix has {rows} rows", bias.len());
        }
        shared.matmul(&core.kernels, &x, &mut y, core.pool.as_ref());
        if !bias.is_empty() {
            for row in y.chunks_mut(rows) {
                ops::add(row, &bias);
            }
        }
        Ok(())
    })
}

unsafe extern "C" fn matrix_release(handle: MatrixHandle) {
    if !handle.0.is_null() {
        // SAFETY: made by `Arc::into_raw` and released once (the contract).
        drop(unsafe { Arc::from_raw(handle.0 as *const SharedMatrix) });
    }
}

extern "C" fn layer_norm(
    mut x: RSliceMut<'_, f32>,
    gamma: RSlice<'_, f32>,
    beta: RSlice<'_, f32>,
    eps: f32,
) -> RResult<(), PluginError> {
    guarded("layer_norm", || {
        let width = gamma.len();
        if width == 0 || beta.len() != width || !x.len().is_multiple_of(width) {
            bail!(
                "layer_norm needs gamma and beta of the same width dividing x (x {}, gamma {}, beta {})",
                x.len(),
                gamma.len(),
                beta.len()
            );
        }
        for row in x.chunks_mut(width) {
            ops::layer_norm(row, &gamma, &beta, eps);
        }
        Ok(())
    })
}

extern "C" fn softmax(mut x: RSliceMut<'_, f32>, width: u64) -> RResult<(), PluginError> {
    guarded("softmax", || {
        let width = width as usize;
        if width == 0 || !x.len().is_multiple_of(width) {
            bail!(
                "softmax width {width} does not divide x ({} values)",
                x.len()
            );
        }
        for row in x.chunks_mut(width) {
            ops::softmax(row);
        }
        Ok(())
    })
}

extern "C" fn gelu(mut x: RSliceMut<'_, f32>) {
    ops::gelu(&mut x);
}

extern "C" fn add(mut x: RSliceMut<'_, f32>, y: RSlice<'_, f32>) -> RResult<(), PluginError> {
    guarded("add", || {
        if x.len() != y.len() {
            bail!("add needs equal lengths (x {}, y {})", x.len(), y.len());
        }
        ops::add(&mut x, &y);
        Ok(())
    })
}

extern "C" fn mean_pool(
    hidden: RSlice<'_, f32>,
    mask: RSlice<'_, u8>,
    mut out: RSliceMut<'_, f32>,
) -> RResult<(), PluginError> {
    guarded("mean_pool", || {
        let dim = out.len();
        if hidden.len() != mask.len() * dim {
            bail!(
                "hidden has {} values; {} mask entries × {dim} need {}",
                hidden.len(),
                mask.len(),
                mask.len() * dim
            );
        }
        ops::masked_mean_pool(&hidden, &mask, dim, &mut out);
        Ok(())
    })
}

extern "C" fn model_load(
    path: RStr<'_>,
    options: &ModelOptions,
) -> RResult<ModelHandle, PluginError> {
    guarded("loading a model", || {
        let model = super::models::load(Path::new(path.as_str()), options)?;
        Ok(ModelHandle(Arc::into_raw(model) as *const _))
    })
}

extern "C" fn model_load_part(
    path: RStr<'_>,
    options: &ModelOptions,
    part: &ModelPart,
) -> RResult<ModelHandle, PluginError> {
    guarded("loading a model part", || {
        let part = super::models::Part::new(&part.inputs, &part.outputs);
        let model = super::models::load_part(Path::new(path.as_str()), options, Some(part))?;
        Ok(ModelHandle(Arc::into_raw(model) as *const _))
    })
}

/// # Safety
/// `handle` must come from `model_load` and not be released.
unsafe fn model<'a>(handle: ModelHandle) -> &'a Model {
    // SAFETY: guaranteed by the caller.
    unsafe { &*(handle.0 as *const Model) }
}

unsafe extern "C" fn model_info(handle: ModelHandle) -> ModelInfo {
    // SAFETY: the plugin passes a live handle (the vtable's contract).
    let m = unsafe { model(handle) };
    ModelInfo {
        inputs: m.inputs.iter().cloned().collect(),
        outputs: m.outputs.iter().cloned().collect(),
    }
}

unsafe extern "C" fn model_run(
    handle: ModelHandle,
    inputs: RVec<Tensor>,
) -> RResult<RVec<Tensor>, PluginError> {
    // SAFETY: the plugin passes a live handle (the vtable's contract).
    let m = unsafe { model(handle) };
    guarded("running a model", || {
        Ok(m.run(inputs.into_vec())?.into_iter().collect())
    })
}

unsafe extern "C" fn model_metadata(handle: ModelHandle, key: RStr<'_>) -> ROption<RString> {
    // SAFETY: the plugin passes a live handle (the vtable's contract).
    let m = unsafe { model(handle) };
    m.metadata
        .get(key.as_str())
        .map(|v| RString::from(v.as_str()))
        .into()
}

unsafe extern "C" fn model_release(handle: ModelHandle) {
    if !handle.0.is_null() {
        // SAFETY: made by `Arc::into_raw` and released once (the contract).
        drop(unsafe { Arc::from_raw(handle.0 as *const Model) });
    }
}

extern "C" fn weights_open(path: RStr<'_>) -> RResult<WeightsHandle, PluginError> {
    guarded("opening a weight file", || {
        let w = super::weights::open(Path::new(path.as_str()))?;
        Ok(WeightsHandle(Arc::into_raw(w) as *const _))
    })
}

/// # Safety
/// `handle` must come from `weights_open` and not be released.
unsafe fn weights<'a>(handle: WeightsHandle) -> &'a Weights {
    // SAFETY: guaranteed by the caller.
    unsafe { &*(handle.0 as *const Weights) }
}

unsafe extern "C" fn weights_names(handle: WeightsHandle) -> RVec<RString> {
    // SAFETY: the plugin passes a live handle (the vtable's contract).
    let w = unsafe { weights(handle) };
    w.names().into_iter().map(RString::from).collect()
}

unsafe extern "C" fn weights_get(
    handle: WeightsHandle,
    name: RStr<'_>,
) -> RResult<TensorView, PluginError> {
    // SAFETY: the plugin passes a live handle (the vtable's contract).
    let w = unsafe { weights(handle) };
    guarded("reading a weight", || {
        let view = w.get(name.as_str())?;
        Ok(TensorView {
            dtype: view.dtype,
            shape: view.shape.iter().map(|&d| d as u64).collect(),
            data: view.bytes.as_ptr(),
            len: view.bytes.len(),
        })
    })
}

unsafe extern "C" fn weights_matrix(
    handle: WeightsHandle,
    name: RStr<'_>,
    format: WeightFormat,
) -> RResult<MatrixHandle, PluginError> {
    // SAFETY: the plugin passes a live handle (the vtable's contract).
    let w = unsafe { weights(handle) };
    guarded("reading a weight matrix", || {
        Ok(matrix_handle(
            w.shared_matrix(name.as_str(), quant_format(format))?,
        ))
    })
}

unsafe extern "C" fn weights_release(handle: WeightsHandle) {
    if !handle.0.is_null() {
        // SAFETY: made by `Arc::into_raw` and released once (the contract).
        drop(unsafe { Arc::from_raw(handle.0 as *const Weights) });
    }
}
