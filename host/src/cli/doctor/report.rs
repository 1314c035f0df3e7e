//! The report `hark doctor --json` prints. Its field names are a stable
//! interface, documented in docs/doctor.md (fields may be added, never
//! renamed).

use std::collections::BTreeMap;

use serde::Serialize;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Version of the `hark` binary.
    pub hark_version: &'static str,
    /// The plugin ABI the host speaks.
    pub plugin_abi: String,
    /// The processor.
    pub cpu: Cpu,
    /// The inference core's kernels.
    pub kernels: KernelsReport,
    /// Memory and huge pages.
    pub memory: Memory,
    /// Audio devices.
    pub audio: Audio,
    /// Plugins on the search path.
    pub plugins: Plugins,
    /// Installed models.
    pub models: Models,
    /// The model service's engines.
    pub engines: Engines,
}

/// The model service's engines and which runs each catalog model.
#[derive(Debug, Serialize)]
pub struct Engines {
    /// `HARK_ENGINE` as read (`auto`, `tract`, `onnxruntime`), or the
    /// error it gives.
    pub choice: String,
    /// tract's version (built in, always present).
    pub tract: &'static str,
    /// ONNX Runtime.
    pub onnxruntime: OnnxRuntimeReport,
    /// Per installed ONNX model file of the catalog: the engine that
    /// loads it under this choice and why.
    pub models: Vec<ModelEngine>,
}

/// ONNX Runtime's state.
#[derive(Debug, Serialize)]
pub struct OnnxRuntimeReport {
    /// Where Hark looks for the library (`HARK_ONNXRUNTIME`, else the
    /// models directory).
    pub library: String,
    /// Whether it loaded (`hark doctor` loads it when present).
    pub available: bool,
    /// Why not, and what to do.
    pub error: Option<String>,
    /// Threads of its pool (`HARK_MODEL_THREADS`).
    pub threads: Option<usize>,
}

/// Which engine runs one model file.
#[derive(Debug, Serialize)]
pub struct ModelEngine {
    /// The catalog entry.
    pub model: &'static str,
    /// The ONNX file.
    pub file: &'static str,
    /// `tract` or `onnxruntime`: the first engine of the choice's order
    /// that is available (the other is the fallback when it cannot run it).
    pub engine: &'static str,
    /// Why that engine.
    pub why: String,
}

/// The processor.
#[derive(Debug, Serialize)]
pub struct Cpu {
    /// Model name (`/proc/cpuinfo`), or the architecture.
    pub model: String,
    /// Architecture (`x86_64`, `aarch64`).
    pub arch: &'static str,
    /// Logical CPUs this process may use.
    pub logical_cores: usize,
    /// SIMD features that matter to the kernels, and whether present.
    pub features: BTreeMap<&'static str, bool>,
}

/// The kernel choice.
#[derive(Debug, Serialize)]
pub struct KernelsReport {
    /// The variant in use (`avx512vnni`, `avx2`, `scalar`), or null when
    /// `HARK_KERNELS`/`HARK_THREADS` is invalid.
    pub selected: Option<&'static str>,
    /// Why that one (or the configuration error).
    pub reason: String,
    /// Threads per product (`HARK_THREADS`, default 1).
    pub threads: usize,
    /// Every variant and whether this CPU supports it.
    pub variants: Vec<VariantReport>,
    /// Which code runs each operation.
    pub ops: Vec<OpReport>,
}

/// One kernel variant.
#[derive(Debug, Serialize)]
pub struct VariantReport {
    /// Its name.
    pub name: &'static str,
    /// Whether the CPU has every feature it needs.
    pub supported: bool,
    /// The features it needs that the CPU lacks.
    pub missing: Vec<&'static str>,
}

/// One operation.
#[derive(Debug, Serialize)]
pub struct OpReport {
    /// The operation.
    pub op: &'static str,
    /// The code that runs it.
    pub implementation: String,
    /// Why.
    pub why: String,
}

/// Memory.
#[derive(Debug, Serialize)]
pub struct Memory {
    /// Total RAM in bytes (`MemTotal`), if known.
    pub total_bytes: Option<u64>,
    /// Available RAM in bytes (`MemAvailable`), if known.
    pub available_bytes: Option<u64>,
    /// Transparent huge pages mode (`always`, `madvise`, `never`).
    pub transparent_huge_pages: Option<String>,
    /// Whether weight files mapped by Hark can get huge pages
    /// (THP `always` or `madvise`; Hark advises its mappings).
    pub huge_pages_for_weights: bool,
    /// Reserved huge pages (`HugePages_Total`).
    pub hugepages_total: Option<u64>,
    /// Huge page size in bytes (`Hugepagesize`).
    pub hugepage_size_bytes: Option<u64>,
}

/// Audio devices as cpal sees them.
#[derive(Debug, Serialize)]
pub struct Audio {
    /// The audio host (`ALSA`, ...).
    pub host: String,
    /// The default input device, if any.
    pub default_input: Option<String>,
    /// The default output device, if any.
    pub default_output: Option<String>,
    /// Capture devices.
    pub inputs: Vec<String>,
    /// Playback devices.
    pub outputs: Vec<String>,
    /// Why devices could not be listed, if they could not.
    pub error: Option<String>,
}

/// Plugins.
#[derive(Debug, Serialize)]
pub struct Plugins {
    /// Directories searched, in order.
    pub search_path: Vec<String>,
    /// Loaded plugins.
    pub loaded: Vec<LoadedPlugin>,
    /// Refused library files and why.
    pub rejected: Vec<RejectedPlugin>,
}

/// A loaded plugin.
#[derive(Debug, Serialize)]
pub struct LoadedPlugin {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// ABI it was built for.
    pub abi: String,
    /// File.
    pub path: String,
    /// Node kinds.
    pub kinds: Vec<String>,
}

/// A refused file.
#[derive(Debug, Serialize)]
pub struct RejectedPlugin {
    /// File.
    pub path: String,
    /// Why, in one line.
    pub reason: String,
}

/// Models.
#[derive(Debug, Serialize)]
pub struct Models {
    /// The models directory (`HARK_MODELS`, else the XDG cache).
    pub dir: String,
    /// Every catalog model.
    pub catalog: Vec<ModelReport>,
}

/// A catalog model.
#[derive(Debug, Serialize)]
pub struct ModelReport {
    /// Name.
    pub name: String,
    /// Whether every file is present with its pinned hash.
    pub installed: bool,
    /// Its files.
    pub files: Vec<ModelFileReport>,
}

/// A model file.
#[derive(Debug, Serialize)]
pub struct ModelFileReport {
    /// Where it is (or would be).
    pub path: String,
    /// Size in bytes, if present.
    pub bytes: Option<u64>,
    /// Its SHA-256, if present.
    pub sha256: Option<String>,
    /// The pinned SHA-256.
    pub expected_sha256: &'static str,
    /// Whether present with the pinned hash.
    pub ok: bool,
}
