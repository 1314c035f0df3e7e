//! Safe access to the host's shared inference core: quantized matrices,
//! transformer ops, shared ONNX models and memory-mapped weight files.
//!
//! ```ignore
//! let core = ctx.inference()?;
//! let w = core.quantize(&weights, 384, 384, WeightFormat::Q8_0)?;
//! w.linear(&x, Some(&bias), &mut y)?;
//! let vad = core.load_model(&path, &[])?;          // shared per process
//! let outputs = vad.run(vec![Tensor::f32(&[1, 576], frame)])?;
//! ```
//!
//! Every object releases its host handle when dropped.

use std::path::Path;

use hark_plugin_api::{
    abi_stable::std_types::{RSlice, RSliceMut, RStr, RVec},
    InferenceVTableRef, MatrixHandle, ModelHandle, ModelOptions, ModelPart, WeightsHandle,
};
pub use hark_plugin_api::{DType, Tensor, TensorData, TensorSpec, WeightFormat};

use crate::Error;

/// The inference core lent by the host (see [`crate::Context::inference`]).
#[derive(Clone, Copy)]
pub struct Inference {
    vt: InferenceVTableRef,
}

impl std::fmt::Debug for Inference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inference").finish_non_exhaustive()
    }
}

impl Inference {
    /// The core behind `vt`. Plugins get theirs from
    /// [`crate::Context::inference`]; this is for programs that link a
    /// core themselves (the host's `hark nlu train`, benchmarks:
    /// `Inference::from_vtable(hark::inference::vtable())`).
    pub fn from_vtable(vt: InferenceVTableRef) -> Self {
        Inference { vt }
    }

    /// The kernel variant the host uses and why (`avx512vnni (the CPU has ...)`).
    pub fn kernels(&self) -> String {
        (self.vt.kernels())().into_string()
    }

    /// Quantizes the row-major `rows × cols` matrix `weights` into a host matrix.
    pub fn quantize(
        &self,
        weights: &[f32],
        rows: usize,
        cols: usize,
        format: WeightFormat,
    ) -> Result<Matrix, Error> {
        let handle =
            (self.vt.matrix_quantize())(RSlice::from(weights), rows as u64, cols as u64, format)
                .into_result()?;
        Ok(Matrix::new(self.vt, handle))
    }

    /// Layer norm over rows of `gamma.len()`, in place.
    pub fn layer_norm(
        &self,
        x: &mut [f32],
        gamma: &[f32],
        beta: &[f32],
        eps: f32,
    ) -> Result<(), Error> {
        (self.vt.layer_norm())(
            RSliceMut::from(x),
            RSlice::from(gamma),
            RSlice::from(beta),
            eps,
        )
        .into_result()?;
        Ok(())
    }

    /// Softmax over rows of `width`, in place.
    pub fn softmax(&self, x: &mut [f32], width: usize) -> Result<(), Error> {
        (self.vt.softmax())(RSliceMut::from(x), width as u64).into_result()?;
        Ok(())
    }

    /// GELU (erf form), in place.
    pub fn gelu(&self, x: &mut [f32]) {
        (self.vt.gelu())(RSliceMut::from(x))
    }

    /// `x += y`.
    pub fn add(&self, x: &mut [f32], y: &[f32]) -> Result<(), Error> {
        (self.vt.add())(RSliceMut::from(x), RSlice::from(y)).into_result()?;
        Ok(())
    }

    /// Mean of the rows of `hidden` (rows of `out.len()`) whose `mask` is
    /// non-zero.
    pub fn mean_pool(&self, hidden: &[f32], mask: &[u8], out: &mut [f32]) -> Result<(), Error> {
        (self.vt.mean_pool())(
            RSlice::from(hidden),
            RSlice::from(mask),
            RSliceMut::from(out),
        )
        .into_result()?;
        Ok(())
    }

    /// Loads the ONNX model at `path`, shared with every other node that
    /// loads it with the same `inputs` facts (empty: the file's own).
    pub fn load_model(&self, path: &Path, inputs: &[TensorSpec]) -> Result<Model, Error> {
        let options = ModelOptions {
            inputs: inputs.iter().cloned().collect(),
        };
        let path = path.to_string_lossy();
        let handle = (self.vt.model_load())(RStr::from(path.as_ref()), &options).into_result()?;
        Ok(self.model(handle))
    }

    /// Loads the part of the ONNX model at `path` that computes `outputs`
    /// from `inputs` (tensors named as in the file; `dtype` and `shape`,
    /// `-1` for a dimension known at run time, type those the file does
    /// not), shared like [`Inference::load_model`]. Fails in a host older
    /// than ABI 1.3, which cannot cut models.
    pub fn load_model_part(
        &self,
        path: &Path,
        inputs: &[TensorSpec],
        outputs: &[TensorSpec],
    ) -> Result<Model, Error> {
        let load = self.vt.model_load_part().ok_or_else(|| {
            Error::failed("this host cannot load model parts (it predates plugin ABI 1.3)")
                .with_hint("update hark")
        })?;
        let part = ModelPart {
            inputs: inputs.iter().cloned().collect(),
            outputs: outputs.iter().cloned().collect(),
        };
        let path = path.to_string_lossy();
        let handle =
            load(RStr::from(path.as_ref()), &ModelOptions::default(), &part).into_result()?;
        Ok(self.model(handle))
    }

    /// Wraps a handle the host just returned.
    fn model(&self, handle: ModelHandle) -> Model {
        // SAFETY: a live handle just returned by the host.
        let info = unsafe { (self.vt.model_info())(handle) };
        Model {
            vt: self.vt,
            handle,
            inputs: info.inputs.into_vec(),
            outputs: info.outputs.into_vec(),
        }
    }

    /// Memory-maps the safetensors file at `path` (shared like models).
    pub fn open_weights(&self, path: &Path) -> Result<WeightFile, Error> {
        let path = path.to_string_lossy();
        let handle = (self.vt.weights_open())(RStr::from(path.as_ref())).into_result()?;
        Ok(WeightFile {
            vt: self.vt,
            handle,
        })
    }
}

/// A quantized weight matrix held by the host.
pub struct Matrix {
    vt: InferenceVTableRef,
    handle: MatrixHandle,
    rows: usize,
    cols: usize,
}

impl std::fmt::Debug for Matrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Matrix({} × {})", self.rows, self.cols)
    }
}

impl Matrix {
    fn new(vt: InferenceVTableRef, handle: MatrixHandle) -> Matrix {
        // SAFETY: a live handle just returned by the host.
        let shape = unsafe { (vt.matrix_shape())(handle) };
        Matrix {
            vt,
            handle,
            rows: shape.rows as usize,
            cols: shape.cols as usize,
        }
    }

    /// Outputs.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Inputs.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// A linear layer on each of the `x.len() / cols` rows of `x`:
    /// `y[i] = W · x[i] + bias`; `y` is `n × rows`.
    pub fn linear(&self, x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) -> Result<(), Error> {
        // SAFETY: the handle is live until `drop`.
        unsafe {
            (self.vt.linear())(
                self.handle,
                RSlice::from(x),
                RSlice::from(bias.unwrap_or(&[])),
                RSliceMut::from(y),
            )
        }
        .into_result()?;
        Ok(())
    }
}

impl Drop for Matrix {
    fn drop(&mut self) {
        // SAFETY: released exactly once, here.
        unsafe { (self.vt.matrix_release())(self.handle) }
    }
}

/// A model loaded (and shared) by the host.
pub struct Model {
    vt: InferenceVTableRef,
    handle: ModelHandle,
    inputs: Vec<TensorSpec>,
    outputs: Vec<TensorSpec>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish()
    }
}

impl Model {
    /// Inputs, in order.
    pub fn inputs(&self) -> &[TensorSpec] {
        &self.inputs
    }

    /// Outputs, in order.
    pub fn outputs(&self) -> &[TensorSpec] {
        &self.outputs
    }

    /// The model file's metadata entry `key` (ONNX `metadata_props`), or
    /// `None` when the file has none. Fails in a host older than ABI 1.2,
    /// which cannot read metadata.
    pub fn metadata(&self, key: &str) -> Result<Option<String>, Error> {
        let read = self.vt.model_metadata().ok_or_else(|| {
            Error::failed("this host cannot read model metadata (it predates plugin ABI 1.2)")
                .with_hint("update hark")
        })?;
        // SAFETY: the handle is live until `drop`.
        let value = unsafe { read(self.handle, RStr::from(key)) };
        Ok(value.into_option().map(|s| s.into_string()))
    }

    /// Runs the model on `inputs` (in its input order).
    pub fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, Error> {
        // SAFETY: the handle is live until `drop`.
        let outputs =
            unsafe { (self.vt.model_run())(self.handle, RVec::from(inputs)) }.into_result()?;
        Ok(outputs.into_vec())
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: released exactly once, here.
        unsafe { (self.vt.model_release())(self.handle) }
    }
}

/// A memory-mapped safetensors file held by the host.
pub struct WeightFile {
    vt: InferenceVTableRef,
    handle: WeightsHandle,
}

impl std::fmt::Debug for WeightFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeightFile").finish_non_exhaustive()
    }
}

/// A tensor inside a [`WeightFile`], borrowed without a copy.
#[derive(Debug, Clone)]
pub struct WeightView<'a> {
    /// Element type.
    pub dtype: DType,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Little-endian elements.
    pub bytes: &'a [u8],
}

impl WeightView<'_> {
    /// The elements as f32 (from f32, f16 or bf16).
    pub fn to_f32(&self) -> Result<Vec<f32>, Error> {
        self.dtype
            .decode_floats(self.bytes)
            .ok_or_else(|| Error::failed(format!("{} is not a float type", self.dtype.name())))
    }
}

impl WeightFile {
    /// Tensor names, sorted.
    pub fn names(&self) -> Vec<String> {
        // SAFETY: the handle is live until `drop`.
        unsafe { (self.vt.weights_names())(self.handle) }
            .into_iter()
            .map(|s| s.into_string())
            .collect()
    }

    /// The tensor `name`, without copying.
    pub fn get(&self, name: &str) -> Result<WeightView<'_>, Error> {
        // SAFETY: the handle is live until `drop`.
        let view =
            unsafe { (self.vt.weights_get())(self.handle, RStr::from(name)) }.into_result()?;
        // SAFETY: the host guarantees `len` readable bytes at `data` while
        // the file is held, and `self` holds it for the borrow's life.
        let bytes = unsafe { std::slice::from_raw_parts(view.data, view.len) };
        Ok(WeightView {
            dtype: view.dtype,
            shape: view.shape.iter().map(|&d| d as usize).collect(),
            bytes,
        })
    }

    /// The 2-D tensor `name` as a host matrix (quantized to `format`, or
    /// as stored when pre-quantized).
    pub fn matrix(&self, name: &str, format: WeightFormat) -> Result<Matrix, Error> {
        // SAFETY: the handle is live until `drop`.
        let handle = unsafe { (self.vt.weights_matrix())(self.handle, RStr::from(name), format) }
            .into_result()?;
        Ok(Matrix::new(self.vt, handle))
    }
}

impl Drop for WeightFile {
    fn drop(&mut self) {
        // SAFETY: released exactly once, here.
        unsafe { (self.vt.weights_release())(self.handle) }
    }
}
