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
mod instance;
pub(crate) mod isolate;
mod link;
mod node_thread;
mod report;
mod watch;

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, Sender};
use hark_plugin_api::Message;
use hdrhistogram::Histogram;

pub(crate) use convert::AudioConverter;
pub use host_context::NodeEnv;
pub use link::{link, LinkSender, LinkStats};
pub use report::format_stats;

/// `hark isolated-node`: the process of one isolated node (see
/// `runtime/isolate/`); its exit status.
pub fn serve_isolated_node() -> i32 {
    isolate::child::main()
}

use crate::{
    loader::PluginSet,
    metrics::{Metrics, NodeMetrics},
    pipeline::{NodeSpec, Pipeline},
};
use host_context::OutputPorts;
use instance::Instance;
use node_thread::{report_from, NodeThread};
use watch::{Activity, Clock, Tally};

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
    /// Once `stop` is set, how long nodes may take to drain before the
    /// run abandons them and returns (`None`: [`DEFAULT_DRAIN_TIMEOUT`]).
    pub drain_timeout: Option<Duration>,
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
    /// Failures (errors, panics and stalls).
    pub failures: u32,
    /// Calls that ran past the node's stall deadline.
    pub stalls: u32,
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

    let (done_tx, done_rx) = crossbeam_channel::unbounded();
    let clock = Arc::new(Clock::new());
    let mut watched: Vec<Watched> = Vec::with_capacity(n);
    for (index, ((((spec, instance), env), inputs), ports)) in pipeline
        .nodes
        .iter()
        .zip(instances)
        .zip(envs)
        .zip(inputs)
        .zip(outputs)
        .enumerate()
    {
        let node = Watched {
            kit: Some(Kit {
                inputs: inputs.clone(),
                ports: duplicate_ports(&ports),
            }),
            generation: 0,
            activity: Arc::new(Activity::new(clock.clone())),
            tally: Arc::new(Tally::default()),
            env,
            metrics: options
                .metrics
                .as_ref()
                .map(|m| m.node(&spec.name, &format!("{}/{}", spec.plugin, spec.kind.name))),
            report: None,
        };
        let thread = node.thread(spec, plugins, instance, inputs, ports, options, None);
        spawn(index, 0, thread, &done_tx);
        watched.push(node);
    }
    watch(
        pipeline,
        plugins,
        options,
        &clock,
        &mut watched,
        &done_tx,
        &done_rx,
    );
    let mut reports: Vec<NodeReport> = watched
        .into_iter()
        .map(|n| {
            n.report
                .expect("the watchdog returns when every node has reported")
        })
        .collect();
    for (to, stats) in link_stats {
        reports[to].dropped_on_inputs += stats.dropped.load(Ordering::Relaxed);
        reports[to].queue_high_water = reports[to]
            .queue_high_water
            .max(stats.high_water.load(Ordering::Relaxed));
    }
    Ok(RunReport {
        nodes: reports,
        elapsed: started.elapsed(),
        startup,
    })
}

/// Default for [`RunOptions::drain_timeout`].
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long abandoned threads get to finish the call they are in and shut
/// their node down (a WAV writer finalising its file) before `run`
/// returns without them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A node as the watchdog sees it.
struct Watched {
    /// What a replacement thread needs (dropped when the node ends, so
    /// that no link stays open because of it).
    kit: Option<Kit>,
    /// Which thread of the node is current: reports from older ones are
    /// ignored.
    generation: u32,
    /// The current thread's call.
    activity: Arc<Activity>,
    tally: Arc<Tally>,
    env: Arc<NodeEnv>,
    metrics: Option<NodeMetrics>,
    report: Option<NodeReport>,
}

/// A node's links, kept for a thread that replaces a stalled one.
struct Kit {
    inputs: Vec<(u32, Receiver<Message>)>,
    ports: Vec<Vec<LinkSender>>,
}

impl Watched {
    /// A thread for this node: the first (`replaces` = `None`), or one
    /// replacing a stalled thread, which restarts or gives up first.
    #[allow(clippy::too_many_arguments)]
    fn thread(
        &self,
        spec: &NodeSpec,
        plugins: &PluginSet,
        instance: Instance,
        inputs: Vec<(u32, Receiver<Message>)>,
        ports: Vec<Vec<LinkSender>>,
        options: &RunOptions,
        replaces: Option<String>,
    ) -> NodeThread {
        NodeThread {
            spec: spec.clone(),
            plugin: plugins.get(&spec.plugin).expect("validated").clone(),
            instance,
            env: self.env.clone(),
            outputs: OutputPorts {
                ports,
                stopping: options.stop.clone(),
                is_source: inputs.is_empty(),
                tally: self.tally.clone(),
                activity: self.activity.clone(),
            },
            inputs,
            timing: options.stats,
            metrics: self.metrics.clone(),
            no_work_in_pieces: false,
            tally: self.tally.clone(),
            activity: self.activity.clone(),
            replaces,
        }
    }
}

/// Other senders into the same links, port by port.
fn duplicate_ports(ports: &[Vec<LinkSender>]) -> Vec<Vec<LinkSender>> {
    ports
        .iter()
        .map(|links| links.iter().map(LinkSender::duplicate).collect())
        .collect()
}

type Done = (usize, u32, Option<NodeReport>);

fn spawn(index: usize, generation: u32, thread: NodeThread, done: &Sender<Done>) {
    let done = done.clone();
    let (spec, tally, env) = (
        thread.spec.clone(),
        thread.tally.clone(),
        thread.env.clone(),
    );
    std::thread::Builder::new()
        .name(format!("node:{}", thread.spec.name))
        .spawn(move || {
            // Plugin panics are caught at the FFI boundary; this catches a
            // bug in the host's own loop, so that the watchdog still gets
            // a report instead of waiting for it forever.
            let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| thread.run()))
                .unwrap_or_else(|panic| {
                    let why = panic
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("a panic");
                    tally.give_up(format!(
                        "node `{}`: the host's node loop panicked: {why}",
                        spec.name
                    ));
                    Some(report_from(&spec, &tally, &env))
                });
            let _ = done.send((index, generation, report));
        })
        .expect("spawning a node thread");
}

/// Waits until every node has reported, meanwhile replacing stalled
/// threads and, once the pipeline is stopping, abandoning nodes that have
/// not drained by the deadline.
fn watch(
    pipeline: &Pipeline,
    plugins: &PluginSet,
    options: &RunOptions,
    clock: &Arc<Clock>,
    nodes: &mut [Watched],
    done_tx: &Sender<Done>,
    done_rx: &Receiver<Done>,
) {
    // Check stalls a few times per deadline; a stall is then reported
    // within 25 % of its deadline.
    let tick = pipeline
        .nodes
        .iter()
        .filter_map(|n| n.stall_timeout)
        .min()
        .map_or(Duration::from_millis(250), |t| t / 4)
        .clamp(Duration::from_millis(10), Duration::from_millis(250));
    let drain = options.drain_timeout.unwrap_or(DEFAULT_DRAIN_TIMEOUT);
    let mut stop_seen: Option<Instant> = None;
    while nodes.iter().any(|n| n.report.is_none()) {
        clock.tick();
        if let Ok((index, generation, report)) = done_rx.recv_timeout(tick) {
            let node = &mut nodes[index];
            if generation == node.generation {
                if let Some(report) = report {
                    node.report = Some(report);
                    node.kit = None;
                }
            }
            continue; // collect every report that is in before checking
        }
        for (index, (node, spec)) in nodes.iter_mut().zip(&pipeline.nodes).enumerate() {
            let (Some(limit), None) = (spec.stall_timeout, &node.report) else {
                continue;
            };
            let Some((call, running)) = node.activity.in_call() else {
                continue;
            };
            if running < limit {
                continue;
            }
            node.activity.abandon();
            node.tally.stalls.fetch_add(1, Ordering::Relaxed);
            if let Some(m) = &node.metrics {
                m.stalls.inc();
            }
            let line = format!(
                "node `{}` ({}) stalled: {} has not returned for {:.1} s (its stall_timeout_ms is {})",
                spec.name,
                spec.kind.name,
                call.name(),
                running.as_secs_f64(),
                limit.as_millis()
            );
            tracing::error!("{line}");
            // A new thread takes the node's links over; the stalled one
            // is refused every emit and exits when (if) its call returns.
            node.generation += 1;
            node.activity = Arc::new(Activity::new(clock.clone()));
            let kit = node.kit.as_ref().expect("running nodes keep their kit");
            let thread = node.thread(
                spec,
                plugins,
                Instance::empty(),
                kit.inputs.clone(),
                duplicate_ports(&kit.ports),
                options,
                Some(line),
            );
            spawn(index, node.generation, thread, done_tx);
        }
        if options.stop.load(Ordering::Relaxed) {
            let since = *stop_seen.get_or_insert_with(Instant::now);
            if since.elapsed() >= drain {
                abandon_undrained(pipeline, nodes, drain, done_rx);
                return;
            }
        }
    }
}

/// The drain deadline passed: every node still running is abandoned and
/// reported as not drained. Their threads get [`SHUTDOWN_GRACE`] to
/// return from the call they are in and shut their node down.
fn abandon_undrained(
    pipeline: &Pipeline,
    nodes: &mut [Watched],
    drain: Duration,
    done_rx: &Receiver<Done>,
) {
    let mut waiting = 0;
    for (node, spec) in nodes.iter_mut().zip(&pipeline.nodes) {
        if node.report.is_some() {
            continue;
        }
        node.activity.abandon();
        let line = format!(
            "node `{}` ({}) had not drained {:.1} s after the stop; abandoned",
            spec.name,
            spec.kind.name,
            drain.as_secs_f64()
        );
        tracing::error!("{line}");
        node.tally.give_up(line);
        node.report = Some(report_from(spec, &node.tally, &node.env));
        node.kit = None;
        waiting += 1;
    }
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    while waiting > 0 {
        match done_rx.recv_deadline(deadline) {
            Ok((index, generation, _)) if generation == nodes[index].generation => waiting -= 1,
            Ok(_) => {}
            Err(_) => return,
        }
    }
}
