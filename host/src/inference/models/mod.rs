//! The model service: ONNX models loaded once and shared, each run by the
//! engine that suits it.
//!
//! Loading is keyed by (canonical path, options, engine choice): ten
//! nodes, or ten sessions, asking for the same model get the same
//! instance, which is unloaded when the last one lets go. Models with
//! recurrent state take it as an input (Silero VAD does), so sessions
//! never share state by accident.
//!
//! Two engines stand behind the same calls: [`tract`] (pure Rust, built
//! in, always there) and [`onnxruntime`] (Microsoft's runtime, loaded at
//! run time from the library `hark models fetch onnxruntime` installs;
//! absent until then). Which one runs a model is the process's
//! [`EngineChoice`] (`HARK_ENGINE`): `auto`, the default, takes the one
//! the catalog measured faster for that model (`CatalogEntry::engine`),
//! else tract, and falls back to the other when the first cannot load
//! the model or is not installed.

pub mod onnxruntime;
pub mod part;
mod tract;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Weak},
};

use anyhow::{bail, Context as _, Result};
use hark_plugin_api::{ModelOptions, Tensor, TensorSpec};
use parking_lot::Mutex;

pub use part::Part;

/// An inference engine of the model service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// tract-onnx, built into the host.
    Tract,
    /// ONNX Runtime, loaded from `libonnxruntime.so` when installed.
    OnnxRuntime,
}

impl Engine {
    /// How the user writes it (`HARK_ENGINE`, logs, `hark doctor`).
    pub fn name(self) -> &'static str {
        match self {
            Engine::Tract => "tract",
            Engine::OnnxRuntime => "onnxruntime",
        }
    }

    fn other(self) -> Engine {
        match self {
            Engine::Tract => Engine::OnnxRuntime,
            Engine::OnnxRuntime => Engine::Tract,
        }
    }
}

/// Which engine runs the models of this process (`HARK_ENGINE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineChoice {
    /// Per model: the engine the catalog measured faster for it, else
    /// tract; the other one when the first cannot run it.
    Auto,
    /// This engine only; a model it cannot run fails to load.
    Only(Engine),
}

impl EngineChoice {
    /// Reads `HARK_ENGINE` (`auto`, `tract` or `onnxruntime`; unset is
    /// `auto`); an error says what is allowed.
    pub fn from_env() -> Result<EngineChoice> {
        match std::env::var("HARK_ENGINE") {
            Ok(v) => EngineChoice::parse(&v),
            Err(_) => Ok(EngineChoice::Auto),
        }
    }

    /// Parses a choice as written in `HARK_ENGINE`.
    pub fn parse(text: &str) -> Result<EngineChoice> {
        Ok(match text.trim() {
            "" | "auto" => EngineChoice::Auto,
            "tract" => EngineChoice::Only(Engine::Tract),
            "onnxruntime" | "ort" => EngineChoice::Only(Engine::OnnxRuntime),
            other => bail!("HARK_ENGINE={other} is not an engine: use auto, tract or onnxruntime"),
        })
    }

    /// The engines to try for the model at `path`, in order.
    pub fn order(self, path: &Path) -> Vec<Engine> {
        match self {
            EngineChoice::Only(engine) => vec![engine],
            EngineChoice::Auto => {
                let first = crate::catalog::engine_for(path).unwrap_or(Engine::Tract);
                vec![first, first.other()]
            }
        }
    }
}

/// Threads a large model run may use (`HARK_MODEL_THREADS`, by default
/// one per core); both engines take the same number.
pub fn model_threads() -> usize {
    std::env::var("HARK_MODEL_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n >= 1)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// What a model is shared under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    path: PathBuf,
    inputs: Vec<(String, u8, Vec<i64>)>,
    choice: EngineChoice,
    part: Option<Part>,
}

/// What an engine reads a model from: its file, or the bytes of a part
/// of it.
enum Source<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
}

/// A loaded model, ready to run on either engine.
pub struct Model {
    /// The file it came from.
    pub path: PathBuf,
    /// The engine that runs it.
    pub engine: Engine,
    runner: Runner,
    /// Inputs, in order.
    pub inputs: Vec<TensorSpec>,
    /// Outputs, in order.
    pub outputs: Vec<TensorSpec>,
    /// The file's metadata entries (ONNX `metadata_props`).
    pub metadata: HashMap<String, String>,
}

/// What an engine made of a model file.
struct Loaded {
    runner: Runner,
    inputs: Vec<TensorSpec>,
    outputs: Vec<TensorSpec>,
    metadata: HashMap<String, String>,
}

enum Runner {
    Tract(tract::Plan),
    OnnxRuntime(onnxruntime::Session),
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("path", &self.path)
            .field("engine", &self.engine)
            .finish()
    }
}

static MODELS: Mutex<Option<HashMap<Key, Weak<Model>>>> = Mutex::new(None);

/// Loads the model at `path` with the process's engine choice
/// (`HARK_ENGINE`), or returns the instance already loaded with the same
/// path and options.
pub fn load(path: &Path, options: &ModelOptions) -> Result<Arc<Model>> {
    load_with(path, options, EngineChoice::from_env()?)
}

/// [`load`] with an explicit engine choice.
pub fn load_with(path: &Path, options: &ModelOptions, choice: EngineChoice) -> Result<Arc<Model>> {
    load_part_with(path, options, None, choice)
}

/// Loads a part of the model at `path` (the whole model for `None`),
/// shared like [`load`].
pub fn load_part(path: &Path, options: &ModelOptions, part: Option<Part>) -> Result<Arc<Model>> {
    load_part_with(path, options, part, EngineChoice::from_env()?)
}

fn load_part_with(
    path: &Path,
    options: &ModelOptions,
    part: Option<Part>,
    choice: EngineChoice,
) -> Result<Arc<Model>> {
    let canonical = path.canonicalize().with_context(|| {
        format!(
            "model file {} not found; run `hark models fetch` or check the path",
            path.display()
        )
    })?;
    crate::catalog::check_after_install(&canonical).map_err(anyhow::Error::msg)?;
    // ONNX Runtime plans for any input shape when it runs: one session of
    // a file serves every caller's input facts (OCR asks for one plan per
    // image size), instead of a session per size.
    let any_shape =
        choice.order(&canonical)[0] == Engine::OnnxRuntime && onnxruntime::is_installed();
    let default_options = ModelOptions::default();
    let options = if any_shape { &default_options } else { options };
    let key = Key {
        path: canonical.clone(),
        inputs: options
            .inputs
            .iter()
            .map(|s| (s.name.to_string(), s.dtype as u8, s.shape.to_vec()))
            .collect(),
        choice,
        part,
    };
    // Held while loading, so two nodes asking at once load it once.
    let mut models = MODELS.lock();
    let models = models.get_or_insert_with(HashMap::new);
    if let Some(model) = models.get(&key).and_then(Weak::upgrade) {
        tracing::debug!(path = %canonical.display(), "sharing the loaded model");
        return Ok(model);
    }
    let started = std::time::Instant::now();
    let model = match &key.part {
        None => build(&canonical, &Source::File(&canonical), options, choice),
        Some(part) => part::extract(&canonical, part)
            .and_then(|bytes| build(&canonical, &Source::Bytes(&bytes), options, choice)),
    }
    .with_context(|| match &key.part {
        None => format!("loading model {}", path.display()),
        Some(part) => format!("loading {} of model {}", part.describe(), path.display()),
    })?;
    let model = Arc::new(model);
    tracing::info!(
        path = %canonical.display(),
        part = key.part.as_ref().map(Part::describe),
        engine = model.engine.name(),
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

/// Loads `source` (from the file `path`) with the first engine of
/// `choice`'s order that can; the error, when none can, says why for
/// each.
fn build(
    path: &Path,
    source: &Source,
    options: &ModelOptions,
    choice: EngineChoice,
) -> Result<Model> {
    let mut failures = Vec::new();
    for engine in choice.order(path) {
        let loaded = match engine {
            Engine::Tract => tract::build(source, options),
            Engine::OnnxRuntime => onnxruntime::build(source, options),
        };
        match loaded {
            Ok(loaded) => {
                if let Some((first, why)) = failures.first() {
                    tracing::info!(
                        path = %path.display(),
                        "{} cannot run this model ({why:#}); {} runs it",
                        Engine::name(*first),
                        engine.name()
                    );
                }
                return Ok(Model {
                    path: path.to_path_buf(),
                    engine,
                    runner: loaded.runner,
                    inputs: loaded.inputs,
                    outputs: loaded.outputs,
                    metadata: loaded.metadata,
                });
            }
            Err(e) => failures.push((engine, e)),
        }
    }
    match failures.len() {
        1 => Err(failures.pop().expect("one failure").1),
        _ => bail!(
            "no engine can run it: {}",
            failures
                .iter()
                .map(|(engine, why)| format!("{}: {why:#}", engine.name()))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
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
        match &self.runner {
            Runner::Tract(plan) => plan.run(inputs, &self.inputs),
            Runner::OnnxRuntime(session) => session.run(inputs, &self.inputs),
        }
    }
}

/// Checks that `data` fills `shape`.
fn check_elements(shape: &[usize], len: usize) -> Result<()> {
    let expected = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .context("the shape's element count overflows")?;
    if len != expected {
        bail!("shape {shape:?} needs {expected} elements, the tensor has {len}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use hark_plugin_api::{DType, Directory, TensorData};

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

    /// ONNX Runtime's library, installed as `hark models fetch
    /// onnxruntime` does.
    fn install_onnxruntime() {
        let dir = crate::dirs::directory(Directory::Models);
        let entry = crate::catalog::find(onnxruntime::CATALOG_NAME).unwrap();
        crate::catalog::fetch(entry, &dir, false).unwrap();
    }

    #[test]
    fn both_engines_run_the_same_model_alike() {
        install_onnxruntime();
        let path = silero();
        let options = ModelOptions::default();
        let tract = load_with(&path, &options, EngineChoice::Only(Engine::Tract)).unwrap();
        let ort = load_with(&path, &options, EngineChoice::Only(Engine::OnnxRuntime)).unwrap();
        assert_eq!(
            (tract.engine, ort.engine),
            (Engine::Tract, Engine::OnnxRuntime)
        );
        assert!(!Arc::ptr_eq(&tract, &ort), "one instance per engine");
        let names = |m: &Model| m.inputs.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&tract), names(&ort));
        // A second of a chirp, window by window, the state carried over:
        // both engines must agree on every probability.
        let mut states = [vec![0.0f32; 256], vec![0.0f32; 256]];
        let mut worst = 0.0f32;
        for window in 0..31 {
            let input: Vec<f32> = (0..576)
                .map(|i| {
                    let t = (window * 512 + i) as f32 / 16_000.0;
                    0.3 * (2.0 * std::f32::consts::PI * (200.0 + 400.0 * t) * t).sin()
                })
                .collect();
            let mut probabilities = [0.0f32; 2];
            for (k, model) in [&tract, &ort].into_iter().enumerate() {
                let out = model
                    .run(vec![
                        Tensor::f32(&[1, 576], input.clone()),
                        Tensor::f32(&[2, 1, 128], states[k].clone()),
                    ])
                    .unwrap();
                probabilities[k] = out[0].as_f32().unwrap()[0];
                states[k] = out[1].as_f32().unwrap().to_vec();
            }
            worst = worst.max((probabilities[0] - probabilities[1]).abs());
        }
        assert!(worst < 1e-4, "tract and onnxruntime differ by {worst}");
        let error = ort
            .run(vec![Tensor::f32(&[1, 576], vec![0.0; 576])])
            .unwrap_err();
        assert!(error.to_string().contains("takes 2 inputs"), "{error}");
    }

    /// Silero cut where its recurrent layer starts: part one makes the
    /// features, part two (features and state in) the rest.
    fn silero_in_two(path: &Path) -> (Part, Part) {
        use prost::Message as _;
        let proto =
            tract_onnx::pb::ModelProto::decode(std::fs::read(path).unwrap().as_slice()).unwrap();
        let features = proto
            .graph
            .unwrap()
            .node
            .into_iter()
            .find(|n| n.op_type == "LSTM")
            .expect("Silero has a recurrent layer")
            .input[0]
            .clone();
        // tract takes a symbol for a dimension only where nothing fixes it.
        let features = spec(&features, &[1, 1, 128]);
        let input = spec("input", &[1, -1]);
        let state = spec("state", &[2, 1, 128]);
        let outputs = [spec("output", &[1, 1]), spec("stateN", &[2, 1, 128])];
        (
            Part::new(&[input, state.clone()], std::slice::from_ref(&features)),
            Part::new(&[features, state], &outputs),
        )
    }

    #[test]
    fn a_model_cut_in_two_computes_what_it_computes_whole() {
        install_onnxruntime();
        let path = silero();
        let (first, second) = silero_in_two(&path);
        let options = ModelOptions::default();
        for engine in [Engine::Tract, Engine::OnnxRuntime] {
            let choice = EngineChoice::Only(engine);
            let whole = load_with(&path, &options, choice).unwrap();
            let a = load_part_with(&path, &options, Some(first.clone()), choice).unwrap();
            let b = load_part_with(&path, &options, Some(second.clone()), choice).unwrap();
            assert_eq!(a.inputs.len(), 2);
            assert_eq!(b.outputs.len(), 2);
            let again = load_part_with(&path, &options, Some(first.clone()), choice).unwrap();
            assert!(Arc::ptr_eq(&a, &again), "the same part is shared");
            let mut state = vec![0.0f32; 256];
            for window in 0..8 {
                let input: Vec<f32> = (0..576)
                    .map(|i| (0.05 * (window * 576 + i) as f32).sin() * 0.3)
                    .collect();
                let state_in = Tensor::f32(&[2, 1, 128], state.clone());
                let expected = whole
                    .run(vec![
                        Tensor::f32(&[1, 576], input.clone()),
                        state_in.clone(),
                    ])
                    .unwrap();
                let features = a
                    .run(vec![Tensor::f32(&[1, 576], input), state_in.clone()])
                    .unwrap();
                let got = b
                    .run(vec![features.into_iter().next().unwrap(), state_in])
                    .unwrap();
                for (e, g) in expected.iter().zip(&got) {
                    let (e, g) = (e.as_f32().unwrap(), g.as_f32().unwrap());
                    assert_eq!(e.len(), g.len());
                    let worst = e
                        .iter()
                        .zip(g)
                        .map(|(x, y)| (x - y).abs())
                        .fold(0.0, f32::max);
                    assert!(
                        worst < 1e-5,
                        "{}: parts differ from whole by {worst}",
                        engine.name()
                    );
                }
                state = expected[1].as_f32().unwrap().to_vec();
            }
        }
    }

    #[test]
    fn a_part_names_what_it_cannot_find() {
        let path = silero();
        let options = ModelOptions::default();
        let load = |part: Part| {
            load_part_with(
                &path,
                &options,
                Some(part),
                EngineChoice::Only(Engine::Tract),
            )
            .map(|_| ())
            .unwrap_err()
        };
        let e = load(Part::new(
            &[spec("input", &[1, -1])],
            &[spec("nowhere", &[1])],
        ));
        assert!(
            format!("{e:#}").contains("no tensor `nowhere` to end the part at"),
            "{e:#}"
        );
        let e = load(Part::new(
            &[spec("nothing", &[1])],
            &[spec("output", &[1, 1])],
        ));
        assert!(
            format!("{e:#}").contains("no tensor `nothing` to start"),
            "{e:#}"
        );
        // The output needs the state, which the part is not fed.
        let e = load(Part::new(
            &[spec("input", &[1, -1])],
            &[spec("output", &[1, 1])],
        ));
        let text = format!("{e:#}");
        assert!(text.contains("needs the model's input `state`"), "{text}");
        assert!(text.contains("the part from `input` to `output`"), "{text}");
    }

    #[test]
    fn auto_tries_the_engine_the_catalog_prefers_first() {
        let models = crate::dirs::directory(Directory::Models);
        let piper = models.join("piper-joe/en_US-joe-medium.onnx");
        assert_eq!(
            EngineChoice::Auto.order(&piper),
            [Engine::OnnxRuntime, Engine::Tract]
        );
        assert_eq!(
            EngineChoice::Auto.order(&silero()),
            [Engine::Tract, Engine::OnnxRuntime]
        );
        assert_eq!(
            EngineChoice::Only(Engine::Tract).order(&piper),
            [Engine::Tract]
        );
        assert_eq!(EngineChoice::parse("").unwrap(), EngineChoice::Auto);
        assert_eq!(
            EngineChoice::parse("onnxruntime").unwrap(),
            EngineChoice::Only(Engine::OnnxRuntime)
        );
        let error = EngineChoice::parse("cuda").unwrap_err();
        assert!(
            error.to_string().contains("auto, tract or onnxruntime"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_onnxruntime_says_how_to_install_it() {
        // (A broken library is tested through `hark` in tests/tts.rs: `ort`
        // loads one library per process.)
        let error = onnxruntime::load_runtime(Path::new("/nonexistent/libonnxruntime.so"))
            .err()
            .unwrap();
        assert!(error.contains("hark models fetch onnxruntime"), "{error}");
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
