//! The shared inference core, as the host lends it to plugins (ABI 1.1;
//! `model_metadata` since 1.2, `model_load_part` since 1.3).
//!
//! Plugins reach it through [`crate::HostVTable::inference`], which is
//! `None` in a 1.0 host. Everything heavy stays in the host: plugins call
//! the host's quantized kernels instead of shipping a BLAS, and they share
//! the host's models (one copy per process, reference-counted) instead of
//! each linking an inference engine.
//!
//! Objects the host owns (quantized matrices, models, weight files) cross
//! the boundary as opaque handles; each `*_open`/`*_load`/`quantize_*`
//! returns a handle that the plugin gives back exactly once with the
//! matching `*_release`. Every function may be called from any thread.
//!
//! **Invariant:** no host function here panics or unwinds; failures come
//! back as [`PluginError`] values.

use std::ffi::c_void;

use abi_stable::{
    prefix_type::PrefixTypeTrait,
    std_types::{ROption, RResult, RSlice, RSliceMut, RStr, RString, RVec},
    StableAbi,
};

use crate::PluginError;

/// The element type of a tensor.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// 32-bit float.
    F32 = 0,
    /// 64-bit signed integer (token ids, masks of ONNX text models).
    I64 = 1,
    /// 32-bit signed integer.
    I32 = 2,
    /// 8-bit unsigned integer (images, raw bytes).
    U8 = 3,
    /// 8-bit signed integer.
    I8 = 4,
    /// 16-bit IEEE float (only in weight views).
    F16 = 5,
    /// bfloat16 (only in weight views).
    BF16 = 6,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::I64 => 8,
            DType::U8 | DType::I8 => 1,
            DType::F16 | DType::BF16 => 2,
        }
    }

    /// Decodes little-endian float elements (f32, f16, bf16) to f32;
    /// `None` for integer types. Trailing bytes that do not make a whole
    /// element are ignored.
    pub fn decode_floats(self, bytes: &[u8]) -> Option<Vec<f32>> {
        Some(match self {
            DType::F32 => bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            DType::F16 => bytes
                .chunks_exact(2)
                .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            // bf16 is the top half of an f32.
            DType::BF16 => bytes
                .chunks_exact(2)
                .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16))
                .collect(),
            _ => return None,
        })
    }

    /// The lower-case name (`f32`, `i64`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::I64 => "i64",
            DType::I32 => "i32",
            DType::U8 => "u8",
            DType::I8 => "i8",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
        }
    }
}

/// IEEE half to single precision, exactly (subnormals, infinities, NaN).
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exponent = u32::from((h >> 10) & 0x1f);
    let mantissa = u32::from(h & 0x3ff);
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: normalise the mantissa into the f32 exponent range.
            let shift = m.leading_zeros() - 21;
            sign | ((113 - shift) << 23) | (((m << shift) & 0x3ff) << 13)
        }
        (31, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 112) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// The elements of an owned [`Tensor`], row-major.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub enum TensorData {
    /// 32-bit floats.
    F32(RVec<f32>),
    /// 64-bit signed integers.
    I64(RVec<i64>),
    /// 32-bit signed integers.
    I32(RVec<i32>),
    /// 8-bit unsigned integers.
    U8(RVec<u8>),
    /// 8-bit signed integers.
    I8(RVec<i8>),
}

/// An owned tensor crossing the boundary (model inputs and outputs).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first; the product is the element count.
    pub shape: RVec<u64>,
    /// The elements.
    pub data: TensorData,
}

impl Tensor {
    /// An f32 tensor. Panics if `data` does not fill `shape`.
    pub fn f32(shape: &[usize], data: Vec<f32>) -> Tensor {
        Tensor::new(shape, data.len(), TensorData::F32(data.into()))
    }

    /// An i64 tensor. Panics if `data` does not fill `shape`.
    pub fn i64(shape: &[usize], data: Vec<i64>) -> Tensor {
        Tensor::new(shape, data.len(), TensorData::I64(data.into()))
    }

    fn new(shape: &[usize], len: usize, data: TensorData) -> Tensor {
        assert_eq!(
            shape.iter().product::<usize>(),
            len,
            "shape {shape:?} does not match {len} elements"
        );
        Tensor {
            shape: shape.iter().map(|&d| d as u64).collect(),
            data,
        }
    }

    /// The elements, if they are f32.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(v) => Some(v),
            _ => None,
        }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        match self.data {
            TensorData::F32(_) => DType::F32,
            TensorData::I64(_) => DType::I64,
            TensorData::I32(_) => DType::I32,
            TensorData::U8(_) => DType::U8,
            TensorData::I8(_) => DType::I8,
        }
    }
}

/// A borrowed, read-only view of a tensor in a host-owned weight file
/// (memory-mapped). Valid until its [`WeightsHandle`] is released.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct TensorView {
    /// Element type.
    pub dtype: DType,
    /// Dimensions, outermost first.
    pub shape: RVec<u64>,
    /// First byte of the little-endian elements (alignment not guaranteed
    /// beyond one byte: the file decides).
    pub data: *const u8,
    /// Length in bytes (`product(shape) * dtype.size()`).
    pub len: usize,
}

/// A model input or output: name, element type and shape, where `-1`
/// marks a dimension that is only known when the model runs.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// The name in the model file.
    pub name: RString,
    /// Element type.
    pub dtype: DType,
    /// Dimensions; `-1` for a dimension fixed at run time.
    pub shape: RVec<i64>,
}

/// How to load a model. Two loads with equal options (and the same file)
/// share one instance.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelOptions {
    /// Input facts, in the model's input order, overriding what the file
    /// declares; empty to use the file's own. ONNX exporters often leave
    /// shapes symbolic or inconsistent: fixing them here lets the host
    /// optimise the graph for them.
    pub inputs: RVec<TensorSpec>,
}

/// A part of a model: the nodes that compute `outputs` from `inputs`,
/// loaded as a model of its own (like `onnx.utils.extract_model`). Each
/// tensor is named as in the file (a graph input or output, or any
/// tensor a node makes). `dtype` and `shape` (`-1` for a dimension known
/// at run time) type the tensors inside the graph; the graph's own inputs
/// and outputs keep the file's types. tract takes a `-1` only where
/// nothing in the graph fixes that size: give the sizes you know. Two
/// loads of the same part share one instance.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelPart {
    /// What the part is fed, in its input order.
    pub inputs: RVec<TensorSpec>,
    /// What it returns, in its output order.
    pub outputs: RVec<TensorSpec>,
}

/// A model's inputs and outputs, as loaded.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// The inputs, in order.
    pub inputs: RVec<TensorSpec>,
    /// The outputs, in order.
    pub outputs: RVec<TensorSpec>,
}

/// How a weight matrix is quantized by the host.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// Blocks of 32 × i8 + an f16 scale (ggml-compatible; 8.5 bits/weight).
    Q8_0 = 0,
    /// Blocks of 32 × 4 bits + an f16 scale (ggml-compatible; 4.5 bits/weight).
    Q4_0 = 1,
    /// i8 with one f32 scale per row (8 bits/weight; fastest).
    I8Row = 2,
    /// Unquantized f32 (for layers too sensitive to quantize).
    F32 = 3,
}

/// The shape of a host matrix: `rows` outputs × `cols` inputs.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatrixShape {
    /// Outputs.
    pub rows: u64,
    /// Inputs.
    pub cols: u64,
}

/// A quantized weight matrix owned by the host.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct MatrixHandle(pub *const c_void);

/// A loaded model owned by the host (shared: see [`ModelOptions`]).
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct ModelHandle(pub *const c_void);

/// A memory-mapped weight file (safetensors) owned by the host.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct WeightsHandle(pub *const c_void);

// SAFETY: handles point to host objects that are `Send + Sync` (the host
// guarantees it: see the module docs).
unsafe impl Send for MatrixHandle {}
// SAFETY: as above.
unsafe impl Sync for MatrixHandle {}
// SAFETY: as above.
unsafe impl Send for ModelHandle {}
// SAFETY: as above.
unsafe impl Sync for ModelHandle {}
// SAFETY: as above.
unsafe impl Send for WeightsHandle {}
// SAFETY: as above.
unsafe impl Sync for WeightsHandle {}

/// The inference core's functions.
///
/// Slices of f32 are row-major; "rows of `width`" means the slice length
/// is a multiple of `width`. Functions that check shapes return an error
/// rather than reading or writing out of bounds.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = InferenceVTableRef)))]
#[sabi(missing_field(option))]
pub struct InferenceVTable {
    /// The kernel variant in use (`avx512vnni`, `avx2`, `scalar`) and why.
    pub kernels: extern "C" fn() -> RString,
    /// Quantizes the row-major `rows × cols` f32 matrix `weights`.
    pub matrix_quantize: extern "C" fn(
        weights: RSlice<'_, f32>,
        rows: u64,
        cols: u64,
        format: WeightFormat,
    ) -> RResult<MatrixHandle, PluginError>,
    /// The shape of a matrix.
    pub matrix_shape: unsafe extern "C" fn(matrix: MatrixHandle) -> MatrixShape,
    /// A linear layer: for each of the `n = x.len() / cols` rows of `x`,
    /// `y[i] = W · x[i] + bias` (`bias` empty for none); `y` is `n × rows`.
    pub linear: unsafe extern "C" fn(
        matrix: MatrixHandle,
        x: RSlice<'_, f32>,
        bias: RSlice<'_, f32>,
        y: RSliceMut<'_, f32>,
    ) -> RResult<(), PluginError>,
    /// Gives a matrix back.
    pub matrix_release: unsafe extern "C" fn(matrix: MatrixHandle),
    /// Layer norm over rows of `gamma.len()`, in place.
    pub layer_norm: extern "C" fn(
        x: RSliceMut<'_, f32>,
        gamma: RSlice<'_, f32>,
        beta: RSlice<'_, f32>,
        eps: f32,
    ) -> RResult<(), PluginError>,
    /// Softmax over rows of `width`, in place.
    pub softmax: extern "C" fn(x: RSliceMut<'_, f32>, width: u64) -> RResult<(), PluginError>,
    /// GELU (exact, erf-based), in place.
    pub gelu: extern "C" fn(x: RSliceMut<'_, f32>),
    /// `x += y`, element-wise.
    pub add: extern "C" fn(x: RSliceMut<'_, f32>, y: RSlice<'_, f32>) -> RResult<(), PluginError>,
    /// Mean of the rows of `hidden` (rows of `out.len()`) whose `mask` is
    /// non-zero, into `out`.
    pub mean_pool: extern "C" fn(
        hidden: RSlice<'_, f32>,
        mask: RSlice<'_, u8>,
        out: RSliceMut<'_, f32>,
    ) -> RResult<(), PluginError>,
    /// Loads the ONNX model at `path`, or shares the instance already
    /// loaded with the same path and options.
    pub model_load:
        extern "C" fn(path: RStr<'_>, options: &ModelOptions) -> RResult<ModelHandle, PluginError>,
    /// A model's inputs and outputs.
    pub model_info: unsafe extern "C" fn(model: ModelHandle) -> ModelInfo,
    /// Runs a model on `inputs` (in its input order).
    pub model_run: unsafe extern "C" fn(
        model: ModelHandle,
        inputs: RVec<Tensor>,
    ) -> RResult<RVec<Tensor>, PluginError>,
    /// Gives a model back (the last release unloads it).
    pub model_release: unsafe extern "C" fn(model: ModelHandle),
    /// Memory-maps the safetensors file at `path` (shared like models).
    pub weights_open: extern "C" fn(path: RStr<'_>) -> RResult<WeightsHandle, PluginError>,
    /// The tensor names in a weight file, sorted.
    pub weights_names: unsafe extern "C" fn(weights: WeightsHandle) -> RVec<RString>,
    /// A zero-copy view of the tensor `name`.
    pub weights_get: unsafe extern "C" fn(
        weights: WeightsHandle,
        name: RStr<'_>,
    ) -> RResult<TensorView, PluginError>,
    /// The 2-D tensor `name` as a host matrix in `format`: float tensors
    /// are quantized; pre-quantized ones (ggml blocks, see docs/abi.md)
    /// are used as stored.
    pub weights_matrix: unsafe extern "C" fn(
        weights: WeightsHandle,
        name: RStr<'_>,
        format: WeightFormat,
    ) -> RResult<MatrixHandle, PluginError>,
    /// Gives a weight file back; its views become invalid.
    // New fields go BELOW this one only (see docs/abi.md).
    #[sabi(last_prefix_field)]
    pub weights_release: unsafe extern "C" fn(weights: WeightsHandle),

    /// Since 1.2: the value of the model file's metadata entry `key` (ONNX
    /// `metadata_props`, e.g. an OCR recogniser's `character` table), or
    /// `None` when the file has no such entry. `None` as a whole (the
    /// accessor) in a 1.1 host.
    pub model_metadata: unsafe extern "C" fn(model: ModelHandle, key: RStr<'_>) -> ROption<RString>,

    /// Since 1.3: loads a part of the ONNX model at `path` (see
    /// [`ModelPart`]), or shares the instance already loaded with the
    /// same path, options and part. `None` (the accessor) in an older
    /// host.
    pub model_load_part: extern "C" fn(
        path: RStr<'_>,
        options: &ModelOptions,
        part: &ModelPart,
    ) -> RResult<ModelHandle, PluginError>,
}

impl InferenceVTable {
    /// The vtable, in the form passed across the boundary (leaked: a host
    /// makes one per process).
    pub fn leak(self) -> InferenceVTableRef {
        self.leak_into_prefix()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats_decode_exactly() {
        let cases: [(u16, f32); 8] = [
            (0x3c00, 1.0),
            (0xc100, -2.5),
            (0x7bff, 65504.0),
            (0x0001, 5.960_464_5e-8),
            (0x03ff, 6.097_555e-5),
            (0x0400, 6.103_515_6e-5),
            (0x8000, -0.0),
            (0x7c00, f32::INFINITY),
        ];
        for (bits, value) in cases {
            assert_eq!(f16_to_f32(bits).to_bits(), value.to_bits(), "{bits:#06x}");
        }
        assert!(f16_to_f32(0x7e00).is_nan());
        let bytes: Vec<u8> = [0x3c00u16, 0xc100]
            .iter()
            .flat_map(|b| b.to_le_bytes())
            .collect();
        assert_eq!(DType::F16.decode_floats(&bytes), Some(vec![1.0, -2.5]));
        assert_eq!(DType::BF16.decode_floats(&[0x80, 0x3f]), Some(vec![1.0]));
        assert_eq!(DType::I64.decode_floats(&[0; 8]), None);
    }
}
