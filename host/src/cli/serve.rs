//! `hark serve FILE [--listen ADDR] [--metrics ADDR]`: the pipeline's
//! stages as a Wyoming server (see `crate::serve`), on loopback unless
//! told otherwise.

use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};

use clap::Args;

use super::{inference_core_ready, load_pipeline, load_plugins};
use crate::{
    loader::SearchPath,
    metrics::{self, Metrics},
    serve::{CacheSettings, LimitSettings, ServeOptions, Server},
};

/// `hark serve`'s arguments.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The pipeline file (RON).
    pub file: std::path::PathBuf,
    /// Override a node's config: `node.field=value` (repeatable).
    #[arg(long = "set", value_name = "NODE.FIELD=VALUE")]
    pub set: Vec<String>,
    /// Where to listen for Wyoming clients. Loopback by default: to serve
    /// Home Assistant or satellites on other machines, give the LAN
    /// address or 0.0.0.0 (see docs/security.md).
    #[arg(long, default_value = "127.0.0.1:10300")]
    pub listen: SocketAddr,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// Requests running at once (default: one per core).
    #[arg(long, value_name = "N")]
    pub max_concurrent: Option<usize>,
    /// Speech-to-text requests running at once (default: one per four
    /// cores, as a decode uses up to four).
    #[arg(long, value_name = "N")]
    pub max_concurrent_asr: Option<usize>,
    /// Requests waiting for a slot, at most; more are refused at once.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_waiting: usize,
    /// How long a request may wait for a slot before it is refused.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub queue_timeout_ms: u64,
    /// Connections open at once, at most.
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_connections: usize,
    /// A request with no answer after this long fails.
    #[arg(long, value_name = "S", default_value_t = 60)]
    pub request_timeout_s: u64,
    /// Answers kept per service for identical requests (intents, speech);
    /// 0 turns the cache off.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub cache_entries: usize,
    /// Cache `handle` answers too: only for pipelines whose answers depend
    /// on the words alone (a FAQ), not on the time or a device's state.
    #[arg(long)]
    pub cache_handle: bool,
    /// Most concurrent requests whose matrix products run as one batch;
    /// 1 turns dynamic batching off.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub batch_max: usize,
}

/// Runs the server; returns the exit code (only on a start-up error).
pub fn main(args: ServeArgs, search: &SearchPath, color: bool) -> i32 {
    if let Err(code) = inference_core_ready() {
        return code;
    }
    let plugins = Arc::new(load_plugins(search));
    let pipeline = match load_pipeline(&args.file, args.set.clone(), &plugins, color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let metrics = Arc::new(Metrics::new());
    if let Some(addr) = args.metrics {
        match metrics::serve(metrics.clone(), addr) {
            Ok(bound) => eprintln!("metrics at http://{bound}/metrics"),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    let defaults = ServeOptions::default();
    let options = ServeOptions {
        limit: LimitSettings {
            running: args.max_concurrent.unwrap_or(defaults.limit.running),
            waiting: args.max_waiting,
            wait: Duration::from_millis(args.queue_timeout_ms),
        },
        asr_running: args.max_concurrent_asr.unwrap_or(defaults.asr_running),
        max_connections: args.max_connections,
        request_timeout: Duration::from_secs(args.request_timeout_s),
        cache: CacheSettings {
            entries: args.cache_entries,
            handle: args.cache_handle,
        },
        ..defaults
    };
    crate::inference::batch::set_max_batch(args.batch_max);
    let name = args
        .file
        .file_stem()
        .map_or_else(|| "pipeline".into(), |s| s.to_string_lossy().into_owned());
    let server = match Server::bind(&pipeline, &name, plugins, metrics, options, args.listen) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let stages = server.stages();
    let offered: Vec<String> = stages
        .all()
        .map(|s| format!("{} ({})", s.service.name(), s.node_names().join(", ")))
        .collect();
    let addr = server.local_addr().map_or(args.listen, |a| a);
    eprintln!(
        "serving {} over Wyoming at tcp://{addr}: {}",
        name_of(&args.file),
        offered.join("; ")
    );
    if !addr.ip().is_loopback() {
        eprintln!(
            "  listening beyond this machine: anyone who can reach {addr} can use these services"
        );
    }
    server.run();
    0
}

fn name_of(file: &Path) -> String {
    file.display().to_string()
}
