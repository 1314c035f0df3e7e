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
use hark_plugin_api::{Message, PluginError, PluginErrorKind, SourceStatus};
use hdrhistogram::Histogram;

use super::{
    host_context::{NodeEnv, OutputPorts},
    instance::Instance,
    watch::{Activity, Call, Tally},
    NodeReport,
};
use crate::{
    loader::Plugin,
    metrics::NodeMetrics,
    pipeline::{NodeSpec, RestartPolicy},
};

/// Everything a node thread needs.
pub struct NodeThread {
    /// The node as validated.
    pub spec: NodeSpec,
    /// Its plugin (for restarts).
    pub plugin: Plugin,
    /// The running instance (empty in a thread that replaces a stalled
    /// one: it restarts the node first, or gives up).
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
    /// The node's counts, shared with any thread that replaces this one.
    pub tally: Arc<Tally>,
    /// The call this thread is in, for the watchdog (the outputs share it).
    pub activity: Arc<Activity>,
    /// Set in a thread that replaces a stalled one: the failure to handle
    /// (restart policy) before anything else.
    pub replaces: Option<String>,
}

/// Longest wait between two restarts, however many came before: the
/// doubling stops here.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl NodeThread {
    /// Runs the node to completion and reports on it; `None` if the
    /// runtime abandoned this thread meanwhile (another thread, or the
    /// runtime, reports for the node).
    pub fn run(mut self) -> Option<NodeReport> {
        let mut histogram = self
            .timing
            .then(|| Histogram::new_with_bounds(1, 600_000_000_000, 2).expect("valid bounds"));
        self.activity.set_killer(self.instance.killer());
        if let Some(line) = self.replaces.take() {
            self.failed(line);
        }
        if self.inputs.is_empty() {
            self.run_source(&mut histogram);
        } else {
            self.run_inputs(&mut histogram);
        }
        if self.activity.is_abandoned() {
            let _ = self.instance.shutdown();
            return None;
        }
        if !self.tally.gave_up() {
            self.activity.begin(Call::Flush);
            let result = self.instance.flush(&mut self.outputs);
            self.activity.end();
            if self.activity.is_abandoned() {
                let _ = self.instance.shutdown();
                return None;
            }
            if let Err(e) = result {
                self.tally.failures.fetch_add(1, Ordering::Relaxed);
                let line = self.log_failure(&e, "flush");
                self.tally.give_up(line);
            }
        }
        self.outputs.end_streams();
        if let Err(e) = self.instance.shutdown() {
            self.log_failure(&e, "shutdown");
        }
        let mut report = report_from(&self.spec, &self.tally, &self.env);
        report.histogram = histogram;
        Some(report)
    }

    /// Calls the plugin, timed for the watchdog (and `--stats`/metrics).
    fn call<T>(
        &mut self,
        call: Call,
        histogram: &mut Option<Histogram<u64>>,
        f: impl FnOnce(&mut Instance, &mut OutputPorts) -> T,
    ) -> T {
        let timed = histogram.is_some() || self.metrics.is_some();
        let started = timed.then(Instant::now);
        self.activity.begin(call);
        let result = f(&mut self.instance, &mut self.outputs);
        self.activity.end();
        if let Some(t) = started {
            let elapsed = t.elapsed();
            if let Some(h) = histogram {
                h.saturating_record(elapsed.as_nanos().max(1) as u64);
            }
            if let Some(m) = &self.metrics {
                m.call_seconds.observe(elapsed.as_secs_f64());
            }
        }
        result
    }

    fn run_source(&mut self, histogram: &mut Option<Histogram<u64>>) {
        let stopping = self.outputs.stopping.clone();
        while !stopping.load(Ordering::Relaxed) && !self.tally.gave_up() {
            let result = self.call(Call::Produce, histogram, |node, out| node.produce(out));
            if self.activity.is_abandoned() {
                return;
            }
            match result {
                Ok(SourceStatus::Continue) => {}
                Ok(SourceStatus::Finished) => return,
                // An emit refused because we are stopping is not a failure.
                Err(_) if stopping.load(Ordering::Relaxed) => return,
                Err(e) => {
                    if !self.recover(e, "produce") {
                        return;
                    }
                }
            }
        }
    }

    fn run_inputs(&mut self, histogram: &mut Option<Histogram<u64>>) {
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
            if self.activity.is_abandoned() {
                return;
            }
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
                        pending = self.work();
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
            Tally::bump(&self.tally.received);
            if self.tally.gave_up() {
                Tally::bump(&self.tally.discarded);
                continue;
            }
            let port = ports[index];
            let result = self.call(Call::OnMessage, histogram, |node, out| {
                node.on_message(port, message, out)
            });
            if self.activity.is_abandoned() {
                return;
            }
            if let Err(e) = result {
                self.recover(e, "on_message");
            }
            pending = true;
        }
        // Inputs ended: finish the work in hand before `flush`.
        while pending && !self.activity.is_abandoned() {
            pending = self.work();
        }
    }

    /// Lets a transform or sink do queued work (`produce`); returns
    /// whether it has more.
    fn work(&mut self) -> bool {
        if self.no_work_in_pieces
            || self.tally.gave_up()
            || self.outputs.stopping.load(Ordering::Relaxed)
        {
            return false;
        }
        // Watched, not timed: most of these calls answer at once that
        // there is nothing in hand, and would swamp the call-time figures.
        self.activity.begin(Call::Produce);
        let result = self.instance.produce(&mut self.outputs);
        self.activity.end();
        if self.activity.is_abandoned() {
            return false;
        }
        match result {
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
                self.recover(e, "produce");
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
    fn recover(&mut self, e: PluginError, during: &str) -> bool {
        let line = self.log_failure(&e, during);
        self.failed(line)
    }

    /// Counts a failure (described by `line`, already logged) and applies
    /// the restart policy. Returns whether the node runs again.
    fn failed(&mut self, line: String) -> bool {
        self.tally.failures.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            m.failures.inc();
        }
        let RestartPolicy::OnFailure {
            max_restarts,
            backoff_ms,
        } = self.spec.restart
        else {
            self.tally.give_up(line);
            return false;
        };
        loop {
            let restarts = self.tally.restarts.load(Ordering::Relaxed);
            if restarts >= max_restarts {
                break;
            }
            let first = Duration::from_millis(backoff_ms);
            let backoff = first
                .saturating_mul(1 << restarts.min(16))
                .min(MAX_BACKOFF.max(first));
            self.tally.restarts.fetch_add(1, Ordering::Relaxed);
            if let Some(m) = &self.metrics {
                m.restarts.inc();
            }
            tracing::warn!(
                "restarting node `{}` in {} ms (restart {} of {max_restarts})",
                self.spec.name,
                backoff.as_millis(),
                restarts + 1
            );
            self.pause(backoff);
            if self.activity.is_abandoned() {
                return false;
            }
            let _ = self.instance.shutdown();
            match Instance::create(&self.plugin, &self.spec, &self.env) {
                Ok(instance) => {
                    self.instance = instance;
                    self.activity.set_killer(self.instance.killer());
                    return true;
                }
                Err(e) => {
                    self.tally.failures.fetch_add(1, Ordering::Relaxed);
                    self.log_failure(&e, "create_node (restart)");
                }
            }
        }
        tracing::error!(
            "node `{}` gave up after {} restart(s)",
            self.spec.name,
            self.tally.restarts.load(Ordering::Relaxed)
        );
        self.tally.give_up(line);
        false
    }

    /// Waits out a restart's backoff; cut short when the pipeline stops
    /// (the restarted node then drains what is queued) or the runtime
    /// abandons this thread.
    fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        loop {
            let now = Instant::now();
            if now >= until
                || self.outputs.stopping.load(Ordering::Relaxed)
                || self.activity.is_abandoned()
            {
                return;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(20)));
        }
    }
}

/// A node's report from its tally (histogram and link figures are the
/// caller's to add).
pub fn report_from(spec: &NodeSpec, tally: &Tally, env: &NodeEnv) -> NodeReport {
    NodeReport {
        name: spec.name.clone(),
        kind: format!("{}/{}", spec.plugin, spec.kind.name),
        received: tally.received.load(Ordering::Relaxed),
        emitted: tally.emitted.load(Ordering::Relaxed),
        discarded: tally.discarded.load(Ordering::Relaxed),
        restarts: tally.restarts.load(Ordering::Relaxed),
        failures: tally.failures.load(Ordering::Relaxed),
        stalls: tally.stalls.load(Ordering::Relaxed),
        error: tally.why(),
        histogram: None,
        counters: env.counters.lock().clone(),
        gauges: env.gauges.lock().clone(),
        dropped_on_inputs: 0,
        queue_high_water: 0,
    }
}

#[cfg(test)]
mod tests;
