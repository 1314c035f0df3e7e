//! `hark run FILE [--set ..] [--stats] [--metrics ADDR] [--drain-timeout-s S]`:
//! run a pipeline until every stream has ended. The first Ctrl-C or
//! SIGTERM (systemd's stop) stops the sources and lets queued work drain
//! for at most `--drain-timeout-s`; a second one quits at once.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use super::{inference_core_ready, load_pipeline, load_plugins};
use crate::{
    loader::{PluginSet, SearchPath},
    metrics::Metrics,
    pipeline::Pipeline,
    runtime::{self, RunOptions},
};

/// `hark run`'s arguments.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The pipeline file (RON).
    file: PathBuf,
    /// Override a node's config: `node.field=value` (repeatable).
    #[arg(long = "set", value_name = "NODE.FIELD=VALUE")]
    set: Vec<String>,
    /// Print per-node statistics at the end (to stderr).
    #[arg(long)]
    stats: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics while running.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// After Ctrl-C or SIGTERM, how long queued work may drain before
    /// the nodes still busy are abandoned.
    #[arg(long, value_name = "SECONDS", default_value_t = runtime::DEFAULT_DRAIN_TIMEOUT.as_secs_f64(), value_parser = parse_seconds)]
    drain_timeout_s: f64,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a number of seconds from 0 to 86400")),
    }
}

/// Validates and runs the pipeline; returns the exit code.
pub fn main(args: RunArgs, search: &SearchPath, color: bool) -> i32 {
    let RunArgs {
        file,
        set,
        stats,
        metrics,
        drain_timeout_s,
    } = args;
    if let Err(code) = inference_core_ready() {
        return code;
    }
    let plugins = load_plugins(search);
    let pipeline = match load_pipeline(&file, set, &plugins, color) {
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
    let drain_timeout = Duration::from_secs_f64(drain_timeout_s);
    run(&pipeline, &plugins, stats, metrics, drain_timeout)
}

fn run(
    pipeline: &Pipeline,
    plugins: &PluginSet,
    stats: bool,
    metrics: Option<Arc<Metrics>>,
    drain_timeout: Duration,
) -> i32 {
    let stop = Arc::new(AtomicBool::new(false));
    let interrupts = Arc::new(AtomicUsize::new(0));
    {
        let (stop, interrupts) = (stop.clone(), interrupts.clone());
        let installed = ctrlc::set_handler(move || {
            if interrupts.fetch_add(1, Ordering::SeqCst) == 0 {
                eprintln!(
                    "\ninterrupted: stopping sources and draining for at most {:.1} s (Ctrl-C again to quit now)",
                    drain_timeout.as_secs_f64()
                );
                stop.store(true, Ordering::SeqCst);
            } else {
                std::process::exit(130);
            }
        });
        if let Err(e) = installed {
            tracing::warn!("cannot install the Ctrl-C/SIGTERM handler: {e}");
        }
    }
    let options = RunOptions {
        stats,
        stop,
        metrics,
        drain_timeout: Some(drain_timeout),
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
