//! The model service: ONNX models loaded once and shared.
//!
//! Loading is keyed by (canonical path, options): ten nodes, or ten
//! sessions, asking for the same model get the same instance, which is
//! unloaded when the last one lets go. Plans are run through `&self`, so
//! one instance serves any number of threads; models with recurrent
//! state take it as an input (Silero VAD does), so sessions never share
//! state by accident.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, OnceLock, Weak,
    },
};

use anyhow::{bail, Context as _, Result};
use hark_plugin_api::{DType, ModelOptions, Tensor, TensorData, TensorSpec};
use parking_lot::Mutex;
use tract_linalg::multithread::{multithread_tract_scope, Executor};
use tract_onnx::prelude::{
    DatumType, Framework, InferenceFact, InferenceModelExt, IntoRunnable, IntoTensor, TDim, TValue,
    TVec, Tensor as TractTensor, TypedRunnableModel,
};

/// What a model is shared under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    path: PathBuf,
    inputs: Vec<(String, u8, Vec<i64>)>,
}

/// A loaded, optimised model.
pub struct Model {
    /// The file it came from.
    pub path: PathBuf,
    plan: Arc<TypedRunnableModel>,
    /// Inputs, in order.
    pub inputs: Vec<TensorSpec>,
    /// Outputs, in order.
    pub outputs: Vec<TensorSpec>,
    /// The file's metadata entries (ONNX `metadata_props`).
    pub metadata: HashMap<String, String>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("path", &self.path).finish()
    }
}

static MODELS: Mutex<Option<HashMap<Key, Weak<Model>>>> = Mutex::new(None);

/// Loads the model at `path`, or returns the instance already loaded with
/// the same path and options.
pub fn load(path: &Path, options: &ModelOptions) -> Result<Arc<Model>> {
    let canonical = path.canonicalize().with_context(|| {
        format!(
            "model file {} not found; run `hark models fetch` or check the path",
            path.display()
        )
    })?;
    crate::catalog::check_after_install(&canonical).map_err(anyhow::Error::msg)?;
    let key = Key {
        path: canonical.clone(),
        inputs: options
            .inputs
            .iter()
            .map(|s| (s.name.to_string(), s.dtype as u8, s.shape.to_vec()))
            .collect(),
    };
    // Held while loading, so two nodes asking at once load it once.
    let mut models = MODELS.lock();
    let models = models.get_or_insert_with(HashMap::new);
    if let Some(model) = models.get(&key).and_then(Weak::upgrade) {
        tracing::debug!(path = %canonical.display(), "sharing the loaded model");
        return Ok(model);
    }
    let started = std::time::Instant::now();
    let model = Arc::new(
        build(&canonical, options).with_context(|| format!("loading model {}", path.display()))?,
    );
    tracing::info!(
        path = %canonical.display(),
        ms = started.elapsed().as_millis() as u64,
        "model loaded"
    );
    models.retain(|_, weak| weak.strong_count() > 0);
    models.insert(key, Arc::downgrade(&model));
    Ok(model)
}

/// How many distinct models are loaded now (for `hark doctor` and tests).
pub fn loaded_count() -> usize {
    MODELS
        .lock()
        .as_ref()
        .map_or(0, |m| m.values().filter(|w| w.strong_count() > 0).count())
}

fn build(path: &Path, options: &ModelOptions) -> Result<Model> {
    // Exporters often write value_info shapes that contradict the graph;
    // tract refuses to unify them, so ignore them (see docs/models).
    let mut model = tract_onnx::onnx()
        .with_ignore_value_info(true)
        .model_for_path(path)?;
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
    Ok(Model {
        path: path.to_path_buf(),
        plan: typed.into_runnable()?,
        inputs,
        outputs,
        metadata,
    })
}

impl Model {
    /// Runs the model on `inputs` (in its input order).
    pub fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>> {
        if inputs.len() != self.inputs.len() {
            bail!(
                "the model takes {} inputs ({}), got {}",
                self.inputs.len(),
                self.inputs
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                inputs.len()
            );
        }
        let values: TVec<TValue> = inputs
            .into_iter()
            .zip(&self.inputs)
            .map(|(t, spec)| to_tract(t).with_context(|| format!("input `{}`", spec.name)))
            .collect::<Result<_>>()?;
        let outputs = match large_run_executor(&values) {
            Some((executor, _busy)) => multithread_tract_scope(executor, || self.plan.run(values))?,
            None => self.plan.run(values)?,
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
            let threads = std::env::var("HARK_MODEL_THREADS")
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|&n| n >= 1)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
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
    let expected: usize = shape.iter().product();
    let tensor = match t.data {
        TensorData::F32(v) => from_vec(&shape, expected, v.to_vec()),
        TensorData::I64(v) => from_vec(&shape, expected, v.to_vec()),
        TensorData::I32(v) => from_vec(&shape, expected, v.to_vec()),
        TensorData::U8(v) => from_vec(&shape, expected, v.to_vec()),
        TensorData::I8(v) => from_vec(&shape, expected, v.to_vec()),
    }?;
    Ok(tensor.into())
}

fn from_vec<T: tract_onnx::prelude::Datum>(
    shape: &[usize],
    expected: usize,
    data: Vec<T>,
) -> Result<TractTensor> {
    if data.len() != expected {
        bail!(
            "shape {shape:?} needs {expected} elements, the tensor has {}",
            data.len()
        );
    }
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

#[cfg(test)]
mod tests {
    use hark_plugin_api::Directory;

    use super::*;

    fn silero() -> PathBuf {
        let dir = crate::dirs::directory(Directory::Models);
        let entry = crate::catalog::find("silero-vad").unwrap();
        crate::catalog::fetch(entry, &dir, false).unwrap();
        dir.join("silero-vad/silero_vad_openvino_16k.onnx")
    }

    fn spec(name: &str, shape: &[i64]) -> TensorSpec {
        TensorSpec {
            name: name.into(),
            dtype: DType::F32,
            shape: shape.iter().copied().collect(),
        }
    }

    #[test]
    fn one_instance_per_path_and_options_released_with_the_last_user() {
        let path = silero();
        let a = load(&path, &ModelOptions::default()).unwrap();
        let b = load(&path, &ModelOptions::default()).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "same path and options: shared");
        let fixed = ModelOptions {
            inputs: vec![spec("input", &[1, 576]), spec("state", &[2, 1, 128])].into(),
        };
        let c = load(&path, &fixed).unwrap();
        assert!(!Arc::ptr_eq(&a, &c), "other options: another instance");
        assert_eq!(
            a.inputs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["input", "state"]
        );
        let weak = Arc::downgrade(&a);
        drop((a, b));
        assert!(weak.upgrade().is_none(), "unloaded with its last user");
        drop(c);
    }

    #[test]
    fn runs_with_tensors_and_checks_what_it_is_given() {
        let model = load(&silero(), &ModelOptions::default()).unwrap();
        let outputs = model
            .run(vec![
                Tensor::f32(&[1, 576], vec![0.0; 576]),
                Tensor::f32(&[2, 1, 128], vec![0.0; 256]),
            ])
            .unwrap();
        let p = outputs[0].as_f32().unwrap()[0];
        assert!((0.0..0.1).contains(&p), "silence probability {p}");
        assert_eq!(outputs[1].shape.to_vec(), [2, 1, 128]);

        let error = model
            .run(vec![Tensor::f32(&[1, 576], vec![0.0; 576])])
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("takes 2 inputs (input, state), got 1"),
            "{error}"
        );
        let bad = Tensor {
            shape: vec![1u64, 576].into(),
            data: TensorData::F32(vec![0.0f32; 10].into()),
        };
        let error = model
            .run(vec![bad, Tensor::f32(&[2, 1, 128], vec![0.0; 256])])
            .unwrap_err();
        assert!(
            format!("{error:#}").contains("needs 576 elements, the tensor has 10"),
            "{error:#}"
        );
    }

    #[test]
    fn a_missing_or_corrupt_model_is_a_clear_error() {
        let error = load(Path::new("/nonexistent/m.onnx"), &ModelOptions::default()).unwrap_err();
        assert!(error.to_string().contains("hark models fetch"), "{error}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corrupt.onnx");
        std::fs::write(&path, b"\x08\x07garbage").unwrap();
        let error = load(&path, &ModelOptions::default()).unwrap_err();
        assert!(format!("{error:#}").contains("loading model"), "{error:#}");
    }
}
