//! Running a validated pipeline: one thread per node, bounded crossbeam
//! channels between them.
//!
//! Why a thread per node: nodes block (a microphone read, a model
//! inference, a full queue), and a blocked node must not stall the
//! others; pipelines have tens of nodes, not thousands. Backpressure is
//! the channels' bound: a `block` link makes a fast producer wait.
//!
//! End of stream flows with the data: a node whose inputs have all ended
//! flushes and ends its outputs, so the run finishes when every node has,
//! i.e. when every sink has drained. `stop` (Ctrl-C) makes sources finish
//! early; the rest drains the same way.

mod convert;
mod host_context;
mod link;
mod node_thread;
mod report;

use std::{
    sync::{atomic::AtomicBool, Arc},
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, Sender};
use hark_plugin_api::Message;
use hdrhistogram::Histogram;

pub use host_context::NodeEnv;
pub use link::{link, LinkSender, LinkStats};
pub use report::format_stats;

use crate::{loader::PluginSet, metrics::Metrics, pipeline::Pipeline};
use host_context::OutputPorts;
use node_thread::{Instance, NodeThread};

/// How to run.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Time every call and track queue high-water marks (`--stats`).
    pub stats: bool,
    /// Set to stop: sources finish, everything else drains.
    pub stop: Arc<AtomicBool>,
    /// Extra inputs from outside the pipeline: (node, input port, receiver).
    /// Used by `hark bench` and tests to drive a pipeline.
    pub feeds: Vec<(usize, u32, Receiver<Message>)>,
    /// Extra outputs to outside: (node, output port, sender); blocking.
    pub taps: Vec<(usize, u32, Sender<Message>)>,
    /// Where to record call times, failures, restarts and link queues
    /// (`--metrics`).
    pub metrics: Option<Arc<Metrics>>,
}

/// What happened to one node.
#[derive(Debug)]
pub struct NodeReport {
    /// Node name.
    pub name: String,
    /// `plugin/kind`.
    pub kind: String,
    /// Messages received (end of stream excluded).
    pub received: u64,
    /// Messages emitted.
    pub emitted: u64,
    /// Messages received after the node gave up, discarded.
    pub discarded: u64,
    /// Restarts performed.
    pub restarts: u32,
    /// Failures (errors and panics).
    pub failures: u32,
    /// Why the node gave up, if it did.
    pub error: Option<String>,
    /// Processing time per call, in ns (with `--stats`).
    pub histogram: Option<Histogram<u64>>,
    /// Plugin counters.
    pub counters: std::collections::BTreeMap<String, u64>,
    /// Plugin gauges.
    pub gauges: std::collections::BTreeMap<String, f64>,
    /// Messages dropped by the policies of the links into this node.
    pub dropped_on_inputs: u64,
    /// Highest queue length among the links into this node.
    pub queue_high_water: usize,
}

/// What happened in a run.
#[derive(Debug)]
pub struct RunReport {
    /// One per node, in pipeline order.
    pub nodes: Vec<NodeReport>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The part of `elapsed` spent creating the nodes (loading models,
    /// opening files and devices) before any ran.
    pub startup: Duration,
}

impl RunReport {
    /// Nodes that gave up, with why.
    pub fn failures(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter_map(|n| n.error.as_deref())
            .collect()
    }
}

/// A node that could not be created.
#[derive(Debug)]
pub struct StartError {
    /// Node name.
    pub node: String,
    /// Its kind.
    pub kind: String,
    /// The plugin's message.
    pub message: String,
    /// The plugin's hint.
    pub hint: String,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "node `{}` ({}) could not start: {}",
            self.node, self.kind, self.message
        )
    }
}

/// Nodes created and kept, never run: what they hold stays loaded. `hark
/// serve` keeps one resident instance of each stage, so that the models
/// its requests' nodes share (through the model service's and plugins'
/// registries, which hold them only while a node uses them) are loaded
/// once, at start-up, rather than by every request.
///
/// `run` starts from one too: every node created, none run yet.
pub struct Resident {
    // Declared before the environments their contexts point into, so that
    // they shut down first.
    instances: Vec<Instance>,
    envs: Vec<Arc<NodeEnv>>,
}

impl Resident {
    /// Creates a node of every spec of `pipeline`, each with the host
    /// state its context points into (shut down when dropped). `Err`
    /// lists every node that failed to start (the others are shut down).
    pub fn create(pipeline: &Pipeline, plugins: &PluginSet) -> Result<Resident, Vec<StartError>> {
        let envs: Vec<Arc<NodeEnv>> = pipeline
            .nodes
            .iter()
            .map(|n| NodeEnv::new(&n.name))
            .collect();
        let mut instances = Vec::new();
        let mut errors = Vec::new();
        for (spec, env) in pipeline.nodes.iter().zip(&envs) {
            let plugin = plugins
                .get(&spec.plugin)
                .expect("validated pipelines name loaded plugins");
            match Instance::create(plugin, spec, env) {
                Ok(instance) => instances.push(instance),
                Err(e) => errors.push(StartError {
                    node: spec.name.clone(),
                    kind: spec.kind.name.clone(),
                    message: e.message.to_string(),
                    hint: e.hint.to_string(),
                }),
            }
        }
        if errors.is_empty() {
            Ok(Resident { instances, envs })
        } else {
            Err(errors) // `instances` drop here, shutting down cleanly
        }
    }
}

/// Creates every node, then runs them until every stream has ended.
///
/// Nodes are all created before any runs, so a missing file or device is
/// reported before anything happens. `Err` lists every node that failed
/// to start.
pub fn run(
    pipeline: &Pipeline,
    plugins: &PluginSet,
    options: &RunOptions,
) -> Result<RunReport, Vec<StartError>> {
    let started = Instant::now();
    let Resident { instances, envs } = Resident::create(pipeline, plugins)?;
    let startup = started.elapsed();

    // Wire the links.
    let n = pipeline.nodes.len();
    let mut inputs: Vec<Vec<(u32, Receiver<Message>)>> = (0..n).map(|_| Vec::new()).collect();
    let mut outputs: Vec<Vec<Vec<LinkSender>>> = pipeline
        .nodes
        .iter()
        .map(|node| (0..node.kind.outputs.len()).map(|_| Vec::new()).collect())
        .collect();
    let mut link_stats: Vec<(usize, Arc<LinkStats>)> = Vec::new();
    for spec in &pipeline.links {
        let track = options.stats || options.metrics.is_some();
        let (tx, rx, stats) = link(spec.capacity, spec.policy, track, spec.convert);
        if let Some(metrics) = &options.metrics {
            metrics.watch_link(pipeline.link_name(link_stats.len()), &stats);
        }
        outputs[spec.from.0][spec.from.1].push(tx);
        inputs[spec.to.0].push((spec.to.1 as u32, rx));
        link_stats.push((spec.to.0, stats));
    }
    for (node, port, rx) in &options.feeds {
        inputs[*node].push((*port, rx.clone()));
    }
    for (node, port, tx) in &options.taps {
        outputs[*node][*port as usize].push(LinkSender::external(tx.clone()));
    }

    let mut reports: Vec<NodeReport> = std::thread::scope(|scope| {
        let handles: Vec<_> = pipeline
            .nodes
            .iter()
            .zip(instances)
            .zip(envs)
            .zip(inputs)
            .zip(outputs)
            .map(|((((spec, instance), env), inputs), ports)| {
                let thread = NodeThread {
                    spec: spec.clone(),
                    plugin: plugins.get(&spec.plugin).expect("validated"),
                    instance,
                    env,
                    outputs: OutputPorts {
                        ports,
                        stopping: options.stop.clone(),
                        is_source: inputs.is_empty(),
                        emitted: 0,
                    },
                    inputs,
                    timing: options.stats,
                    metrics: options.metrics.as_ref().map(|m| {
                        m.node(&spec.name, &format!("{}/{}", spec.plugin, spec.kind.name))
                    }),
                    no_work_in_pieces: false,
                };
                std::thread::Builder::new()
                    .name(format!("node:{}", spec.name))
                    .spawn_scoped(scope, move || thread.run())
                    .expect("spawning a node thread")
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .expect("node threads catch plugin panics and never panic themselves")
            })
            .collect()
    });
    for (to, stats) in link_stats {
        reports[to].dropped_on_inputs += stats.dropped.load(std::sync::atomic::Ordering::Relaxed);
        reports[to].queue_high_water = reports[to]
            .queue_high_water
            .max(stats.high_water.load(std::sync::atomic::Ordering::Relaxed));
    }
    Ok(RunReport {
        nodes: reports,
        elapsed: started.elapsed(),
        startup,
    })
}
