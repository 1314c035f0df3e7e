//! Checking a [`RawPipeline`] against the loaded plugins, producing the
//! [`Pipeline`] the runtime runs.
//!
//! [`check`] runs passes in the order the data needs them; each adds its
//! diagnostics to one list, so one run reports every problem:
//!
//! 1. [`names`]: duplicate node names; `--set NODE.kind=KIND` applied
//!    ([`configs::apply_kind_overrides`]);
//! 2. [`kinds`]: each node's plugin and kind; [`isolation`]: where it
//!    runs (its own process or the host's);
//! 3. [`configs::with_overrides`]: each node's config text, `--set`
//!    applied (unknown nodes and fields reported);
//! 4. [`links`]: ports and message types of every link, then inputs that
//!    must be linked and are not;
//! 5. [`cycles`]: the first cycle;
//! 6. [`configs::check_by_plugins`]: each config, by its plugin.
//!
//! A new check is a new pass (a function taking what it reads and
//! `&mut Vec<Diagnostic>`), called from [`check`], with unit tests on small
//! pipelines written in RON against [`tests::FakePlugins`].
//!
//! It reads descriptors and calls each plugin's `check_config`; it never
//! creates a node or touches a device. Most plugins' checks only parse
//! text; two look at what their config names so that a mistake is
//! reported at its field: `c` loads the library (`dlopen`, which runs the
//! library's initialisers) and `python` imports the script (which runs
//! its top level). `hark check --help` says so too.

mod configs;
mod cycles;
mod isolation;
mod kinds;
mod links;
mod names;
#[cfg(test)]
pub(super) mod tests;

use std::time::Duration;

use hark_plugin_api::PluginError;

use super::{
    diagnostic::{Diagnostic, SourceId},
    model::{NodeSpec, Pipeline, DEFAULT_STALL_TIMEOUT},
    overrides::parse_overrides,
    raw::{self, RawPipeline},
    PipelineSource,
};
use crate::loader::{KindInfo, PluginSet};

/// What validation needs from the loaded plugins. [`PluginSet`] is the
/// real one; unit tests use [`tests::FakePlugins`].
pub(crate) trait Plugins {
    /// Names of the loaded plugins.
    fn names(&self) -> Vec<&str>;
    /// The kinds of plugin `plugin`, if it is loaded.
    fn kinds(&self, plugin: &str) -> Option<&[KindInfo]>;
    /// The plugin's own check of a node's config text.
    fn check_config(&self, plugin: &str, kind: &str, config: &str) -> Result<(), PluginError>;
}

impl Plugins for PluginSet {
    fn names(&self) -> Vec<&str> {
        self.plugins.iter().map(|p| p.name.as_str()).collect()
    }

    fn kinds(&self, plugin: &str) -> Option<&[KindInfo]> {
        self.get(plugin).map(|p| p.kinds.as_slice())
    }

    fn check_config(&self, plugin: &str, kind: &str, config: &str) -> Result<(), PluginError> {
        let plugin = self
            .get(plugin)
            .expect("a resolved node names a loaded plugin");
        plugin.check_config(kind, config)
    }
}

/// Reads, overrides and validates `source` against `plugins`.
pub fn check(source: &PipelineSource, plugins: &PluginSet) -> Result<Pipeline, Vec<Diagnostic>> {
    check_with(source, plugins)
}

/// [`check`] against any [`Plugins`].
pub(crate) fn check_with(
    source: &PipelineSource,
    plugins: &dyn Plugins,
) -> Result<Pipeline, Vec<Diagnostic>> {
    let mut raw = raw::read(&source.text)?;
    let overrides = parse_overrides(&source.set_args)?;
    let mut errors = Vec::new();

    configs::apply_kind_overrides(&mut raw, &overrides, &mut errors);

    let first_of_name = names::duplicates(&raw, &mut errors);
    let kinds = kinds::resolve(&raw, plugins, &mut errors);
    let isolation = isolation::resolve(&raw, &mut errors);
    let configs = configs::with_overrides(&raw, &source.text, &kinds, &overrides, &mut errors);
    let links = links::resolve(&raw, &kinds, &mut errors);
    links::required_inputs(&raw, &kinds, &first_of_name, &mut errors);
    cycles::find(&raw, &links, &mut errors);
    configs::check_by_plugins(&raw, &kinds, &configs, plugins, source, &mut errors);

    if !errors.is_empty() {
        sort_in_file_order(&mut errors);
        return Err(errors);
    }
    Ok(Pipeline {
        description: raw.description.clone(),
        nodes: raw
            .nodes
            .iter()
            .zip(configs)
            .zip(&kinds)
            .zip(isolation)
            .map(|(((n, config), kind), isolation)| NodeSpec {
                name: n.name.value.clone(),
                plugin: n.plugin.value.clone(),
                kind: (*kind).expect("no errors, so every kind resolved").clone(),
                config: config.text,
                restart: n.restart,
                stall_timeout: match n.stall_timeout_ms {
                    None => Some(DEFAULT_STALL_TIMEOUT),
                    Some(0) => None,
                    Some(ms) => Some(Duration::from_millis(ms)),
                },
                isolation,
            })
            .collect(),
        links,
    })
}

/// Problems in file order, like a compiler: the file first, then each
/// `--set` argument, then problems without a location.
fn sort_in_file_order(errors: &mut [Diagnostic]) {
    errors.sort_by_key(|d| match &d.primary {
        Some((l, _)) => match l.source {
            SourceId::File => (0, l.span.start),
            SourceId::SetArg(i) => (1 + i, l.span.start),
        },
        None => (usize::MAX, 0),
    });
}

/// `a, b, c`: the node names, for hints.
fn node_list(raw: &RawPipeline) -> String {
    raw.nodes
        .iter()
        .map(|n| n.name.value.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
