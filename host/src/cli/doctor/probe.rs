//! Filling in the [`Report`] from the machine: `/proc/cpuinfo` and the
//! CPU's feature flags, the inference core's kernel choice, `/proc/meminfo`,
//! the sound devices, the plugin path and the installed models.

use std::path::Path;

use hark_kernels::Variant;

use super::report::*;
use crate::{catalog, loader::PluginSet};

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
        engines: engines(&crate::dirs::directory(hark_plugin_api::Directory::Models)),
    }
}

fn engines(dir: &Path) -> Engines {
    use crate::inference::models::{onnxruntime, Engine, EngineChoice};
    let runtime = onnxruntime::runtime();
    let onnxruntime = OnnxRuntimeReport {
        library: onnxruntime::library_path().display().to_string(),
        available: runtime.is_ok(),
        error: runtime.as_ref().err().cloned(),
        threads: runtime.as_ref().ok().map(|r| r.threads),
    };
    let (choice, parsed) = match EngineChoice::from_env() {
        Ok(c) => (
            match c {
                EngineChoice::Auto => "auto".to_string(),
                EngineChoice::Only(e) => e.name().to_string(),
            },
            Some(c),
        ),
        Err(e) => (e.to_string(), None),
    };
    let models = catalog::CATALOG
        .iter()
        .flat_map(|entry| entry.files.iter().map(move |f| (entry, f)))
        .filter(|(entry, f)| f.name.ends_with(".onnx") && entry.dir(dir).join(f.name).is_file())
        .filter_map(|(entry, f)| {
            let order = parsed?.order(&entry.dir(dir).join(f.name));
            let usable = |e: &Engine| *e == Engine::Tract || onnxruntime.available;
            let engine = order.iter().copied().find(usable).unwrap_or(order[0]);
            let why = match (parsed?, entry.preferred_engine) {
                (EngineChoice::Only(_), _) => "HARK_ENGINE".to_string(),
                (EngineChoice::Auto, Some(p)) if p == engine => {
                    "auto: the catalog's pick (measured faster, or the only one that runs it)"
                        .to_string()
                }
                (EngineChoice::Auto, Some(p)) => {
                    format!(
                        "auto: the catalog prefers {}, which is not available",
                        p.name()
                    )
                }
                (EngineChoice::Auto, None) => {
                    "auto: tract first (no measured preference)".to_string()
                }
            };
            Some(ModelEngine {
                model: entry.name,
                file: f.name,
                engine: engine.name(),
                why,
            })
        })
        .collect();
    Engines {
        choice,
        tract: "tract-onnx 0.23",
        onnxruntime,
        models,
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
    let features = hark_kernels::CPU_FEATURES
        .iter()
        .map(|&f| (f, hark_kernels::cpu_has(f)))
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
                    "tract-onnx 0.23 (its own kernels, picked by tract-linalg at run time), or ONNX Runtime when installed (see Engines)".into(),
                why: "model service: one shared instance per (file, options, engine)".into(),
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
    let devices = crate::devices::probe(false);
    let names = |list: &[crate::devices::Device]| list.iter().map(|d| d.name.clone()).collect();
    Audio {
        inputs: names(&devices.inputs),
        outputs: names(&devices.outputs),
        host: devices.host,
        default_input: devices.default_input,
        default_output: devices.default_output,
        error: devices.error,
    }
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
