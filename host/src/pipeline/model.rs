//! The validated pipeline: what [`check`](super::check) produces and the
//! runtime, `hark graph`, `hark bench` and `hark eval` consume.
//!
//! Nodes are resolved to their plugin's [`KindInfo`], links to node and
//! port indices with their queue policy and any audio conversion, configs
//! to the exact text the plugin will parse (`--set` applied). Nothing
//! here knows the file format (that is `raw`, private to parsing) or
//! needs the file's text.

use std::time::Duration;

use hark_plugin_api::MessageType;

use crate::loader::{KindInfo, PortInfo};

/// A validated pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// `description` from the file.
    pub description: Option<String>,
    /// Nodes, in file order.
    pub nodes: Vec<NodeSpec>,
    /// Links, in file order.
    pub links: Vec<LinkSpec>,
}

/// A node, resolved.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Name in the pipeline.
    pub name: String,
    /// Plugin name.
    pub plugin: String,
    /// Its kind, as described by the plugin.
    pub kind: KindInfo,
    /// Effective config (file text with `--set` overrides applied).
    pub config: String,
    /// What to do when it fails.
    pub restart: RestartPolicy,
    /// How long one `on_message`/`produce`/`flush` call may run (time
    /// spent waiting on a full output queue excluded) before the node
    /// counts as stalled; `None`: never (creating the node, which loads
    /// models, is never timed).
    pub stall_timeout: Option<Duration>,
    /// Whether the node runs in a child process of its own (`isolate`),
    /// and with what limits; `None`: in the host's process.
    pub isolation: Option<Isolation>,
}

/// How an isolated node's process is set up (`isolate: true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Isolation {
    /// Most writable memory the process may map, in bytes
    /// (`memory_limit_mb`; `RLIMIT_DATA`); `None`: no limit of its own.
    pub memory_limit: Option<u64>,
}

/// Plugins whose nodes run isolated unless the node says `isolate:
/// false`: they run code Hark did not build (a user's C library, a Python
/// script and whatever it imports), where a crash is likeliest.
pub const ISOLATED_BY_DEFAULT: &[&str] = &["c", "python"];

/// The smallest `memory_limit_mb`: below it the process cannot start
/// (the host binary, its plugin and a thread's stack already need that).
pub const MIN_MEMORY_LIMIT_MB: u64 = 64;

/// Default stall deadline of a node's calls (`stall_timeout_ms`): far
/// beyond any first-party call on a slow machine (a long utterance through
/// a large whisper model), short enough that a hung pipeline says so.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A link, resolved to node and port indices.
#[derive(Debug, Clone)]
pub struct LinkSpec {
    /// (node index, output port index).
    pub from: (usize, usize),
    /// (node index, input port index).
    pub to: (usize, usize),
    /// Queue capacity in messages.
    pub capacity: usize,
    /// Full-queue behaviour.
    pub policy: QueuePolicy,
    /// The audio format the input port wants when it may differ from
    /// what the output port sends: the link converts (mixes channels,
    /// resamples) on the way.
    pub convert: Option<AudioTarget>,
}

/// The audio format a link converts to; 0 = whatever arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioTarget {
    /// Samples per second.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
}

impl Pipeline {
    /// The part of the pipeline that `nodes` depend on: those nodes,
    /// every node upstream of them, and the links between these. Used by
    /// `hark eval`, which needs what leads to a transcript or an intent,
    /// not what speaks the answer. Returns it and each old node's new
    /// index.
    pub fn upstream_of(&self, nodes: &[usize]) -> (Pipeline, Vec<Option<usize>>) {
        self.subset(&self.upstream(nodes))
    }

    /// Which nodes `nodes` depend on: themselves and everything upstream.
    pub fn upstream(&self, nodes: &[usize]) -> Vec<bool> {
        self.reach(nodes, |l| (l.to.0, l.from.0))
    }

    /// Which nodes depend on `nodes`: themselves and everything downstream.
    pub fn downstream(&self, nodes: &[usize]) -> Vec<bool> {
        self.reach(nodes, |l| (l.from.0, l.to.0))
    }

    fn reach(&self, nodes: &[usize], step: impl Fn(&LinkSpec) -> (usize, usize)) -> Vec<bool> {
        let mut keep = vec![false; self.nodes.len()];
        let mut todo: Vec<usize> = nodes.to_vec();
        while let Some(n) = todo.pop() {
            if std::mem::replace(&mut keep[n], true) {
                continue;
            }
            todo.extend(
                self.links
                    .iter()
                    .map(&step)
                    .filter(|&(a, _)| a == n)
                    .map(|(_, b)| b),
            );
        }
        keep
    }

    /// The nodes marked in `keep` and the links between them. Returns it
    /// and each old node's new index.
    pub fn subset(&self, keep: &[bool]) -> (Pipeline, Vec<Option<usize>>) {
        let mut index = vec![None; self.nodes.len()];
        let mut kept = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            if keep[i] {
                index[i] = Some(kept.len());
                kept.push(node.clone());
            }
        }
        let links = self
            .links
            .iter()
            .filter_map(|l| {
                Some(LinkSpec {
                    from: (index[l.from.0]?, l.from.1),
                    to: (index[l.to.0]?, l.to.1),
                    ..l.clone()
                })
            })
            .collect();
        let part = Pipeline {
            description: self.description.clone(),
            nodes: kept,
            links,
        };
        (part, index)
    }

    /// `node.port -> node.port` for link `i`.
    pub fn link_name(&self, i: usize) -> String {
        let l = &self.links[i];
        let (a, b) = (&self.nodes[l.from.0], &self.nodes[l.to.0]);
        format!(
            "{}.{} -> {}.{}",
            a.name, a.kind.outputs[l.from.1].name, b.name, b.kind.inputs[l.to.1].name
        )
    }
}

/// What to do when a node fails (returns an error or panics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    /// The node stops; its inputs are drained and its outputs end.
    Never,
    /// Re-create the node after `backoff_ms` (doubling each time), at most
    /// `max_restarts` times, then behave like `Never`.
    OnFailure {
        /// Restarts allowed over the run.
        max_restarts: u32,
        /// Delay before the first restart, in milliseconds.
        backoff_ms: u64,
    },
}

/// Default `max_restarts` for `restart: "on-failure"`.
pub const DEFAULT_MAX_RESTARTS: u32 = 3;
/// Default `backoff_ms` for `restart: "on-failure"`.
pub const DEFAULT_BACKOFF_MS: u64 = 100;

/// What a link does when its queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueuePolicy {
    /// The sender waits (backpressure). The default.
    Block,
    /// The oldest queued message is dropped to make room.
    DropOldest,
    /// Only the newest message is kept (a queue of one, drop-oldest).
    Latest,
}

impl QueuePolicy {
    /// The name used in pipeline files.
    pub fn name(self) -> &'static str {
        match self {
            QueuePolicy::Block => "block",
            QueuePolicy::DropOldest => "drop-oldest",
            QueuePolicy::Latest => "latest",
        }
    }
}

/// Default queue capacity of a link, in messages (1.28 s of 20 ms audio
/// frames). Deep enough that a producer and a consumer hand over messages
/// in batches rather than waking each other for every one: `hark bench`
/// measured 16 at ~2.5x the per-hop cost of 64.
pub const DEFAULT_CAPACITY: usize = 64;

/// Largest queue capacity a link may ask for: crossbeam allocates a
/// bounded queue up front, so `capacity: 10000000000` would be an
/// allocation failure, not a queue.
pub const MAX_CAPACITY: usize = 65_536;

/// The format a link must convert audio to: when the input port declares a
/// sample rate or channel count that the output port does not declare the
/// same (a source whose format depends on its file or device declares
/// none, so its links convert when needed, at run time).
pub fn audio_conversion(from: &PortInfo, to: &PortInfo) -> Option<AudioTarget> {
    let audio = |p: &PortInfo| matches!(p.message_type, MessageType::Audio | MessageType::Any);
    if !audio(from) || to.message_type != MessageType::Audio {
        return None;
    }
    let (a, b) = (from.audio, to.audio);
    let rate_differs = b.sample_rate != 0 && a.sample_rate != b.sample_rate;
    let channels_differ = b.channels != 0 && a.channels != b.channels;
    (rate_differs || channels_differ).then_some(AudioTarget {
        sample_rate: b.sample_rate,
        channels: b.channels,
    })
}
