//! A node the host owns: in the host's process (its plugin's vtable,
//! called directly) or in a child process of its own ([`isolate`]), behind
//! the same four calls.
//!
//! [`isolate`]: super::isolate

use std::sync::Arc;

use hark_plugin_api::{Emitter, Message, NodeBox, PluginError, SourceStatus};

use super::{
    host_context::{NodeEnv, OutputPorts},
    isolate::{Isolated, Killer},
};
use crate::{loader::Plugin, pipeline::NodeSpec};

/// A plugin node owned by the host; shut down exactly once.
pub struct Instance {
    node: Option<Node>,
}

enum Node {
    InProcess(NodeBox),
    Isolated(Isolated),
}

impl Instance {
    /// Creates a node of `spec` through `plugin`: in a process of its own
    /// when the spec says so (`isolate`).
    pub fn create(
        plugin: &Plugin,
        spec: &NodeSpec,
        env: &Arc<NodeEnv>,
    ) -> Result<Instance, PluginError> {
        let node = match &spec.isolation {
            Some(isolation) => Node::Isolated(Isolated::start(plugin, spec, isolation, env)?),
            None => {
                Node::InProcess(plugin.create_node(&spec.kind.name, &spec.config, env.context())?)
            }
        };
        Ok(Instance { node: Some(node) })
    }

    /// An instance with no node yet: a thread replacing a stalled one
    /// creates it (restart policy) before any call.
    pub fn empty() -> Instance {
        Instance { node: None }
    }

    /// What stops an isolated node's process at once (a stall, a drain
    /// that ran out of time); `None` in the host's process, where nothing
    /// can stop a call.
    pub fn killer(&self) -> Option<Killer> {
        match &self.node {
            Some(Node::Isolated(node)) => Some(node.killer()),
            _ => None,
        }
    }

    fn node(&mut self) -> &mut Node {
        self.node.as_mut().expect("used after shutdown")
    }

    pub(super) fn on_message(
        &mut self,
        port: u32,
        message: Message,
        out: &mut OutputPorts,
    ) -> Result<(), PluginError> {
        match self.node() {
            Node::InProcess(node) => on_message(node, port, message, &mut out.emitter()),
            Node::Isolated(node) => node.on_message(port, message, out),
        }
    }

    pub(super) fn produce(&mut self, out: &mut OutputPorts) -> Result<SourceStatus, PluginError> {
        match self.node() {
            Node::InProcess(node) => produce(node, &mut out.emitter()),
            Node::Isolated(node) => node.produce(out),
        }
    }

    pub(super) fn flush(&mut self, out: &mut OutputPorts) -> Result<(), PluginError> {
        match self.node() {
            Node::InProcess(node) => flush(node, &mut out.emitter()),
            Node::Isolated(node) => node.flush(out),
        }
    }

    /// Shuts the node down (idempotent).
    pub fn shutdown(&mut self) -> Result<(), PluginError> {
        match self.node.take() {
            Some(Node::InProcess(node)) => shutdown(node),
            Some(Node::Isolated(mut node)) => node.shutdown(),
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

// The plugin's vtable, called directly: by the host for a node in its
// process, and by an isolated node's process for its one node.

pub(super) fn on_message(
    node: &NodeBox,
    port: u32,
    message: Message,
    emitter: &mut Emitter,
) -> Result<(), PluginError> {
    // SAFETY: `state` came from this vtable's plugin and is used by one
    // thread at a time; the emitter lives for the call.
    unsafe { (node.vtable.on_message())(node.state, port, message, emitter) }.into_result()
}

pub(super) fn produce(node: &NodeBox, emitter: &mut Emitter) -> Result<SourceStatus, PluginError> {
    // SAFETY: as in `on_message`.
    unsafe { (node.vtable.produce())(node.state, emitter) }.into_result()
}

pub(super) fn flush(node: &NodeBox, emitter: &mut Emitter) -> Result<(), PluginError> {
    // SAFETY: as in `on_message`.
    unsafe { (node.vtable.flush())(node.state, emitter) }.into_result()
}

pub(super) fn shutdown(node: NodeBox) -> Result<(), PluginError> {
    // SAFETY: `state` is not used again: the box is consumed.
    unsafe { (node.vtable.shutdown())(node.state) }.into_result()
}
