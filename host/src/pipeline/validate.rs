//! Checking a [`RawPipeline`] against the loaded plugins, producing the
//! [`Pipeline`] the runtime runs.
//!
//! It reads descriptors and calls each plugin's `check_config`; it never
//! creates a node or touches a device. Most plugins' checks only parse
//! text; two look at what their config names so that a mistake is
//! reported at its field: `c` loads the library (`dlopen`, which runs the
//! library's initialisers) and `python` imports the script (which runs
//! its top level). `hark check --help` says so too.

use std::collections::HashMap;

use hark_plugin_api::{MessageType, NodeRole};

use super::{
    diagnostic::{Diagnostic, Location},
    overrides::{parse_overrides, value_as_ron, ConfigText},
    raw::{self, QueuePolicy, RawLink, RawPipeline, RestartPolicy},
    suggest, PipelineSource,
};
use crate::loader::{KindInfo, PluginSet, PortInfo};

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
}

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
        let mut keep = vec![false; self.nodes.len()];
        let mut todo: Vec<usize> = nodes.to_vec();
        while let Some(n) = todo.pop() {
            if std::mem::replace(&mut keep[n], true) {
                continue;
            }
            todo.extend(self.links.iter().filter(|l| l.to.0 == n).map(|l| l.from.0));
        }
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

/// Reads, overrides and validates `source` against `plugins`.
pub fn check(source: &PipelineSource, plugins: &PluginSet) -> Result<Pipeline, Vec<Diagnostic>> {
    let raw = raw::read(&source.text)?;
    let overrides = parse_overrides(&source.set_args)?;
    let mut errors = Vec::new();

    // Duplicate names: report each repeat, pointing at the first too.
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    for (i, node) in raw.nodes.iter().enumerate() {
        if let Some(&first) = first_seen.get(node.name.value.as_str()) {
            errors.push(
                Diagnostic::at(
                    node.name.span.clone(),
                    format!("duplicate node name `{}`", node.name.value),
                    "defined again here",
                )
                .also(raw.nodes[first].name.span.clone(), "first defined here")
                .hint("give every node its own name"),
            );
        } else {
            first_seen.insert(&node.name.value, i);
        }
    }

    // Plugins and kinds.
    let kinds: Vec<Option<&KindInfo>> = raw
        .nodes
        .iter()
        .map(|n| resolve_kind(n, plugins, &mut errors))
        .collect();

    // Effective configs, with overrides.
    let mut configs: Vec<ConfigText> = raw
        .nodes
        .iter()
        .map(|n| match &n.config {
            Some(span) => ConfigText::from_file(&source.text, span.clone()),
            None => ConfigText::empty(n.name.span.start),
        })
        .collect();
    for o in &overrides {
        let Some(i) = raw.nodes.iter().position(|n| n.name.value == o.node) else {
            let mut d = Diagnostic::general(format!(
                "`--set` names node `{}`, which is not in the pipeline",
                o.node
            ));
            d.primary = Some((o.node_location(), "unknown node".into()));
            let d = match suggest(&o.node, raw.nodes.iter().map(|n| n.name.value.as_str())) {
                Some(best) => d.hint(format!("did you mean `{best}`?")),
                None => d.hint(format!("nodes: {}", node_list(&raw))),
            };
            errors.push(d);
            continue;
        };
        let Some(kind) = kinds[i] else { continue };
        let Some(field) = kind.config.iter().find(|f| f.name == o.field) else {
            let mut d = Diagnostic::general(format!(
                "node `{}` ({}) has no config field `{}`",
                o.node, kind.name, o.field
            ));
            d.primary = Some((o.field_location(), "unknown field".into()));
            let d = match suggest(&o.field, kind.config.iter().map(|f| f.name.as_str())) {
                Some(best) => d.hint(format!("did you mean `{best}`?")),
                None if kind.config.is_empty() => {
                    d.hint(format!("`{}` takes no configuration", kind.name))
                }
                None => d.hint(format!(
                    "fields of `{}`: {}",
                    kind.name,
                    kind.config
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            };
            errors.push(d);
            continue;
        };
        configs[i].apply(o, &value_as_ron(&o.value, field.kind));
    }

    // Links.
    let mut links = Vec::new();
    for link in &raw.links {
        if let Some(spec) = resolve_link(link, &raw, &kinds, &mut errors) {
            links.push(spec);
        }
    }

    // Required inputs. A link that failed to resolve still counts as
    // linking its target (its own error says what is wrong), and repeated
    // names are reported as duplicates, not as unlinked.
    for (i, node) in raw.nodes.iter().enumerate() {
        let Some(kind) = kinds[i] else { continue };
        if first_seen.get(node.name.value.as_str()) != Some(&i) {
            continue;
        }
        for port in kind.inputs.iter() {
            let linked = raw
                .links
                .iter()
                .any(|l| l.to.node.value == node.name.value && l.to.port.value == port.name);
            if port.required && !linked {
                let mut d = Diagnostic::at(
                    node.name.span.clone(),
                    format!(
                        "input `{}` of node `{}` is not linked",
                        port.name, node.name.value
                    ),
                    format!("`{}` needs `{}` input", kind.name, port.message_type.name()),
                );
                let candidate = raw.nodes.iter().enumerate().find_map(|(j, other)| {
                    let out = kinds[j]?
                        .outputs
                        .iter()
                        .find(|o| types_compatible(o, port))?;
                    (j != i).then(|| format!("{}.{}", other.name.value, out.name))
                });
                d = d.hint(match candidate {
                    Some(c) => format!(
                        "add a link such as \"{c} -> {}.{}\"",
                        node.name.value, port.name
                    ),
                    None => format!(
                        "add a link \"<node>.<output> -> {}.{}\"",
                        node.name.value, port.name
                    ),
                });
                errors.push(d);
            }
        }
    }

    // Cycles (only meaningful once links resolved).
    if let Some(d) = find_cycle(&raw, &links) {
        errors.push(d);
    }

    // Configs, checked by their plugins.
    for (i, node) in raw.nodes.iter().enumerate() {
        let Some(kind) = kinds[i] else { continue };
        let plugin = plugins.get(&node.plugin.value).expect("resolved above");
        if let Err(e) = plugin.check_config(&kind.name, &configs[i].text) {
            let location = if e.line > 0 {
                configs[i].locate(configs[i].offset_of(e.line, e.column))
            } else {
                match &node.config {
                    Some(span) => Location::file(span.clone()),
                    None => Location::file(node.name.span.clone()),
                }
            };
            let location = widen_to_token(location, source);
            let mut d = Diagnostic::general(format!(
                "invalid config for node `{}` ({}): {}",
                node.name.value, kind.name, e.message
            ));
            d.primary = Some((location, e.message.to_string()));
            errors.push(d.hint(e.hint.to_string()));
        }
    }

    if !errors.is_empty() {
        // Show problems in file order, like a compiler.
        errors.sort_by_key(|d| match &d.primary {
            Some((l, _)) => match l.source {
                super::diagnostic::SourceId::File => (0, l.span.start),
                super::diagnostic::SourceId::SetArg(i) => (1 + i, l.span.start),
            },
            None => (usize::MAX, 0),
        });
        return Err(errors);
    }
    Ok(Pipeline {
        description: raw.description.clone(),
        nodes: raw
            .nodes
            .iter()
            .zip(configs)
            .zip(&kinds)
            .map(|((n, config), kind)| NodeSpec {
                name: n.name.value.clone(),
                plugin: n.plugin.value.clone(),
                kind: (*kind).expect("no errors").clone(),
                config: config.text,
                restart: n.restart,
            })
            .collect(),
        links,
    })
}

fn node_list(raw: &RawPipeline) -> String {
    raw.nodes
        .iter()
        .map(|n| n.name.value.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Extends a one-character location in the file to the token it starts
/// (an identifier, number or string), so the caret underlines the value.
fn widen_to_token(location: Location, source: &PipelineSource) -> Location {
    let text = match location.source {
        super::diagnostic::SourceId::File => source.text.as_str(),
        super::diagnostic::SourceId::SetArg(i) => source.set_args[i].as_str(),
    };
    let start = location.span.start.min(text.len());
    let rest = &text[start..];
    let len = if let Some(stripped) = rest.strip_prefix('"') {
        stripped.find('"').map_or(1, |e| e + 2)
    } else {
        rest.find(|c: char| !(c.is_alphanumeric() || "_.-+".contains(c)))
            .unwrap_or(rest.len())
            .max(1)
    };
    Location {
        source: location.source,
        span: start..(start + len).min(text.len().max(start + 1)),
    }
}

fn resolve_kind<'p>(
    node: &raw::RawNode,
    plugins: &'p PluginSet,
    errors: &mut Vec<Diagnostic>,
) -> Option<&'p KindInfo> {
    let Some(plugin) = plugins.get(&node.plugin.value) else {
        let mut d = Diagnostic::at(
            node.plugin.span.clone(),
            format!("unknown plugin `{}`", node.plugin.value),
            "no plugin of this name is loaded",
        );
        d = match suggest(&node.plugin.value, plugins.plugins.iter().map(|p| p.name.as_str())) {
            Some(best) => d.hint(format!("did you mean `{best}`?")),
            None if plugins.plugins.is_empty() => d.hint("no plugins were found; pass --plugin-path DIR or set HARK_PLUGIN_PATH"),
            None => d.hint(format!(
                "loaded plugins: {} (`hark plugins` lists them, `hark plugins --rejected` shows refused files)",
                plugins.plugins.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
            )),
        };
        errors.push(d);
        return None;
    };
    let Some(kind) = plugin.kind(&node.kind.value) else {
        let mut d = Diagnostic::at(
            node.kind.span.clone(),
            format!(
                "plugin `{}` has no node kind `{}`",
                plugin.name, node.kind.value
            ),
            "unknown kind",
        );
        d = match suggest(
            &node.kind.value,
            plugin.kinds.iter().map(|k| k.name.as_str()),
        ) {
            Some(best) => d.hint(format!("did you mean `{best}`?")),
            None => d.hint(format!(
                "kinds of `{}`: {}",
                plugin.name,
                plugin
                    .kinds
                    .iter()
                    .map(|k| k.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        errors.push(d);
        return None;
    };
    Some(kind)
}

/// Whether an output port may feed an input port (audio formats need not
/// match: links convert them, see [`audio_conversion`]).
fn types_compatible(from: &PortInfo, to: &PortInfo) -> bool {
    from.message_type == to.message_type
        || from.message_type == MessageType::Any
        || to.message_type == MessageType::Any
        // Control events may travel on any link.
        || from.message_type == MessageType::Control
}

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

fn port_list(ports: &[PortInfo]) -> String {
    ports
        .iter()
        .map(|p| format!("{} ({})", p.name, p.message_type.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn resolve_link(
    link: &RawLink,
    raw: &RawPipeline,
    kinds: &[Option<&KindInfo>],
    errors: &mut Vec<Diagnostic>,
) -> Option<LinkSpec> {
    let mut endpoint = |end: &raw::Endpoint, output: bool| -> Option<(usize, usize)> {
        let Some(n) = raw
            .nodes
            .iter()
            .position(|n| n.name.value == end.node.value)
        else {
            let mut d = Diagnostic::at(
                end.node.span.clone(),
                format!(
                    "link refers to node `{}`, which is not in the pipeline",
                    end.node.value
                ),
                "unknown node",
            );
            d = match suggest(
                &end.node.value,
                raw.nodes.iter().map(|n| n.name.value.as_str()),
            ) {
                Some(best) => d.hint(format!("did you mean `{best}`?")),
                None => d.hint(format!("nodes: {}", node_list(raw))),
            };
            errors.push(d);
            return None;
        };
        let kind = kinds[n]?;
        let (ports, other, this_dir, other_dir) = if output {
            (&kind.outputs, &kind.inputs, "output", "input")
        } else {
            (&kind.inputs, &kind.outputs, "input", "output")
        };
        if let Some(p) = ports.iter().position(|p| p.name == end.port.value) {
            return Some((n, p));
        }
        let node = &end.node.value;
        let mut d = Diagnostic::at(
            end.port.span.clone(),
            format!(
                "node `{node}` ({}) has no {this_dir} port `{}`",
                kind.name, end.port.value
            ),
            format!("unknown {this_dir}"),
        );
        d = if other.iter().any(|p| p.name == end.port.value) {
            d.hint(format!(
                "`{}` is an {other_dir} of `{node}`; links go from an output to an input (\"from.output -> to.input\")",
                end.port.value
            ))
        } else if ports.is_empty() {
            d.hint(format!(
                "`{}` is a {} and has no {this_dir}s",
                kind.name,
                match kind.role {
                    NodeRole::Source => "source",
                    NodeRole::Sink => "sink",
                    NodeRole::Transform => "transform",
                }
            ))
        } else {
            match suggest(&end.port.value, ports.iter().map(|p| p.name.as_str())) {
                Some(best) => d.hint(format!("did you mean `{best}`?")),
                None => d.hint(format!("{this_dir}s of `{node}`: {}", port_list(ports))),
            }
        };
        errors.push(d);
        None
    };
    let from = endpoint(&link.from, true);
    let to = endpoint(&link.to, false);
    let (from, to) = (from?, to?);
    let out_port = &kinds[from.0]?.outputs[from.1];
    let in_port = &kinds[to.0]?.inputs[to.1];
    if !types_compatible(out_port, in_port) {
        let reason = format!(
            "`{}` sends {} but `{}` takes {}",
            link.from.port.value,
            out_port.message_type.name(),
            link.to.port.value,
            in_port.message_type.name()
        );
        errors.push(
            Diagnostic::at(
                link.span.clone(),
                format!("message type mismatch: {reason}"),
                "incompatible ports",
            )
            .also(
                link.from.port.span.clone(),
                format!("{} output", out_port.message_type.name()),
            )
            .also(
                link.to.port.span.clone(),
                format!("{} input", in_port.message_type.name()),
            )
            .hint("link ports of the same type, or put a converting node between them"),
        );
        return None;
    }
    Some(LinkSpec {
        from,
        to,
        capacity: link.capacity,
        policy: link.policy,
        convert: audio_conversion(out_port, in_port),
    })
}

/// The first cycle among the links, as a diagnostic on the link closing it.
fn find_cycle(raw: &RawPipeline, links: &[LinkSpec]) -> Option<Diagnostic> {
    let n = raw.nodes.len();
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    let mut stack: Vec<usize> = Vec::new();

    fn visit(
        v: usize,
        links: &[LinkSpec],
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<(Vec<usize>, usize)> {
        state[v] = 1;
        stack.push(v);
        for (li, l) in links.iter().enumerate().filter(|(_, l)| l.from.0 == v) {
            let w = l.to.0;
            if state[w] == 1 {
                let start = stack.iter().position(|&x| x == w).expect("on stack");
                let mut cycle = stack[start..].to_vec();
                cycle.push(w);
                return Some((cycle, li));
            }
            if state[w] == 0 {
                if let Some(found) = visit(w, links, state, stack) {
                    return Some(found);
                }
            }
        }
        stack.pop();
        state[v] = 2;
        None
    }

    for v in 0..n {
        if state[v] == 0 {
            if let Some((cycle, closing)) = visit(v, links, &mut state, &mut stack) {
                let path = cycle
                    .iter()
                    .map(|&i| raw.nodes[i].name.value.as_str())
                    .collect::<Vec<_>>()
                    .join(" -> ");
                let closing = &raw.links[closing_link_index(raw, links, closing)];
                return Some(
                    Diagnostic::at(closing.span.clone(), format!("the pipeline has a cycle: {path}"), "this link closes the cycle")
                        .hint("pipelines must be acyclic: a node's output cannot come back to it, directly or through other nodes"),
                );
            }
        }
    }
    None
}

/// Links that failed to resolve are absent from `links`; find the raw link
/// that resolved to `links[i]`.
fn closing_link_index(raw: &RawPipeline, links: &[LinkSpec], i: usize) -> usize {
    let target = &links[i];
    raw.links
        .iter()
        .position(|l| {
            let from = raw
                .nodes
                .iter()
                .position(|n| n.name.value == l.from.node.value);
            let to = raw
                .nodes
                .iter()
                .position(|n| n.name.value == l.to.node.value);
            from == Some(target.from.0) && to == Some(target.to.0)
        })
        .unwrap_or(0)
}
