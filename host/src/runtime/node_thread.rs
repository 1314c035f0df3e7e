//! One node's thread: receive, call the plugin, handle failures, end.
//!
//! The loop, for every role:
//!
//! 1. sources call `produce` until it reports `Finished` or the pipeline
//!    stops; other nodes receive from their input links until each has
//!    delivered end of stream, calling `on_message` for everything else;
//!    a transform that reports work in hand (`produce` → `Continue` after
//!    a message) gets `produce` calls while its inputs are idle, until it
//!    reports `Finished`, so it can work in pieces and still see a new
//!    message (`Cancel`) between two;
//! 2. `flush`, then end of stream on every output link;
//! 3. `shutdown`.
//!
//! A failure (error or caught panic) goes through the node's restart
//! policy: re-create the node after a doubling backoff, or give up. A node
//! that gave up keeps draining its inputs so upstream nodes never block
//! on it, and still ends its output streams, so the run always finishes.

use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, RecvError, Select, TryRecvError};
use hark_plugin_api::{Message, NodeBox, PluginError, PluginErrorKind, SourceStatus};
use hdrhistogram::Histogram;

use super::{
    host_context::{NodeEnv, OutputPorts},
    NodeReport,
};
use crate::{
    loader::Plugin,
    metrics::NodeMetrics,
    pipeline::{NodeSpec, RestartPolicy},
};

/// A plugin node owned by the host; shut down exactly once.
pub struct Instance {
    node: Option<NodeBox>,
}

impl Instance {
    /// Creates a node of `spec` through `plugin`.
    pub fn create(
        plugin: &Plugin,
        spec: &NodeSpec,
        env: &Arc<NodeEnv>,
    ) -> Result<Instance, PluginError> {
        let node = plugin.create_node(&spec.kind.name, &spec.config, env.context())?;
        Ok(Instance { node: Some(node) })
    }

    fn node(&self) -> &NodeBox {
        self.node.as_ref().expect("used after shutdown")
    }

    fn on_message(
        &mut self,
        port: u32,
        message: Message,
        out: &mut OutputPorts,
    ) -> Result<(), PluginError> {
        let node = self.node();
        let mut emitter = out.emitter();
        // SAFETY: `state` came from this vtable's plugin and is used by this
        // thread only; the emitter lives for the call.
        unsafe { (node.vtable.on_message())(node.state, port, message, &mut emitter) }.into_result()
    }

    fn produce(&mut self, out: &mut OutputPorts) -> Result<SourceStatus, PluginError> {
        let node = self.node();
        let mut emitter = out.emitter();
        // SAFETY: as in `on_message`.
        unsafe { (node.vtable.produce())(node.state, &mut emitter) }.into_result()
    }

    fn flush(&mut self, out: &mut OutputPorts) -> Result<(), PluginError> {
        let node = self.node();
        let mut emitter = out.emitter();
        // SAFETY: as in `on_message`.
        unsafe { (node.vtable.flush())(node.state, &mut emitter) }.into_result()
    }

    /// Shuts the node down (idempotent).
    pub fn shutdown(&mut self) -> Result<(), PluginError> {
        match self.node.take() {
            // SAFETY: `state` is not used again after this call.
            Some(node) => unsafe { (node.vtable.shutdown())(node.state) }.into_result(),
            None => Ok(()),
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::warn!("node shutdown failed: {}", e.message);
        }
    }
}

/// Everything a node thread needs.
pub struct NodeThread<'p> {
    /// The node as validated.
    pub spec: NodeSpec,
    /// Its plugin (for restarts).
    pub plugin: &'p Plugin,
    /// The running instance.
    pub instance: Instance,
    /// Host state behind its context.
    pub env: Arc<NodeEnv>,
    /// (input port, link receiver) pairs.
    pub inputs: Vec<(u32, Receiver<Message>)>,
    /// Output links.
    pub outputs: OutputPorts,
    /// Whether to time each call (`--stats`).
    pub timing: bool,
    /// Where to record call times, failures and restarts (`--metrics`).
    pub metrics: Option<NodeMetrics>,
    /// Set when the node answered `produce` with `Unsupported`: it never
    /// has work in hand.
    pub no_work_in_pieces: bool,
}

struct Counters {
    received: u64,
    discarded: u64,
    restarts: u32,
    failures: u32,
    failed: Option<String>,
    histogram: Option<Histogram<u64>>,
    metrics: Option<NodeMetrics>,
}

impl NodeThread<'_> {
    /// Runs the node to completion and reports on it.
    pub fn run(mut self) -> NodeReport {
        let mut c = Counters {
            received: 0,
            discarded: 0,
            restarts: 0,
            failures: 0,
            failed: None,
            histogram: self
                .timing
                .then(|| Histogram::new_with_bounds(1, 600_000_000_000, 2).expect("valid bounds")),
            metrics: self.metrics.clone(),
        };
        if self.inputs.is_empty() {
            self.run_source(&mut c);
        } else {
            self.run_inputs(&mut c);
        }
        if c.failed.is_none() {
            if let Err(e) = self.instance.flush(&mut self.outputs) {
                c.failures += 1;
                c.failed = Some(self.log_failure(&e, "flush"));
            }
        }
        self.outputs.end_streams();
        if let Err(e) = self.instance.shutdown() {
            self.log_failure(&e, "shutdown");
        }
        NodeReport {
            name: self.spec.name.clone(),
            kind: format!("{}/{}", self.spec.plugin, self.spec.kind.name),
            received: c.received,
            emitted: self.outputs.emitted,
            discarded: c.discarded,
            restarts: c.restarts,
            failures: c.failures,
            error: c.failed,
            histogram: c.histogram,
            counters: std::mem::take(&mut *self.env.counters.lock()),
            gauges: std::mem::take(&mut *self.env.gauges.lock()),
            dropped_on_inputs: 0,
            queue_high_water: 0,
        }
    }

    fn run_source(&mut self, c: &mut Counters) {
        let stopping = self.outputs.stopping.clone();
        while !stopping.load(Ordering::Relaxed) {
            let started = c.timed().then(Instant::now);
            let result = self.instance.produce(&mut self.outputs);
            record(c, started);
            match result {
                Ok(SourceStatus::Continue) => {}
                Ok(SourceStatus::Finished) => return,
                // An emit refused because we are stopping is not a failure.
                Err(_) if stopping.load(Ordering::Relaxed) => return,
                Err(e) => {
                    if !self.recover(e, "produce", c) {
                        return;
                    }
                }
            }
        }
    }

    fn run_inputs(&mut self, c: &mut Counters) {
        let receivers: Vec<Receiver<Message>> =
            self.inputs.iter().map(|(_, rx)| rx.clone()).collect();
        let ports: Vec<u32> = self.inputs.iter().map(|(p, _)| *p).collect();
        let mut open = receivers.len();
        let mut select = Select::new();
        for rx in &receivers {
            select.recv(rx);
        }
        // Whether the node may have work in hand (a transform that queued
        // output, e.g. speech synthesis sentence by sentence): then inputs
        // are only polled, and `produce` runs while they are idle, so a
        // message such as `Cancel` is seen between two pieces of work.
        let mut pending = false;
        while open > 0 {
            let (index, received) = if pending {
                let waiting = if receivers.len() == 1 {
                    match receivers[0].try_recv() {
                        Err(TryRecvError::Empty) => None,
                        other => Some((0, other.map_err(|_| RecvError))),
                    }
                } else {
                    select.try_select().ok().map(|op| {
                        let index = op.index();
                        (index, op.recv(&receivers[index]))
                    })
                };
                match waiting {
                    Some(w) => w,
                    None => {
                        pending = self.work(c);
                        continue;
                    }
                }
            } else if receivers.len() == 1 {
                // One input: a plain blocking receive, cheaper than a select.
                (0, receivers[0].recv())
            } else {
                let op = select.select();
                let index = op.index();
                (index, op.recv(&receivers[index]))
            };
            let message = match received {
                Ok(m) if !m.is_end_of_stream() => m,
                // End of stream, or an upstream that vanished.
                _ => {
                    open -= 1;
                    if receivers.len() > 1 {
                        select.remove(index);
                    }
                    continue;
                }
            };
            c.received += 1;
            if c.failed.is_some() {
                c.discarded += 1;
                continue;
            }
            let started = c.timed().then(Instant::now);
            let result = self
                .instance
                .on_message(ports[index], message, &mut self.outputs);
            record(c, started);
            if let Err(e) = result {
                self.recover(e, "on_message", c);
            }
            pending = true;
        }
        // Inputs ended: finish the work in hand before `flush`.
        while pending {
            pending = self.work(c);
        }
    }

    /// Lets a transform or sink do queued work (`produce`); returns
    /// whether it has more.
    fn work(&mut self, c: &mut Counters) -> bool {
        if self.no_work_in_pieces
            || c.failed.is_some()
            || self.outputs.stopping.load(Ordering::Relaxed)
        {
            return false;
        }
        match self.instance.produce(&mut self.outputs) {
            Ok(SourceStatus::Continue) => true,
            Ok(SourceStatus::Finished) => false,
            // A plugin written before transforms could work in pieces
            // (or without the sdk) may answer that it is not a source:
            // it has no work in hand, and is not asked again.
            Err(e) if e.kind == PluginErrorKind::Unsupported => {
                self.no_work_in_pieces = true;
                false
            }
            Err(e) => {
                self.recover(e, "produce", c);
                false
            }
        }
    }

    fn log_failure(&self, e: &PluginError, during: &str) -> String {
        let what = if e.kind == PluginErrorKind::Panicked {
            "panicked"
        } else {
            "failed"
        };
        let mut line = format!(
            "node `{}` ({}) {what} in {during}: {}",
            self.spec.name, self.spec.kind.name, e.message
        );
        if !e.hint.is_empty() {
            line.push_str(&format!(" (hint: {})", e.hint));
        }
        tracing::error!("{line}");
        line
    }

    /// Applies the restart policy after failure `e`. Returns whether the
    /// node runs again.
    fn recover(&mut self, e: PluginError, during: &str, c: &mut Counters) -> bool {
        c.failures += 1;
        if let Some(m) = &c.metrics {
            m.failures.inc();
        }
        let line = self.log_failure(&e, during);
        let RestartPolicy::OnFailure {
            max_restarts,
            backoff_ms,
        } = self.spec.restart
        else {
            c.failed = Some(line);
            return false;
        };
        while c.restarts < max_restarts {
            let backoff = Duration::from_millis(backoff_ms.saturating_mul(1 << c.restarts.min(16)));
            c.restarts += 1;
            if let Some(m) = &c.metrics {
                m.restarts.inc();
            }
            tracing::warn!(
                "restarting node `{}` in {} ms (restart {} of {max_restarts})",
                self.spec.name,
                backoff.as_millis(),
                c.restarts
            );
            std::thread::sleep(backoff);
            let _ = self.instance.shutdown();
            match Instance::create(self.plugin, &self.spec, &self.env) {
                Ok(instance) => {
                    self.instance = instance;
                    return true;
                }
                Err(e) => {
                    c.failures += 1;
                    self.log_failure(&e, "create_node (restart)");
                }
            }
        }
        tracing::error!(
            "node `{}` gave up after {} restart(s)",
            self.spec.name,
            c.restarts
        );
        c.failed = Some(line);
        false
    }
}

impl Counters {
    /// Whether calls are timed (`--stats` or `--metrics`).
    fn timed(&self) -> bool {
        self.histogram.is_some() || self.metrics.is_some()
    }
}

fn record(c: &mut Counters, started: Option<Instant>) {
    let Some(t) = started else { return };
    let elapsed = t.elapsed();
    if let Some(h) = &mut c.histogram {
        h.saturating_record(elapsed.as_nanos().max(1) as u64);
    }
    if let Some(m) = &c.metrics {
        m.call_seconds.observe(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests;
