//! `hark doctor` for people: the [`Report`], a section per subject.

use super::report::Report;

/// Prints the report for people.
pub fn print(r: &Report) {
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
    let e = &r.engines;
    println!("\nEngines (HARK_ENGINE={}): {} built in", e.choice, e.tract);
    match (&e.onnxruntime.error, e.onnxruntime.threads) {
        (None, Some(threads)) => println!(
            "  onnxruntime  loaded from {} ({threads} threads)",
            e.onnxruntime.library
        ),
        (Some(error), _) => println!("  onnxruntime  unavailable: {error}"),
        (None, None) => println!("  onnxruntime  unavailable"),
    }
    for m in &e.models {
        println!("  {}/{}: {} ({})", m.model, m.file, m.engine, m.why);
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
