//! tract: the engine built into the host (pure Rust). Every model the
//! host runs with tract is optimised once for its input facts into a plan
//! that any number of threads run at once.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    OnceLock,
};

use anyhow::{bail, Context as _, Result};
use hark_plugin_api::{DType, ModelOptions, Tensor, TensorData, TensorSpec};
use tract_linalg::multithread::{multithread_tract_scope, Executor};
use tract_onnx::prelude::{
    DatumType, Framework, InferenceFact, InferenceModelExt, IntoRunnable, IntoTensor, TDim, TValue,
    TVec, Tensor as TractTensor, TypedRunnableModel,
};

use super::{check_elements, Loaded, Runner, Source};

/// Loads and optimises `path` for `options`' input facts.
pub(super) fn build(source: &Source, options: &ModelOptions) -> Result<Loaded> {
    // Exporters often write value_info shapes that contradict the graph;
    // tract refuses to unify them, so ignore them (see docs/models).
    let onnx = tract_onnx::onnx().with_ignore_value_info(true);
    let mut model = match source {
        Source::File(path) => onnx.model_for_path(path)?,
        Source::Bytes(mut bytes) => onnx.model_for_read(&mut bytes)?,
    };
    let metadata = model
        .properties
        .iter()
        .filter_map(|(key, value)| {
            let key = key.strip_prefix("onnx.metadata_props.")?;
            let plain = value.try_as_plain_ram().ok()?;
            Some((key.to_string(), plain.to_scalar::<String>().ok()?.clone()))
        })
        .collect();
    let input_count = model.inputs.len();
    if !options.inputs.is_empty() && options.inputs.len() != input_count {
        bail!(
            "the options give {} input facts but the model has {input_count} inputs",
            options.inputs.len()
        );
    }
    for (ix, spec) in options.inputs.iter().enumerate() {
        let mut dims: Vec<TDim> = Vec::with_capacity(spec.shape.len());
        for (d, &n) in spec.shape.iter().enumerate() {
            dims.push(if n < 0 {
                model.symbols.sym(&format!("{}_{d}", spec.name)).into()
            } else {
                (n as usize).into()
            });
        }
        let fact = InferenceFact::dt_shape(datum_type(spec.dtype)?, dims);
        model.set_input_fact(ix, fact)?;
    }
    let typed = model.into_optimized()?;
    let spec = |fact: &tract_onnx::prelude::TypedFact, name: String| -> Result<TensorSpec> {
        Ok(TensorSpec {
            name: name.into(),
            dtype: dtype(fact.datum_type)?,
            shape: fact
                .shape
                .iter()
                .map(|d| d.to_i64().unwrap_or(-1))
                .collect(),
        })
    };
    let inputs = typed
        .input_outlets()?
        .iter()
        .map(|o| spec(typed.outlet_fact(*o)?, typed.node(o.node).name.clone()))
        .collect::<Result<Vec<_>>>()?;
    let outputs = typed
        .output_outlets()?
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let name = typed
                .outlet_label(*o)
                .map(str::to_string)
                .unwrap_or_else(|| format!("output{i}"));
            spec(typed.outlet_fact(*o)?, name)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Loaded {
        runner: Runner::Tract(Plan(typed.into_runnable()?)),
        inputs,
        outputs,
        metadata,
    })
}

/// An optimised tract plan. Runs take `&self`: one plan serves every
/// thread at once.
pub(super) struct Plan(std::sync::Arc<TypedRunnableModel>);

impl Plan {
    /// Runs the plan on `inputs` (checked against `specs`: count and order).
    pub(super) fn run(&self, inputs: Vec<Tensor>, specs: &[TensorSpec]) -> Result<Vec<Tensor>> {
        let values: TVec<TValue> = inputs
            .into_iter()
            .zip(specs)
            .map(|(t, spec)| to_tract(t).with_context(|| format!("input `{}`", spec.name)))
            .collect::<Result<_>>()?;
        let outputs = match large_run_executor(&values) {
            Some((executor, _busy)) => multithread_tract_scope(executor, || self.0.run(values))?,
            None => self.0.run(values)?,
        };
        outputs.into_iter().map(from_tract).collect()
    }
}

/// Inputs with at least this many elements in all (an image, not a 32 ms
/// audio frame) are worth splitting between threads.
const LARGE_RUN_ELEMENTS: usize = 1 << 16;

/// Marks the pool taken while a run uses it.
struct PoolTaken;

static POOL_BUSY: AtomicBool = AtomicBool::new(false);

impl Drop for PoolTaken {
    fn drop(&mut self) {
        POOL_BUSY.store(false, Ordering::Release);
    }
}

/// The thread pool for runs on large inputs: `HARK_MODEL_THREADS`, by
/// default one thread per core. Small runs (per-frame audio models) stay
/// on the calling thread: handing a product of a few microseconds to a
/// pool costs more than it saves (see `hark_kernels::threads`). The
/// pool serves one run at a time: a large run that finds it taken (a
/// plugin reading OCR lines on several threads) runs on its own thread
/// instead of queueing behind the other.
fn large_run_executor(values: &[TValue]) -> Option<(Executor, PoolTaken)> {
    static POOL: OnceLock<Option<Executor>> = OnceLock::new();
    let elements: usize = values.iter().map(|v| v.len()).sum();
    if elements < LARGE_RUN_ELEMENTS {
        return None;
    }
    if POOL_BUSY
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        return None;
    }
    let taken = PoolTaken;
    let executor = POOL
        .get_or_init(|| {
            let threads = super::model_threads();
            (threads > 1).then(|| Executor::multithread_with_name(threads, "hark-model"))
        })
        .clone()?;
    Some((executor, taken))
}

fn datum_type(dtype: DType) -> Result<DatumType> {
    Ok(match dtype {
        DType::F32 => DatumType::F32,
        DType::I64 => DatumType::I64,
        DType::I32 => DatumType::I32,
        DType::U8 => DatumType::U8,
        DType::I8 => DatumType::I8,
        DType::F16 | DType::BF16 => bail!("{} model inputs are not supported", dtype.name()),
    })
}

fn dtype(datum: DatumType) -> Result<DType> {
    Ok(match datum {
        DatumType::F32 => DType::F32,
        DatumType::I64 => DType::I64,
        DatumType::I32 => DType::I32,
        DatumType::U8 => DType::U8,
        DatumType::I8 => DType::I8,
        DatumType::F16 => DType::F16,
        other => bail!("tensors of {other:?} cannot cross the plugin ABI"),
    })
}

fn to_tract(t: Tensor) -> Result<TValue> {
    let shape: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
    let tensor = match t.data {
        TensorData::F32(v) => from_vec(&shape, v.to_vec()),
        TensorData::I64(v) => from_vec(&shape, v.to_vec()),
        TensorData::I32(v) => from_vec(&shape, v.to_vec()),
        TensorData::U8(v) => from_vec(&shape, v.to_vec()),
        TensorData::I8(v) => from_vec(&shape, v.to_vec()),
    }?;
    Ok(tensor.into())
}

fn from_vec<T: tract_onnx::prelude::Datum>(shape: &[usize], data: Vec<T>) -> Result<TractTensor> {
    check_elements(shape, data.len())?;
    Ok(tract_onnx::prelude::tract_ndarray::ArrayD::from_shape_vec(shape, data)?.into())
}

fn from_tract(value: TValue) -> Result<Tensor> {
    let t = value.into_tensor();
    let plain = t.try_as_plain_ram()?;
    let shape = t.shape().iter().map(|&d| d as u64).collect();
    let data = match t.datum_type() {
        DatumType::F32 => TensorData::F32(plain.as_slice::<f32>()?.to_vec().into()),
        DatumType::I64 => TensorData::I64(plain.as_slice::<i64>()?.to_vec().into()),
        DatumType::I32 => TensorData::I32(plain.as_slice::<i32>()?.to_vec().into()),
        DatumType::U8 => TensorData::U8(plain.as_slice::<u8>()?.to_vec().into()),
        DatumType::I8 => TensorData::I8(plain.as_slice::<i8>()?.to_vec().into()),
        DatumType::Bool => TensorData::U8(
            plain
                .as_slice::<bool>()?
                .iter()
                .map(|&b| b as u8)
                .collect::<Vec<_>>()
                .into(),
        ),
        other => bail!("model output of type {other:?} cannot cross the plugin ABI"),
    };
    Ok(Tensor { shape, data })
}
