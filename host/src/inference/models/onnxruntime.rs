//! ONNX Runtime: the second engine of the model service, for the models
//! tract cannot run (Piper's VITS voices) or runs slower (PP-OCR's
//! detector).
//!
//! Hark does not link it: the `ort` crate loads `libonnxruntime.so` at
//! run time (`load-dynamic`), from the file `hark models fetch
//! onnxruntime` extracts from Microsoft's `onnxruntime` wheel on PyPI
//! (pinned by hash), or from `HARK_ONNXRUNTIME`. Without it Hark builds
//! and runs as before, on tract alone; a model that needs it says how to
//! install it.
//!
//! One environment per process, made on first use, with one global
//! thread pool of `HARK_MODEL_THREADS` threads (the number tract's large
//! runs use) that never spins while idle: every session shares it, so
//! ten models do not start ten pools.

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use anyhow::{anyhow, bail, Context as _, Result};
use hark_plugin_api::{DType, Directory, ModelOptions, Tensor, TensorData, TensorSpec};
use ort::{
    environment::{Environment, GlobalThreadPoolOptions},
    session::{builder::GraphOptimizationLevel, SessionInputValue},
    value::{DynValue, TensorElementType, ValueType},
};
use parking_lot::Mutex;

use super::{check_elements, Loaded, Runner, Source};

/// The catalog entry that installs the library.
pub const CATALOG_NAME: &str = "onnxruntime";

/// The library's file name in that entry.
pub const LIBRARY: &str = "libonnxruntime.so.1.31.1";

/// Where the library is looked for: `HARK_ONNXRUNTIME` when set, else
/// where `hark models fetch onnxruntime` puts it.
pub fn library_path() -> PathBuf {
    match std::env::var_os("HARK_ONNXRUNTIME") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => crate::dirs::directory(Directory::Models)
            .join(CATALOG_NAME)
            .join(LIBRARY),
    }
}

/// The process's ONNX Runtime.
pub struct Runtime {
    environment: Environment,
    /// The library it was loaded from.
    pub library: PathBuf,
    /// Threads in its pool.
    pub threads: usize,
}

/// ONNX Runtime, loaded on first use; `Err` says why it is not there and
/// what to do. Loading is tried once per process; a library that is not
/// there yet is looked for again next time (installed while a server
/// runs, it is used from the next model load on).
pub fn runtime() -> Result<&'static Runtime, String> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    if let Some(loaded) = RUNTIME.get() {
        return loaded.as_ref().map_err(String::clone);
    }
    let library = library_path();
    if !library.is_file() {
        return Err(not_installed(&library));
    }
    RUNTIME
        .get_or_init(|| load_runtime(&library))
        .as_ref()
        .map_err(String::clone)
}

fn not_installed(library: &Path) -> String {
    format!(
        "onnxruntime is not installed ({} not found): run `hark models fetch onnxruntime`, or set HARK_ONNXRUNTIME to a libonnxruntime.so (1.17 or later)",
        library.display()
    )
}

/// Whether ONNX Runtime's library is where Hark looks (without loading it).
pub fn is_installed() -> bool {
    library_path().is_file()
}

/// Loads ONNX Runtime from `library` (once per process: `ort` keeps the
/// first library it loads).
pub(super) fn load_runtime(library: &Path) -> Result<Runtime, String> {
    if !library.is_file() {
        return Err(not_installed(library));
    }
    if library.starts_with(crate::dirs::directory(Directory::Models)) {
        crate::catalog::check_after_install(library)?;
    }
    let threads = super::model_threads();
    let environment = ort::init_from(library)
        .map_err(|e| format!("loading onnxruntime: {e}"))?
        .with_name("hark")
        .with_global_thread_pool(
            GlobalThreadPoolOptions::default()
                .with_intra_threads(threads)
                .and_then(|o| o.with_inter_threads(1))
                .and_then(|o| o.with_spin_control(false))
                .map_err(|e| format!("onnxruntime's thread pool: {e}"))?,
        )
        .build()
        .map_err(|e| format!("starting onnxruntime: {e}"))?;
    tracing::info!(library = %library.display(), threads, "onnxruntime loaded");
    Ok(Runtime {
        environment,
        library: library.to_path_buf(),
        threads,
    })
}

/// A model loaded into ONNX Runtime. `ort` runs a session through
/// `&mut`, so runs of one model take turns; two models run at once.
pub(super) struct Session(Mutex<ort::session::Session>);

/// Loads `path`; the options' input facts are only checked against the
/// model (ONNX Runtime plans for any shape at run time).
pub(super) fn build(source: &Source, options: &ModelOptions) -> Result<Loaded> {
    let runtime = runtime().map_err(anyhow::Error::msg)?;
    let mut builder = ort::session::Session::builder(&runtime.environment)
        .map_err(|e| anyhow!("{e}"))?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| anyhow!("{e}"))?;
    let session = match source {
        Source::File(path) => builder.commit_from_file(path),
        Source::Bytes(bytes) => builder.commit_from_memory(bytes),
    }
    .map_err(|e| anyhow!("{e}"))?;
    let inputs = session
        .inputs()
        .iter()
        .map(|o| spec(o.name(), o.dtype()))
        .collect::<Result<Vec<_>>>()?;
    let outputs = session
        .outputs()
        .iter()
        .map(|o| spec(o.name(), o.dtype()))
        .collect::<Result<Vec<_>>>()?;
    if !options.inputs.is_empty() && options.inputs.len() != inputs.len() {
        bail!(
            "the options give {} input facts but the model has {} inputs",
            options.inputs.len(),
            inputs.len()
        );
    }
    for (given, actual) in options.inputs.iter().zip(&inputs) {
        if given.dtype != actual.dtype {
            bail!(
                "input `{}` holds {}, the options say {}",
                actual.name,
                actual.dtype.name(),
                given.dtype.name()
            );
        }
    }
    let metadata = session
        .metadata()
        .and_then(|m| {
            let keys = m.custom_keys()?;
            Ok(keys
                .into_iter()
                .filter_map(|k| Some((k.clone(), m.custom(&k)?)))
                .collect())
        })
        .map_err(|e| anyhow!("reading the model's metadata: {e}"))?;
    Ok(Loaded {
        runner: Runner::OnnxRuntime(Session(Mutex::new(session))),
        inputs,
        outputs,
        metadata,
    })
}

impl Session {
    /// Runs the session on `inputs` (count checked by the caller, in the
    /// order of `specs`).
    pub(super) fn run(&self, inputs: Vec<Tensor>, specs: &[TensorSpec]) -> Result<Vec<Tensor>> {
        let values = inputs
            .into_iter()
            .zip(specs)
            .map(|(t, spec)| to_ort(t).with_context(|| format!("input `{}`", spec.name)))
            .collect::<Result<Vec<_>>>()?;
        let mut session = self.0.lock();
        let names: Vec<String> = session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        let outputs = session.run(values.as_slice()).map_err(|e| anyhow!("{e}"))?;
        names
            .iter()
            .map(|name| {
                let value = outputs
                    .get(name)
                    .with_context(|| format!("onnxruntime returned no output `{name}`"))?;
                from_ort(value).with_context(|| format!("output `{name}`"))
            })
            .collect()
    }
}

fn spec(name: &str, value: &ValueType) -> Result<TensorSpec> {
    let ValueType::Tensor { ty, shape, .. } = value else {
        bail!("`{name}` is not a tensor ({value}); only tensors cross the plugin ABI");
    };
    Ok(TensorSpec {
        name: name.into(),
        dtype: dtype(*ty).with_context(|| format!("`{name}`"))?,
        shape: shape.iter().copied().collect(),
    })
}

fn dtype(ty: TensorElementType) -> Result<DType> {
    Ok(match ty {
        TensorElementType::Float32 => DType::F32,
        TensorElementType::Int64 => DType::I64,
        TensorElementType::Int32 => DType::I32,
        TensorElementType::Uint8 | TensorElementType::Bool => DType::U8,
        TensorElementType::Int8 => DType::I8,
        TensorElementType::Float16 => DType::F16,
        other => bail!("tensors of {other} cannot cross the plugin ABI"),
    })
}

fn to_ort(t: Tensor) -> Result<SessionInputValue<'static>> {
    let shape: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
    fn value<T: ort::value::PrimitiveTensorElementType + Clone + std::fmt::Debug + 'static>(
        shape: Vec<usize>,
        data: Vec<T>,
    ) -> Result<SessionInputValue<'static>> {
        check_elements(&shape, data.len())?;
        Ok(ort::value::Tensor::from_array((shape, data))
            .map_err(|e| anyhow!("{e}"))?
            .into())
    }
    match t.data {
        TensorData::F32(v) => value(shape, v.into_vec()),
        TensorData::I64(v) => value(shape, v.into_vec()),
        TensorData::I32(v) => value(shape, v.into_vec()),
        TensorData::U8(v) => value(shape, v.into_vec()),
        TensorData::I8(v) => value(shape, v.into_vec()),
    }
}

fn from_ort(value: &DynValue) -> Result<Tensor> {
    let ValueType::Tensor { ty, .. } = value.dtype() else {
        bail!("not a tensor ({})", value.dtype());
    };
    fn extract<T: ort::value::PrimitiveTensorElementType + Clone>(
        value: &DynValue,
    ) -> Result<(Vec<u64>, Vec<T>)> {
        let (shape, data) = value
            .try_extract_tensor::<T>()
            .map_err(|e| anyhow!("{e}"))?;
        Ok((shape.iter().map(|&d| d as u64).collect(), data.to_vec()))
    }
    let (shape, data) = match ty {
        TensorElementType::Float32 => {
            let (s, d) = extract::<f32>(value)?;
            (s, TensorData::F32(d.into()))
        }
        TensorElementType::Int64 => {
            let (s, d) = extract::<i64>(value)?;
            (s, TensorData::I64(d.into()))
        }
        TensorElementType::Int32 => {
            let (s, d) = extract::<i32>(value)?;
            (s, TensorData::I32(d.into()))
        }
        TensorElementType::Uint8 => {
            let (s, d) = extract::<u8>(value)?;
            (s, TensorData::U8(d.into()))
        }
        TensorElementType::Int8 => {
            let (s, d) = extract::<i8>(value)?;
            (s, TensorData::I8(d.into()))
        }
        TensorElementType::Bool => {
            let (s, d) = extract::<bool>(value)?;
            (
                s,
                TensorData::U8(d.into_iter().map(u8::from).collect::<Vec<_>>().into()),
            )
        }
        other => bail!("model output of type {other} cannot cross the plugin ABI"),
    };
    Ok(Tensor {
        shape: shape.into(),
        data,
    })
}
