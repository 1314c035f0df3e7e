//! `hark doctor [--json]`: what this machine gives Hark — CPU and SIMD
//! features, the kernel variant chosen per operation and why, memory and
//! huge pages, audio devices, plugins, installed models with hashes.
//!
//! The JSON form is documented in docs/doctor.md; its field names are a
//! stable interface (fields may be added, never renamed).

use std::{collections::BTreeMap, path::Path};

use hark_inference::Variant;
use serde::Serialize;

use crate::{catalog, loader::PluginSet};

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

/// Gathers the report.
pub fn gather(plugins: &PluginSet) -> Report {
    Report {
        hark_version: env!("CARGO_PKG_VERSION"),
        plugin_abi: hark_plugin_api::ABI_VERSION.to_string(),
        cpu: cpu(),
        kernels: kernels(),
        memory: memory(),
        audio: audio(),
        plugins: Plugins {
            search_path: plugins
                .searched
                .iter()
                .map(|d| d.path.display().to_string())
                .collect(),
            loaded: plugins
                .plugins
                .iter()
                .map(|p| LoadedPlugin {
                    name: p.name.clone(),
                    version: p.version.clone(),
                    abi: p.abi_version.clone(),
                    path: p.path.display().to_string(),
                    kinds: p.kinds.iter().map(|k| k.name.clone()).collect(),
                })
                .collect(),
            rejected: plugins
                .rejected
                .iter()
                .filter(|r| r.looks_like_library)
                .map(|r| RejectedPlugin {
                    path: r.path.display().to_string(),
                    reason: r.reason.clone(),
                })
                .collect(),
        },
        models: models(&crate::dirs::directory(hark_plugin_api::Directory::Models)),
    }
}

fn cpu() -> Cpu {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let features = hark_inference::CPU_FEATURES
        .iter()
        .map(|&f| (f, hark_inference::cpu_has(f)))
        .collect();
    Cpu {
        model,
        arch: std::env::consts::ARCH,
        logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        features,
    }
}

fn kernels() -> KernelsReport {
    let variants = Variant::ALL
        .into_iter()
        .map(|v| VariantReport {
            name: v.name(),
            supported: v.is_supported(),
            missing: v.missing_features(),
        })
        .collect();
    let threads = crate::inference::threads_from_env().unwrap_or(1);
    match crate::inference::core() {
        Ok(core) => {
            let name = core.kernels.variant().name();
            let quantized = |format: &str| OpReport {
                op: "",
                implementation: format!("{name} panel kernel ({format})"),
                why: core.reason.clone(),
            };
            let mut ops = vec![
                OpReport {
                    op: "linear q8_0",
                    ..quantized("q8_0")
                },
                OpReport {
                    op: "linear q4_0",
                    ..quantized("q4_0")
                },
                OpReport {
                    op: "linear i8row",
                    ..quantized("i8row")
                },
                OpReport {
                    op: "linear f32",
                    ..quantized("f32")
                },
            ];
            for op in ["layer_norm", "softmax", "gelu", "add", "mean_pool"] {
                ops.push(OpReport {
                    op,
                    implementation: "portable f32, vectorised by the compiler".into(),
                    why: "a small share of the time next to the products; no hand-written variant"
                        .into(),
                });
            }
            ops.push(OpReport {
                op: "onnx models",
                implementation:
                    "tract-onnx 0.23 (its own kernels, picked by tract-linalg at run time)".into(),
                why: "model service: one shared instance per (file, options)".into(),
            });
            KernelsReport {
                selected: Some(name),
                reason: core.reason.clone(),
                threads,
                variants,
                ops,
            }
        }
        Err(e) => KernelsReport {
            selected: None,
            reason: e.to_string(),
            threads,
            variants,
            ops: Vec::new(),
        },
    }
}

fn meminfo(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with(&format!("{field}:")))?;
    let mut parts = line.split_whitespace().skip(1);
    let value: u64 = parts.next()?.parse().ok()?;
    Some(match parts.next() {
        Some("kB") => value * 1024,
        _ => value,
    })
}

fn memory() -> Memory {
    // The active mode is the bracketed one: "always [madvise] never".
    let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .ok()
        .and_then(|s| {
            let start = s.find('[')?;
            let end = s[start..].find(']')?;
            Some(s[start + 1..start + end].to_string())
        });
    Memory {
        total_bytes: meminfo("MemTotal"),
        available_bytes: meminfo("MemAvailable"),
        huge_pages_for_weights: matches!(thp.as_deref(), Some("always" | "madvise")),
        transparent_huge_pages: thp,
        hugepages_total: meminfo("HugePages_Total"),
        hugepage_size_bytes: meminfo("Hugepagesize"),
    }
}

fn audio() -> Audio {
    // ALSA prints every probe failure (no card, no pulse, ...) to stderr;
    // what matters is summarised in the report instead.
    let _quiet = super::devices::QuietStderr::new();
    audio_devices()
}

fn audio_devices() -> Audio {
    use cpal::traits::{DeviceTrait, HostTrait};
    let host = cpal::default_host();
    let name = |d: &cpal::Device| d.name().unwrap_or_else(|e| format!("<unnamed: {e}>"));
    let mut report = Audio {
        host: host.id().name().to_string(),
        default_input: host.default_input_device().map(|d| name(&d)),
        default_output: host.default_output_device().map(|d| name(&d)),
        inputs: Vec::new(),
        outputs: Vec::new(),
        error: None,
    };
    match host.input_devices() {
        Ok(devices) => report.inputs = devices.map(|d| name(&d)).collect(),
        Err(e) => report.error = Some(e.to_string()),
    }
    match host.output_devices() {
        Ok(devices) => report.outputs = devices.map(|d| name(&d)).collect(),
        Err(e) => report.error = Some(e.to_string()),
    }
    report
}

fn models(dir: &Path) -> Models {
    Models {
        dir: dir.display().to_string(),
        catalog: catalog::CATALOG
            .iter()
            .map(|entry| {
                let files: Vec<ModelFileReport> = entry
                    .files
                    .iter()
                    .map(|f| {
                        let path = entry.dir(dir).join(f.name);
                        let sha256 = catalog::sha256_file(&path).ok();
                        ModelFileReport {
                            bytes: std::fs::metadata(&path).ok().map(|m| m.len()),
                            ok: sha256.as_deref() == Some(f.sha256),
                            path: path.display().to_string(),
                            sha256,
                            expected_sha256: f.sha256,
                        }
                    })
                    .collect();
                ModelReport {
                    name: entry.name.to_string(),
                    installed: files.iter().all(|f| f.ok),
                    files,
                }
            })
            .collect(),
    }
}

/// Prints the report for people.
pub fn print_text(r: &Report) {
    println!("hark {} (plugin ABI {})", r.hark_version, r.plugin_abi);
    println!(
        "\nCPU: {} ({}, {} logical cores)",
        r.cpu.model, r.cpu.arch, r.cpu.logical_cores
    );
    let (have, lack): (Vec<_>, Vec<_>) = r.cpu.features.iter().partition(|(_, &v)| v);
    println!(
        "  has:   {}",
        have.iter().map(|(k, _)| **k).collect::<Vec<_>>().join(" ")
    );
    if !lack.is_empty() {
        println!(
            "  lacks: {}",
            lack.iter().map(|(k, _)| **k).collect::<Vec<_>>().join(" ")
        );
    }
    println!(
        "\nKernels: {} — {}",
        r.kernels.selected.unwrap_or("unavailable"),
        r.kernels.reason
    );
    println!(
        "  threads per product: {} (HARK_THREADS)",
        r.kernels.threads
    );
    for v in &r.kernels.variants {
        let status = if v.supported {
            "supported".to_string()
        } else {
            format!("missing {}", v.missing.join(", "))
        };
        println!("  {:<11} {status}", v.name);
    }
    for op in &r.kernels.ops {
        println!("  {:<13} {}", op.op, op.implementation);
    }
    let gib = |b: Option<u64>| {
        b.map_or("?".into(), |b| {
            format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
        })
    };
    println!(
        "\nMemory: {} total, {} available; transparent huge pages: {} ({})",
        gib(r.memory.total_bytes),
        gib(r.memory.available_bytes),
        r.memory
            .transparent_huge_pages
            .as_deref()
            .unwrap_or("unknown"),
        if r.memory.huge_pages_for_weights {
            "weight files are advised to use them"
        } else {
            "not available to weight files"
        }
    );
    println!("\nAudio ({}):", r.audio.host);
    println!(
        "  default input:  {}",
        r.audio.default_input.as_deref().unwrap_or("none")
    );
    println!(
        "  default output: {}",
        r.audio.default_output.as_deref().unwrap_or("none")
    );
    println!("  inputs: {}", list(&r.audio.inputs));
    println!("  outputs: {}", list(&r.audio.outputs));
    if let Some(e) = &r.audio.error {
        println!("  error: {e}");
    }
    println!(
        "\nPlugins ({} loaded, {} refused):",
        r.plugins.loaded.len(),
        r.plugins.rejected.len()
    );
    for p in &r.plugins.loaded {
        println!(
            "  {} {} (ABI {}): {}",
            p.name,
            p.version,
            p.abi,
            p.kinds.join(", ")
        );
    }
    for p in &r.plugins.rejected {
        println!("  refused {}: {}", p.path, p.reason);
    }
    println!("\nModels in {}:", r.models.dir);
    for m in &r.models.catalog {
        let state = if m.installed {
            "installed, hashes match"
        } else if m.files.iter().any(|f| f.bytes.is_some()) {
            "present but a hash differs: run `hark models fetch` again"
        } else {
            "not installed: `hark models fetch` installs it"
        };
        println!("  {:<12} {state}", m.name);
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
