//! Pipelines: `pipeline.ron` → [`Pipeline`], in two stages.
//!
//! 1. `raw::read` (pure): the RON text, through a span-keeping reader
//!    ([`ron_spans`]), into a `RawPipeline` of the file's shape.
//! 2. [`check`] (needs the loaded plugins' descriptors, runs no node):
//!    passes that apply `--set` overrides, resolve plugins, kinds and
//!    ports, check message types, required inputs, cycles and each node's
//!    config (the plugin's own `check_config`); `validate/mod.rs` lists
//!    them and says how to add one.
//!
//! The result is the [`model`]: [`Pipeline`], [`NodeSpec`], [`LinkSpec`],
//! the queue and restart policies and audio conversions, which is all the
//! runtime, `hark graph`, `hark bench` and `hark eval` see.
//!
//! Every problem is a [`Diagnostic`] located in the file (or in a `--set`
//! argument), rendered like rustc by [`diagnostic::Sources::render`].
//!
//! **Architecture Invariant:** only this module knows the pipeline file
//! format (`raw` is private to it); everything else sees the [`model`].

pub mod diagnostic;
pub mod model;
mod overrides;
mod raw;
pub mod ron_spans;
mod validate;

use std::path::Path;

pub use diagnostic::{Diagnostic, Sources};
pub use model::{
    AudioTarget, Isolation, LinkSpec, NodeSpec, Pipeline, QueuePolicy, RestartPolicy,
    DEFAULT_CAPACITY, DEFAULT_STALL_TIMEOUT, ISOLATED_BY_DEFAULT,
};
pub use validate::check;

/// Did-you-mean for names in pipeline files: the sdk's, so that the host
/// and plugins suggest alike.
pub(crate) use hark_sdk::did_you_mean;

/// A pipeline file's text and the `--set` arguments applied to it.
#[derive(Debug, Clone)]
pub struct PipelineSource {
    /// The file name as given by the user, for messages.
    pub name: String,
    /// The file's text.
    pub text: String,
    /// `--set node.field=value` arguments, in order.
    pub set_args: Vec<String>,
}

impl PipelineSource {
    /// Reads `path`.
    pub fn read(path: &Path, set_args: Vec<String>) -> std::io::Result<Self> {
        Ok(PipelineSource {
            name: path.display().to_string(),
            text: std::fs::read_to_string(path)?,
            set_args,
        })
    }

    /// The texts diagnostics point into.
    pub fn sources(&self) -> Sources<'_> {
        Sources {
            file_name: self.name.clone(),
            file_text: &self.text,
            set_args: &self.set_args,
        }
    }
}
