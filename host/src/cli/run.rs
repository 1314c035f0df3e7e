//! `hark run FILE [--set ..] [--stats] [--metrics ADDR]`: run a pipeline until every stream
//! has ended; the first Ctrl-C stops the sources and lets queued work
//! drain, a second one quits at once.

use std::{
    net::SocketAddr,
    path::Path,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
};

use super::{inference_core_ready, load_pipeline, load_plugins};
use crate::{
    loader::{PluginSet, SearchPath},
    metrics::Metrics,
    pipeline::Pipeline,
    runtime::{self, RunOptions},
};

/// Validates and runs `file`; returns the exit code.
pub fn main(
    file: &Path,
    set: Vec<String>,
    stats: bool,
    metrics: Option<SocketAddr>,
    search: &SearchPath,
    color: bool,
) -> i32 {
    if let Err(code) = inference_core_ready() {
        return code;
    }
    let plugins = load_plugins(search);
    let pipeline = match load_pipeline(file, set, &plugins, color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let metrics = match metrics {
        None => None,
        Some(addr) => {
            let registry = Arc::new(Metrics::new());
            match crate::metrics::serve(registry.clone(), addr) {
                Ok(bound) => eprintln!("metrics at http://{bound}/metrics"),
                Err(e) => {
                    eprintln!("error: {e}");
                    return 2;
                }
            }
            Some(registry)
        }
    };
    run(&pipeline, &plugins, stats, metrics)
}

fn run(
    pipeline: &Pipeline,
    plugins: &PluginSet,
    stats: bool,
    metrics: Option<Arc<Metrics>>,
) -> i32 {
    let stop = Arc::new(AtomicBool::new(false));
    let interrupts = Arc::new(AtomicUsize::new(0));
    {
        let (stop, interrupts) = (stop.clone(), interrupts.clone());
        let installed = ctrlc::set_handler(move || {
            if interrupts.fetch_add(1, Ordering::SeqCst) == 0 {
                eprintln!(
                    "\ninterrupted: stopping sources and draining (Ctrl-C again to quit now)"
                );
                stop.store(true, Ordering::SeqCst);
            } else {
                std::process::exit(130);
            }
        });
        if let Err(e) = installed {
            tracing::warn!("cannot install the Ctrl-C handler: {e}");
        }
    }
    let options = RunOptions {
        stats,
        stop,
        metrics,
        ..RunOptions::default()
    };
    match runtime::run(pipeline, plugins, &options) {
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
                if !e.hint.is_empty() {
                    eprintln!("  help: {}", e.hint);
                }
            }
            3
        }
        Ok(report) => {
            if stats {
                eprint!("{}", runtime::format_stats(&report));
            }
            let failures = report.failures();
            if !failures.is_empty() {
                eprintln!("error: {} node(s) failed:", failures.len());
                for f in failures {
                    eprintln!("  {f}");
                }
                1
            } else if interrupts.load(Ordering::SeqCst) > 0 {
                130
            } else {
                0
            }
        }
    }
}
